"""Bitget's v2 public WebSocket API in the simulator, over real sockets: shapes, values, books, limits."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tradeflood.clock import VirtualClock
from tradeflood.testing import Simulator
from tradeflood.testing._bitget_ws import checksum

SPOT_TRADE = {"instType": "SPOT", "channel": "trade", "instId": "BTCUSDT"}


def sub(*args: dict[str, str], op: str = "subscribe") -> str:
    return json.dumps({"op": op, "args": list(args)})


async def recv(ws: ClientConnection, timeout: float = 3.0) -> Any:
    text = await asyncio.wait_for(ws.recv(), timeout)
    return text if text == "pong" else json.loads(text)


async def push(
    ws: ClientConnection, channel: str, action: str | None = None, timeout: float = 3.0
) -> dict[str, Any]:
    """The next push of ``channel`` (and ``action``), skipping acks and other channels."""
    while True:
        msg = await recv(ws, timeout)
        if not isinstance(msg, dict) or msg.get("arg", {}).get("channel") != channel:
            continue
        if "action" in msg and (action is None or msg["action"] == action):
            return msg


async def rest(sim: Simulator, path: str, **params: str) -> Any:
    async with httpx.AsyncClient(base_url=sim.url("bitget")) as client:
        return (await client.get(path, params=params)).json()["data"]


def test_urls_name_every_endpoint() -> None:
    with Simulator() as sim:
        urls = sim.urls()
        assert set(urls) == {"bitget", "binance", "okx", "bybit"}
        okx, bybit = urls["okx"], urls["bybit"]
        assert (okx["ws"], okx["ws.business"]) == (
            f"ws://127.0.0.1:{sim.streams['okx'].port}/ws/v5/public",
            f"ws://127.0.0.1:{sim.streams['okx'].port}/ws/v5/business")
        assert set(bybit) == {"rest", "ws.spot", "ws.linear"}
        assert bybit["ws.linear"] == f"ws://127.0.0.1:{sim.streams['bybit'].port}/v5/public/linear"
        assert urls["bitget"]["ws"] == f"ws://127.0.0.1:{sim.streams['bitget'].port}/v2/ws/public"
        assert urls["bitget"]["rest"] == sim.url("bitget")
        binance = urls["binance"]
        assert binance["ws.futures"] == binance["ws"] + "/futures"
        assert binance["ws"].startswith("ws://127.0.0.1:") and binance["ws"] != urls["bitget"]["ws"]


async def test_subscribe_ack_then_trades_that_match_rest(ws_sim: Simulator, clock: VirtualClock) -> None:
    async with connect(ws_sim.ws_url("bitget")) as ws:
        await ws.send(sub(SPOT_TRADE))
        assert await recv(ws) == {"event": "subscribe", "arg": SPOT_TRADE}
        snap = await push(ws, "trade", "snapshot")
        assert len(snap["data"]) == 50 and set(snap["data"][0]) == {"ts", "price", "size", "side", "tradeId"}
        ids = [int(t["tradeId"]) for t in snap["data"]]
        assert ids == list(range(ids[0], ids[0] - 50, -1))  # newest first, consecutive
        fills = await rest(ws_sim, "/api/v2/spot/market/fills", symbol="BTCUSDT", limit="50")
        expected = [{k: f[k] for k in ("ts", "price", "size", "tradeId")} for f in fills]
        assert [{k: t[k] for k in ("ts", "price", "size", "tradeId")} for t in snap["data"]] == expected
        assert [t["side"] for t in snap["data"]] == [f["side"].lower() for f in fills]
        clock.advance(3.0)  # three more trades at the default spacing of one a second
        update = await push(ws, "trade", "update")
        assert [int(t["tradeId"]) for t in update["data"]] == [ids[0] + 3, ids[0] + 2, ids[0] + 1]
        assert all(isinstance(t["price"], str) and Decimal(t["size"]) > 0 for t in update["data"])


async def test_closed_candle_equals_the_rest_candle(ws_sim: Simulator, clock: VirtualClock) -> None:
    arg = {"instType": "USDT-FUTURES", "channel": "candle1m", "instId": "ETHUSDT"}
    async with connect(ws_sim.ws_url("bitget")) as ws:
        await ws.send(sub(arg))
        snap = await push(ws, "candle1m", "snapshot")
        rows = snap["data"]
        assert len(rows) == 30 and all(len(r) == 8 for r in rows)
        open_ms = int(rows[-1][0])
        assert open_ms == clock.time_ms() - clock.time_ms() % 60_000
        clock.advance(60.0)
        while True:
            update = await push(ws, "candle1m", "update")
            if int(update["data"][-1][0]) == open_ms + 60_000:
                break
        closed = [r for r in update["data"] if int(r[0]) == open_ms]
        candles = await rest(ws_sim, "/api/v2/mix/market/candles", symbol="ETHUSDT",
                             productType="USDT-FUTURES", granularity="1m", limit="5")
        by_open = {c[0]: c for c in candles}
        assert closed and closed[0][:7] == by_open[str(open_ms)]  # REST futures rows have 7 fields
        assert rows[-2][:7] == by_open[str(open_ms - 60_000)]


async def _tick_clock(clock: VirtualClock, ticks: int) -> None:
    for _ in range(ticks):
        clock.advance(0.101)  # a float 0.1 could land a hair short of the next book tick
        await asyncio.sleep(0.015)


def _apply(book: dict[str, dict[str, str]], data: dict[str, Any]) -> None:
    for side in ("bids", "asks"):
        for price, size in data[side]:
            if Decimal(size) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = size


def _sorted(book: dict[str, dict[str, str]]) -> tuple[list[list[str]], list[list[str]]]:
    bids = sorted(book["bids"].items(), key=lambda kv: Decimal(kv[0]), reverse=True)
    asks = sorted(book["asks"].items(), key=lambda kv: Decimal(kv[0]))
    return [list(b) for b in bids], [list(a) for a in asks]


async def test_books_checksum_verifies_on_every_update(ws_sim: Simulator, clock: VirtualClock) -> None:
    arg = {"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"}
    async with connect(ws_sim.ws_url("bitget")) as ws:
        await ws.send(sub(arg))
        snap = (await push(ws, "books", "snapshot"))["data"][0]
        assert len(snap["bids"]) == len(snap["asks"]) == 150
        book = {"bids": dict(map(tuple, snap["bids"])), "asks": dict(map(tuple, snap["asks"]))}
        assert checksum(*_sorted(book)) == snap["checksum"]
        seq = snap["seq"]
        ticker = asyncio.create_task(_tick_clock(clock, 80))
        updates = 0
        while True:
            try:  # once the clock stops, the last update arrives within a few pump rounds
                data = (await push(ws, "books", "update", timeout=0.3))["data"][0]
            except TimeoutError:
                if ticker.done():
                    break
                continue
            assert data["pseq"] == seq and data["seq"] > seq
            seq = data["seq"]
            _apply(book, data)
            bids, asks = _sorted(book)
            assert checksum(bids, asks) == data["checksum"]
            assert Decimal(bids[0][0]) < Decimal(asks[0][0])
            updates += 1
        await ticker
        rest_book = await rest(ws_sim, "/api/v2/spot/market/orderbook", symbol="BTCUSDT", limit="150")
        bids, asks = _sorted(book)
        assert (bids[:150], asks[:150]) == (rest_book["bids"], rest_book["asks"])
        assert updates >= 40


async def test_top_books_and_ticker_agree_with_rest(ws_sim: Simulator) -> None:
    args = [{"instType": "SPOT", "channel": "books5", "instId": "SOLUSDT"},
            {"instType": "USDT-FUTURES", "channel": "ticker", "instId": "BTCUSDT"}]
    async with connect(ws_sim.ws_url("bitget")) as ws:
        await ws.send(sub(*args))
        top = (await push(ws, "books5", "snapshot"))["data"][0]
        ticker = (await push(ws, "ticker", "snapshot"))["data"][0]
    book = await rest(ws_sim, "/api/v2/spot/market/orderbook", symbol="SOLUSDT", limit="5")
    assert (top["bids"], top["asks"]) == (book["bids"], book["asks"])
    path = "/api/v2/mix/market/ticker"
    rest_ticker = (await rest(ws_sim, path, symbol="BTCUSDT", productType="USDT-FUTURES"))[0]
    assert ticker["instId"] == "BTCUSDT"
    for name in ("lastPr", "bidPr", "askPr", "high24h", "low24h", "markPrice", "fundingRate"):
        assert ticker[name] == rest_ticker[name]


async def test_errors_ping_and_unsubscribe(ws_sim: Simulator) -> None:
    bad = {"instType": "SPOT", "channel": "candle1m", "instId": "NOPEUSDT"}
    async with connect(ws_sim.ws_url("bitget")) as ws:
        await ws.send(sub(bad, {"instType": "SPOT", "channel": "candle2m", "instId": "BTCUSDT"}))
        first, second = await recv(ws), await recv(ws)
        assert first == {"event": "error", "arg": bad, "code": 30001, "op": "subscribe",
                         "msg": "instType:SPOT,channel:candle1m,instId:NOPEUSDT doesn't exist"}
        assert second["code"] == 30001
        await ws.send(json.dumps({"op": "login", "args": []}))
        assert (await recv(ws))["code"] == 30003
        await ws.send("ping")
        assert await recv(ws) == "pong"
        await ws.send(sub(SPOT_TRADE))
        await push(ws, "trade", "snapshot")
        assert ws_sim.streams["bitget"].stats.subscriptions == {"SPOT:trade:BTCUSDT": 1}
        await ws.send(sub(SPOT_TRADE, op="unsubscribe"))
        while (msg := await recv(ws)).get("event") != "unsubscribe":
            pass
        assert msg == {"event": "unsubscribe", "arg": SPOT_TRADE}
        assert ws_sim.streams["bitget"].stats.subscriptions == {}


async def test_more_than_ten_messages_a_second_closes_the_connection(ws_sim: Simulator) -> None:
    async with connect(ws_sim.ws_url("bitget")) as ws:
        for _ in range(11):
            await ws.send("ping")
        with pytest.raises(ConnectionClosed):
            for _ in range(12):
                await recv(ws)
    assert ws_sim.streams["bitget"].stats.closed["rate"] == 1


async def test_channel_limit_and_idle_timeout(ws_sim: Simulator) -> None:
    streams = ws_sim.streams["bitget"]
    streams.max_channels = 2
    args = [{"instType": "SPOT", "channel": c, "instId": "BTCUSDT"} for c in ("trade", "books5", "ticker")]
    async with connect(ws_sim.ws_url("bitget")) as ws:
        await ws.send(sub(*args))
        seen = []
        with pytest.raises(ConnectionClosed):
            while True:
                seen.append(await recv(ws))
        errors = [m for m in seen if m.get("event") == "error"]
        assert errors == [{"event": "error", "arg": args[2], "code": 30007, "op": "subscribe",
                           "msg": "request over limit,connection close"}]
    streams.idle_timeout = 0.2
    async with connect(ws_sim.ws_url("bitget")) as ws:
        with pytest.raises(ConnectionClosed):
            await recv(ws, timeout=3.0)
    assert streams.stats.closed["idle"] == 1 and streams.stats.closed["streams"] == 1


async def test_checksum_and_sequence_faults(ws_sim: Simulator, clock: VirtualClock) -> None:
    arg = {"instType": "USDT-FUTURES", "channel": "books", "instId": "BTCUSDT"}
    async with connect(ws_sim.ws_url("bitget")) as ws:
        await ws.send(sub(arg))
        snap = (await push(ws, "books", "snapshot"))["data"][0]
        book = {"bids": dict(map(tuple, snap["bids"])), "asks": dict(map(tuple, snap["asks"]))}
        assert ws_sim.corrupt_checksum("bitget", "btcusdt") == 1
        clock.advance(0.101)  # a float 0.1 can land a hair short of the next book tick
        data = (await push(ws, "books", "update"))["data"][0]
        _apply(book, data)
        assert checksum(*_sorted(book)) != data["checksum"]
        assert ws_sim.skip_sequence("bitget", "BTCUSDT") == 1
        seq = data["seq"]
        clock.advance(0.101)
        await asyncio.sleep(0.05)
        clock.advance(0.101)
        data = (await push(ws, "books", "update"))["data"][0]
        assert data["pseq"] != seq and data["seq"] == seq + 2  # the client sees the gap
