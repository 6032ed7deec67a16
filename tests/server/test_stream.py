"""``/v1/stream`` over a real uvicorn: values, sharing, reconnections, errors, unsubscribing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import orjson

from tradeflood.testing import Simulator

from .conftest import Running, until
from .wsclient import data, frames, open_socket, send, subscribe


def _topics(sim: Simulator, venue: str) -> dict[str, int]:
    return {k: v for k, v in sim.streams[venue].stats.subscriptions.items() if v}


async def test_trades_arrive_as_model_json(server: Running, sim: Simulator) -> None:
    async with await open_socket(server.ws_url) as ws:
        assert await subscribe(ws, "a", model="trade", exchange="bitget", symbol="BTC/USDT") == \
            {"op": "subscribed", "id": "a"}
        got = await frames(ws, 10, keep=data)
    assert all(f["id"] == "a" for f in got)
    trades = [f["data"] for f in got]
    assert all(t["exchange"] == "bitget" and t["symbol"] == "BTC/USDT" and t["native_symbol"] == "BTCUSDT"
               for t in trades)
    assert all(Decimal(t["price"]) > 0 and Decimal(t["amount"]) > 0 and t["side"] in ("buy", "sell")
               for t in trades)
    ids = [int(t["id"]) for t in trades]
    assert ids == sorted(ids) and len(set(ids)) == 10
    assert all(isinstance(t["timestamp"], int) and t["timestamp"] > 1_700_000_000_000 for t in trades)


async def test_many_sockets_share_one_upstream_and_the_last_leaving_unsubscribes(
        server: Running, sim: Simulator) -> None:
    sockets = [await open_socket(server.ws_url) for _ in range(1000)]
    try:
        answers = await asyncio.gather(*(subscribe(ws, "t", model="trade", exchange="binance",
                                                   symbol="BTC/USDT") for ws in sockets))
        assert all(a["op"] == "subscribed" for a in answers)
        firsts = await asyncio.gather(*(frames(ws, 1, keep=data, timeout=60) for ws in sockets))
        assert all(f[0]["data"]["exchange"] == "binance" for f in firsts)
        assert sum(_topics(sim, "binance").values()) == 1
        assert sim.streams["binance"].stats.connections_open == 1
        assert server.session.stream_stats()["upstreams"] == 1
        assert server.state.topics.counts() == {"topics": 1, "sinks": 1000}
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets[:-1]))
    await until(lambda: server.state.topics.counts()["sinks"] == 1, 30)
    assert sum(_topics(sim, "binance").values()) == 1  # one client is still there
    await sockets[-1].close()
    await until(lambda: not _topics(sim, "binance"), 30)
    assert server.session.stream_stats()["upstreams"] == 0


async def test_a_dropped_venue_connection_reaches_every_client_in_order_without_duplicates(
        server: Running, sim: Simulator) -> None:
    sockets = [await open_socket(server.ws_url) for _ in range(10)]
    for ws in sockets:
        await subscribe(ws, "x", model="trade", exchange="bitget", symbol="ETH/USDT")
    befores = await asyncio.gather(*(frames(ws, 5, keep=data) for ws in sockets))
    assert sim.drop_connections("bitget") == 1
    afters = await asyncio.gather(*(frames(ws, 25, timeout=30) for ws in sockets))
    for before, after in zip(befores, afters, strict=True):
        events = [f for f in after if "event" in f]
        assert [e["event"] for e in events][:2] == ["reconnected", "gap"]
        assert events[1]["last_id"] is not None and events[1]["start_ms"] <= events[1]["end_ms"]
        ids = [int(f["data"]["id"]) for f in before + after if "data" in f]
        assert ids == sorted(ids) and len(ids) == len(set(ids))
        assert len([f for f in after if "data" in f]) >= 20  # it goes on after the outage
    assert sim.streams["bitget"].stats.connections_accepted == 2
    for ws in sockets:
        await ws.close()


async def test_bad_messages_get_error_frames_and_the_server_stays_healthy(
        server: Running, client: httpx.AsyncClient) -> None:
    async with await open_socket(server.ws_url) as ws:
        await ws.send("{not json")
        (f,) = await frames(ws, 1)
        assert f["op"] == "error" and f["error"] == "MalformedJSON"
        await send(ws, {"op": "dance", "id": "z"})
        (f,) = await frames(ws, 1)
        assert (f["op"], f["id"], f["error"]) == ("error", "z", "UnknownOp") and "subscribe" in f["valid"]
        assert (await subscribe(ws, "m", model="weather", exchange="bitget", symbol="BTC/USDT"))["error"] \
            == "QueryError"
        await ws.send(orjson.dumps({"op": "subscribe", "id": "big", "pad": "x" * (1 << 20)}).decode())
        (f,) = await frames(ws, 1)
        assert f["error"] == "MessageTooLarge"
        assert (await subscribe(ws, "s", model="trade", exchange="nowhere", symbol="BTC/USDT"))["error"] \
            == "UnknownExchangeError"
        assert (await subscribe(ws, "u", model="trade", exchange="bitget", symbol="NOPE/USDT"))["error"] \
            == "UnknownSymbolError"
        for i in range(10_000):
            await send(ws, {"op": "subscribe", "id": f"n{i}", "model": "ticker", "exchange": "bitget",
                            "symbol": "BTC/USDT"})
        answers = await frames(ws, 10_000, keep=lambda f: f.get("op") in ("subscribed", "error")
                               and str(f.get("id", "")).startswith("n"), timeout=120)
        limit = server.state.settings.max_subscriptions_per_socket
        assert sum(a["op"] == "subscribed" for a in answers) == limit
        refused = [a for a in answers if a["op"] == "error"]
        assert len(refused) == 10_000 - limit and {a["error"] for a in refused} == {"TooManySubscriptions"}
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        # the socket still works: one topic for the accepted subscriptions, ticker values arrive
        got = await frames(ws, 3, keep=data, timeout=30)
        assert all(g["data"]["symbol"] == "BTC/USDT" for g in got)
        assert server.state.topics.counts()["topics"] == 1
        await send(ws, {"op": "unsubscribe", "id": "n0"})
        (f,) = await frames(ws, 1, keep=lambda f: f.get("op") in ("unsubscribed", "error"))
        assert f == {"op": "unsubscribed", "id": "n0"}
    assert (await client.get("/healthz")).status_code == 200


async def test_a_slow_client_is_closed_and_the_others_are_unaffected(server: Running, sim: Simulator) -> None:
    server.state.settings.client_queue_size = 200
    sim.firehose("binance", "btcusdt@trade", rate=1500)
    slow = await open_socket(server.ws_url, max_queue=1)
    fast = await open_socket(server.ws_url)
    try:
        assert (await subscribe(slow, "s", model="trade", exchange="binance", symbol="BTC/USDT"))["op"] \
            == "subscribed"
        assert (await subscribe(fast, "f", model="trade", exchange="binance", symbol="BTC/USDT"))["op"] \
            == "subscribed"
        reading = asyncio.ensure_future(frames(fast, 3000, timeout=90))
        await until(lambda: server.state.metrics.queue_closes._value.get() >= 1, 60)
        got = await reading
        assert all(g.get("id") == "f" and "data" in g for g in got)
        ids = [int(g["data"]["id"]) for g in got]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        told = await frames(slow, 1, keep=lambda f: f.get("op") == "error", timeout=60)
        assert told[0]["id"] == "s" and told[0]["error"] == "StreamOverflowError"
        assert "subscription 's'" in told[0]["message"]
        assert server.state.topics.counts()["sinks"] == 1  # only the fast one is left
    finally:
        await slow.close()
        await fast.close()
