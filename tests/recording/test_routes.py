"""What a proxy carries is recorded through the recording's tap, with its route (in-process, no
sockets): a stale-connection try its egress resent at once is kept as failed, the resend marked,
and the replay hands the resend's reply to the one request the session made."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson

from tradeflood.clock import VirtualClock
from tradeflood.proxy._pool import Egress, Proxy
from tradeflood.recording._recorder import Recorder
from tradeflood.recording._replay import Replayer

from .records import rest_metas

BASE = "http://venue.test"
URLS = {"bitget": {"rest": BASE}}
PATH = "/api/v2/spot/public/symbols"
PROXY = "http://127.0.0.1:3001"


def _venue(stale: int) -> httpx.MockTransport:
    """A venue behind a proxy whose first ``stale`` connections were closed while idle."""
    left = [stale]

    def answer(request: httpx.Request) -> httpx.Response:
        if left[0]:
            left[0] -= 1
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"code": "00000", "data": [{"symbol": "BTCUSDT"}]})
    return httpx.MockTransport(answer)


async def _record(directory: Path, stale: int) -> bytes:
    """One request through a proxy's egress, its client on the recording's tap; the body."""
    clock = VirtualClock(start=1_700_000_000.0)
    recorder = Recorder(directory, clock)
    session_transport = recorder.transport(httpx.MockTransport(lambda r: httpx.Response(500)), URLS)
    egress = Egress(Proxy.parse(PROXY, "test"), "*")
    egress.client = httpx.AsyncClient(transport=session_transport.through(_venue(stale), egress.name))
    try:
        async with egress.stream("GET", BASE + PATH, params={"a": "1"}) as response:
            body = await response.aread()
    finally:
        await egress.client.aclose()
        recorder.close()
    return body


async def test_a_proxied_request_is_recorded_with_its_route(tmp_path: Path) -> None:
    body = await _record(tmp_path, stale=0)
    [meta] = rest_metas(tmp_path)
    assert (meta["venue"], meta["path"], meta["status"]) == ("bitget", PATH + "?a=1", 200)
    assert meta["route"] == PROXY
    assert "resent" not in meta and "failed" not in meta
    replayer = Replayer(tmp_path, speed="max", urls=URLS)
    reply = await replayer.answer(httpx.Request("GET", BASE + PATH + "?a=1"))
    assert (reply.status_code, reply.content) == (200, body)
    await replayer.aclose()


async def test_a_stale_connection_resent_at_once_replays_as_the_one_request_the_session_saw(
        tmp_path: Path) -> None:
    body = await _record(tmp_path, stale=1)
    assert orjson.loads(body)["data"] == [{"symbol": "BTCUSDT"}]
    failed, resent = rest_metas(tmp_path)
    assert failed["route"] == resent["route"] == PROXY
    assert failed["failed"]["error"][0] == "RemoteProtocolError" and failed["status"] == 0
    assert failed["failed"]["message"] == "Server disconnected without sending a response."
    assert resent["resent"] is True and resent["status"] == 200 and "resent" not in failed

    replayer = Replayer(tmp_path, speed="max", urls=URLS)
    # the failed try is dropped: the first (and only) request gets the resend's reply
    reply = await replayer.answer(httpx.Request("GET", BASE + PATH + "?a=1"))
    assert (reply.status_code, reply.content) == (200, body)
    [(key, replies)] = replayer._replies.items()
    assert key == ("bitget", "GET", PATH + "?a=1") and [r.failed for r in replies] == [None]
    await replayer.aclose()
