"""Long-poll and callbacks: shared topics, cursors, signed batches, retries, SSRF refusal."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from tradeflood.testing import Simulator

from .conftest import Running, until


def _topics(sim: Simulator, venue: str) -> dict[str, int]:
    return {k: v for k, v in sim.streams[venue].stats.subscriptions.items() if v}


async def test_long_poll_follows_a_cursor_and_shares_the_topic(
        client: httpx.AsyncClient, server: Running, sim: Simulator) -> None:
    params = {"model": "trade", "exchange": "bitget", "symbol": "BTC/USDT", "wait": "10"}
    first = (await client.get("/v1/poll", params=params)).json()
    assert first["items"] and int(first["cursor"]) > 0
    cursor = first["cursor"]
    seen = [i["data"]["id"] for i in first["items"]]
    polls = await asyncio.gather(*(client.get("/v1/poll", params={**params, "cursor": cursor})
                                   for _ in range(5)))
    bodies = [p.json() for p in polls]
    assert all(b["items"] for b in bodies)
    for body in bodies:  # the same stream, after the same cursor: the same first item
        assert body["items"][0] == bodies[0]["items"][0]
        ids = [int(i["data"]["id"]) for i in body["items"]]
        assert ids == sorted(ids) and not set(map(str, ids)) & set(seen)
    assert sum(_topics(sim, "bitget").values()) == 1
    assert all(Decimal(i["data"]["price"]) > 0 for i in bodies[0]["items"])
    # nobody asks any more: the topic ends after its linger (1 s in these tests)
    await until(lambda: not _topics(sim, "bitget"), 30)
    assert server.state.topics.counts()["topics"] == 0


async def test_long_poll_bad_input(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/poll", params={"model": "weather", "exchange": "bitget",
                                                 "symbol": "BTC/USDT"})
    assert reply.status_code == 400 and "trade" in reply.json()["valid"]
    reply = await client.get("/v1/poll", params={"model": "trade", "exchange": "bitget", "symbol": "BTC/USDT",
                                                 "cursor": "abc"})
    assert reply.status_code == 400 and reply.json()["error"] == "QueryError"


class Receiver:
    """A local webhook receiver: records each POST; answers 500 to the first ``fail`` of them."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.calls: list[tuple[dict[str, str], bytes, int]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                pairs = (line.partition(":") for line in lines[1:] if line)
                headers = {k.lower(): v.strip() for k, _, v in pairs}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = 500 if len(self.calls) < self.fail else 200
                self.calls.append((headers, body, status))
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def test_callbacks_are_signed_batched_and_retried(client: httpx.AsyncClient, server: Running) -> None:
    secret = "s3cret-for-tests"
    async with Receiver(fail=2) as receiver:
        reply = await client.post("/v1/callbacks", json={
            "url": receiver.url, "batch_ms": 200, "secret": secret,
            "subscription": {"model": "trade", "exchange": "binance", "symbol": "ETH/USDT"}})
        assert reply.status_code == 201, reply.text
        cb_id = reply.json()["id"]
        await until(lambda: sum(s == 200 for _, _, s in receiver.calls) >= 3, 30)
        for headers, body, _ in receiver.calls:
            expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert headers["x-tradeflood-signature"] == expected
        ok = [orjson.loads(b) for _, b, s in receiver.calls if s == 200]
        assert all(b["callback"] == cb_id for b in ok)
        assert any(len(b["items"]) > 1 for b in ok)  # batched: several trades per POST
        trades = [i["data"] for b in ok for i in b["items"] if "data" in i]
        ids = [int(t["id"]) for t in trades]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert all(t["symbol"] == "ETH/USDT" for t in trades)
        # the first batch failed twice and was retried: the same body three times
        assert receiver.calls[0][1] == receiver.calls[1][1] == receiver.calls[2][1]
        status = (await client.get(f"/v1/callbacks/{cb_id}")).json()
        assert status["failures"] == 2 and status["deliveries"] >= 3 and status["state"] == "active"
        assert status["last_error"].startswith("HTTP 500")
        assert (await client.delete(f"/v1/callbacks/{cb_id}")).status_code == 200
        assert (await client.get(f"/v1/callbacks/{cb_id}")).status_code == 404


async def test_a_dead_receiver_marks_the_callback_failing(client: httpx.AsyncClient, server: Running) -> None:
    async with Receiver(fail=10_000) as receiver:
        reply = await client.post("/v1/callbacks", json={
            "url": receiver.url, "batch_ms": 50, "secret": "another-secret",
            "subscription": {"model": "ticker", "exchange": "bitget", "symbol": "BTC/USDT"}})
        cb_id = reply.json()["id"]

        async def failing() -> bool:
            return (await client.get(f"/v1/callbacks/{cb_id}")).json()["state"] == "failing"

        for _ in range(300):
            if await failing():
                break
            await asyncio.sleep(0.1)
        status = (await client.get(f"/v1/callbacks/{cb_id}")).json()
        assert status["state"] == "failing" and status["failures"] >= 5 and status["lost"] >= 1
        assert (await client.get("/healthz")).status_code == 200  # nobody else waited on it


@pytest.mark.parametrize("url", ["http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
                                 "http://localhost:9/hook", "http://[::1]/hook", "http://192.168.1.1/",
                                 "ftp://example.com/x"])
async def test_callback_urls_to_private_addresses_are_refused(client: httpx.AsyncClient, url: str) -> None:
    reply = await client.post("/v1/callbacks", json={
        "url": url, "secret": "long-enough-secret",
        "subscription": {"model": "trade", "exchange": "bitget", "symbol": "BTC/USDT"}})
    assert reply.status_code in (400, 403), reply.text
    assert reply.json()["error"] in ("CallbackURLRefused", "InvalidCallbackURL")


async def test_bad_callback_requests(client: httpx.AsyncClient) -> None:
    base: dict[str, Any] = {"url": "http://127.0.0.1:9/x", "secret": "long-enough-secret",
                            "subscription": {"model": "trade", "exchange": "bitget", "symbol": "BTC/USDT"}}
    assert (await client.post("/v1/callbacks", json={**base, "secret": "short"})).status_code == 400
    bad = await client.post("/v1/callbacks", json={**base, "subscription": {"model": "x"}})
    assert bad.status_code == 400 and "trade" in bad.json()["valid"]


async def test_shutdown_flushes_callback_batches(client: httpx.AsyncClient, server: Running) -> None:
    from .conftest import stop_server

    async with Receiver() as receiver:
        reply = await client.post("/v1/callbacks", json={
            "url": receiver.url, "batch_ms": 600_000, "secret": "flush-secret-1",
            "subscription": {"model": "trade", "exchange": "bitget", "symbol": "BTC/USDT"}})
        cb_id = reply.json()["id"]
        await until(lambda: len(server.state.callbacks.all[cb_id].buffer) >= 3, 30)
        assert receiver.calls == []  # the batch is not due for ten minutes
        await stop_server(server)
        assert len(receiver.calls) == 1
        body = orjson.loads(receiver.calls[0][1])
        assert body["callback"] == cb_id and len(body["items"]) >= 3
        assert all(i["data"]["symbol"] == "BTC/USDT" for i in body["items"])
