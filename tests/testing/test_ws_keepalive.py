"""The simulated stream servers' shared rules: idle connections closed as each venue closes them,
subscribe requests counted against each venue's hourly limit, trade pushes picking up where they
left off."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tradeflood.clock import VirtualClock
from tradeflood.testing import BitgetVenue, Simulator
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._okx import OkxVenue
from tradeflood.testing._ws import new_trade_ids

BITGET_TRADE = {"instType": "SPOT", "channel": "trade", "instId": "BTCUSDT"}
OKX_TRADES = {"channel": "trades", "instId": "BTC-USDT"}


@pytest.fixture
async def sim(clock: VirtualClock) -> AsyncIterator[Simulator]:
    venues = {"bitget": BitgetVenue(clock=clock), "okx": OkxVenue(clock=clock),
              "bybit": BybitVenue(clock=clock)}
    async with Simulator(venues) as simulator:
        yield simulator


async def recv(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 5.0))


async def closed_by_server(ws: ClientConnection) -> tuple[int, str]:
    """The code and reason of the close frame the server ends ``ws`` with (pushes skipped)."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 10.0)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize(("venue", "path", "code", "reason"), [
    ("okx", "/ws/v5/public", 4004, "No data received in 30s."),
    ("bybit", "/v5/public/spot", 1000, "idle"),
])
async def test_a_quiet_connection_is_closed_as_the_venue_closes_it(
    sim: Simulator, venue: str, path: str, code: int, reason: str
) -> None:
    streams = sim.streams[venue]
    streams.idle_timeout = 0.2  # type: ignore[attr-defined]
    url = sim.ws_url(venue)
    async with connect(url if url.endswith(path) else url + path) as ws:
        assert await closed_by_server(ws) == (code, reason)
    assert streams.stats.closed["idle"] == 1


async def test_okx_refuses_subscribe_requests_over_its_hourly_limit(sim: Simulator) -> None:
    streams = sim.streams["okx"]
    streams.subscribe_limit = 2  # type: ignore[attr-defined]
    async with connect(sim.ws_url("okx")) as ws:
        for _ in range(2):
            await ws.send(json.dumps({"op": "subscribe", "args": [OKX_TRADES]}))
            assert await recv(ws) == {"event": "subscribe", "arg": OKX_TRADES, "connId": "sim"}
        await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]}))
        answer = await recv(ws)
        while "event" not in answer:  # trade pushes of the first subscription
            answer = await recv(ws)
        assert answer == {"event": "error", "code": "60014", "msg": "Requests too frequent.", "connId": "sim"}
    assert streams.stats.subscribe_messages == 3


async def test_bitget_refuses_subscribe_requests_over_its_hourly_limit(sim: Simulator) -> None:
    streams = sim.streams["bitget"]
    streams.subscribe_limit = 1  # type: ignore[attr-defined]
    async with connect(sim.ws_url("bitget")) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": [BITGET_TRADE]}))
        assert await recv(ws) == {"event": "subscribe", "arg": BITGET_TRADE}
        await ws.send(json.dumps({"op": "subscribe", "args": [BITGET_TRADE]}))
        answer = await recv(ws)
        while "event" not in answer:  # the trade snapshot of the first subscription
            answer = await recv(ws)
        assert answer == {"event": "error", "code": 30006, "msg": "request too many", "op": "subscribe"}


class _Trades:
    """A market whose last trade id is whatever the test sets."""

    def __init__(self, last: int) -> None:
        self.last = last

    def last_trade_id(self, inst: object, now_ms: int) -> int:
        return self.last


@pytest.mark.parametrize(("last_id", "last", "most", "expected"), [
    (None, 5, 1000, (5, range(0))),  # the first poll starts after the market's last trade
    (3, 5, 1000, (5, range(4, 6))),
    (5, 5, 1000, (5, range(0))),
    (7, 5, 1000, (7, range(0))),  # never back
    (0, 5, 2, (5, range(4, 6))),  # only the newest ``most``
])
def test_new_trade_ids(last_id: int | None, last: int, most: int, expected: tuple[int, range]) -> None:
    assert new_trade_ids(_Trades(last), None, last_id, 0, most) == expected  # type: ignore[arg-type]
