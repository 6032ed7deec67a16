"""Binance's market streams in the simulator over real sockets: shapes, values, depth procedure, limits."""

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


async def recv(ws: ClientConnection, timeout: float = 3.0) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def event(ws: ClientConnection, kind: str, timeout: float = 3.0) -> dict[str, Any]:
    """The next event whose ``e`` is ``kind`` (combined envelopes unwrapped)."""
    while True:
        msg = await recv(ws, timeout)
        data = msg.get("data", msg) if isinstance(msg, dict) else msg
        if isinstance(data, dict) and data.get("e", _unnamed(data)) == kind:
            return data


def _unnamed(data: dict[str, Any]) -> str:
    """Spot book tickers and partial depth carry no ``e``: name them by their fields."""
    return "partial" if "lastUpdateId" in data else "bookTicker" if "B" in data else "?"


async def rest(sim: Simulator, path: str, **params: str) -> Any:
    async with httpx.AsyncClient(base_url=sim.url("binance")) as client:
        return (await client.get(path, params=params)).json()


async def test_combined_trades_match_rest_trades(ws_sim: Simulator, clock: VirtualClock) -> None:
    url = ws_sim.ws_url("binance") + "/stream?streams=btcusdt@trade/ethusdt@trade"
    async with connect(url) as ws:
        expected = {"spot:btcusdt@trade": 1, "spot:ethusdt@trade": 1}
        assert ws_sim.streams["binance"].stats.subscriptions == expected
        clock.advance(3.0)
        seen: list[dict[str, Any]] = []
        while len([m for m in seen if m["stream"] == "btcusdt@trade"]) < 3:
            seen.append(await recv(ws))
    btc = [m["data"] for m in seen if m["stream"] == "btcusdt@trade"]
    assert [t["t"] for t in btc] == [btc[0]["t"], btc[0]["t"] + 1, btc[0]["t"] + 2]
    assert list(btc[0]) == ["e", "E", "s", "t", "p", "q", "T", "m", "M"]
    trades = await rest(ws_sim, "/api/v3/trades", symbol="BTCUSDT", limit="3")
    assert [(t["id"], t["price"], t["qty"], t["time"], t["isBuyerMaker"]) for t in trades] == [
        (t["t"], t["p"], t["q"], t["T"], t["m"]) for t in btc
    ]


async def test_closed_kline_equals_the_rest_kline(ws_sim: Simulator, clock: VirtualClock) -> None:
    async with connect(ws_sim.ws_url("binance") + "/futures/ws/solusdt@kline_1m") as ws:
        first = await event(ws, "kline")
        assert first["k"]["x"] is False and first["k"]["i"] == "1m"
        open_ms = first["k"]["t"]
        clock.advance(60.0)
        while not (k := (await event(ws, "kline"))["k"])["x"]:
            pass
    assert k["t"] == open_ms
    rows = await rest(ws_sim, "/fapi/v1/klines", symbol="SOLUSDT", interval="1m", limit="3")
    row = next(r for r in rows if r[0] == open_ms)
    fields = ("t", "o", "h", "l", "c", "v", "T", "q", "n", "V", "Q")
    assert [k[f] for f in fields] == row[:11]


def _apply(book: dict[str, dict[Decimal, str]], data: dict[str, Any]) -> None:
    for side, key in (("bids", "b"), ("asks", "a")):
        for price, qty in data[key]:
            if Decimal(qty) == 0:
                book[side].pop(Decimal(price), None)
            else:
                book[side][Decimal(price)] = qty


def _top(book: dict[str, dict[Decimal, str]], n: int) -> tuple[list[list[str]], list[list[str]]]:
    bids = sorted(book["bids"].items(), reverse=True)[:n]
    asks = sorted(book["asks"].items())[:n]
    return [[format(p, "f"), q] for p, q in bids], [[format(p, "f"), q] for p, q in asks]


async def _run_clock(clock: VirtualClock, ticks: int) -> None:
    for _ in range(ticks):
        clock.advance(0.101)
        await asyncio.sleep(0.015)


@pytest.mark.parametrize("futures", [False, True])
async def test_snapshot_plus_deltas_reproduce_rest_depth(
    ws_sim: Simulator, clock: VirtualClock, futures: bool
) -> None:
    base = ws_sim.ws_url("binance") + ("/futures" if futures else "")
    path = "/fapi/v1/depth" if futures else "/api/v3/depth"
    async with connect(base + "/ws/ethusdt@depth@100ms") as ws:
        buffered: list[dict[str, Any]] = []
        ticker = asyncio.create_task(_run_clock(clock, 40))
        while len(buffered) < 5:
            buffered.append(await event(ws, "depthUpdate"))
        snapshot = await rest(ws_sim, path, symbol="ETHUSDT", limit="1000")
        last_id = snapshot["lastUpdateId"]
        book = {
            "bids": {Decimal(p): q for p, q in snapshot["bids"]},
            "asks": {Decimal(p): q for p, q in snapshot["asks"]},
        }
        applied = 0
        prev_u: int | None = None
        while True:
            if buffered:
                data = buffered.pop(0)
            else:
                try:  # once the clock stops, the last event arrives within a few pump rounds
                    data = await event(ws, "depthUpdate", timeout=0.3)
                except TimeoutError:
                    if ticker.done():
                        break
                    continue
            if data["u"] <= last_id:
                continue
            if prev_u is None:
                assert data["U"] <= last_id + 1 <= data["u"]
            else:
                assert data["U"] == prev_u + 1
                if futures:
                    assert data["pu"] == prev_u
            _apply(book, data)
            prev_u = data["u"]
            applied += 1
        await ticker
    final = await rest(ws_sim, path, symbol="ETHUSDT", limit="1000")
    assert applied >= 10
    assert _top(book, 1000) == (final["bids"], final["asks"])


async def test_live_requests_and_error_replies(ws_sim: Simulator) -> None:
    ws_sim.streams["binance"].spot_message_limit = 100  # this test sends more than five a second
    async with connect(ws_sim.ws_url("binance") + "/ws") as ws:
        params = ["btcusdt@bookTicker", "xyzusdt@trade"]  # the second names nothing: accepted, quiet
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": params, "id": 1}))
        assert await recv(ws) == {"result": None, "id": 1}
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        while (reply := await recv(ws)).get("id") != 2:
            pass
        assert reply == {"result": ["btcusdt@bookTicker", "xyzusdt@trade"], "id": 2}
        await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 3}))
        while (reply := await recv(ws)).get("id") != 3:
            pass
        assert reply == {"result": None, "id": 3}
        assert ws_sim.streams["binance"].stats.subscriptions == {}
        await ws.send("{not json")
        assert (await recv(ws))["error"]["code"] == 3
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": -4}))
        assert await recv(ws) == {
            "error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}, "id": None
        }
        await ws.send(json.dumps({"method": "SUBSCRIBES", "params": [], "id": 5}))
        reply = await recv(ws)
        assert reply["id"] == 5 and reply["error"]["code"] == 2
        assert reply["error"]["msg"].startswith("Invalid request: unknown variant `SUBSCRIBES`, expected one")
        await ws.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", True], "id": 6}))
        assert await recv(ws) == {"result": None, "id": 6}
        await ws.send(json.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 7}))
        assert await recv(ws) == {"result": True, "id": 7}
        await ws.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 8}))
        error = {"code": 1, "msg": "Invalid value type: expected Boolean"}
        assert await recv(ws) == {"error": error, "id": 8}
    assert ws_sim.streams["binance"].stats.subscribe_messages == 1  # the one with a bad id is refused


async def test_tickers_agree_with_rest(ws_sim: Simulator) -> None:
    streams = "btcusdt@ticker/btcusdt@bookTicker/btcusdt@depth5@100ms"
    async with connect(ws_sim.ws_url("binance") + "/stream?streams=" + streams) as ws:
        ticker, top = await event(ws, "24hrTicker"), await event(ws, "bookTicker")
        partial = await event(ws, "partial")
    rest_ticker = await rest(ws_sim, "/api/v3/ticker/24hr", symbol="BTCUSDT")
    assert (ticker["c"], ticker["o"], ticker["h"], ticker["l"], ticker["n"]) == (
        rest_ticker["lastPrice"], rest_ticker["openPrice"], rest_ticker["highPrice"],
        rest_ticker["lowPrice"], rest_ticker["count"],
    )
    depth = await rest(ws_sim, "/api/v3/depth", symbol="BTCUSDT", limit="5")
    assert partial == depth
    assert [top["b"], top["B"]] == depth["bids"][0] and [top["a"], top["A"]] == depth["asks"][0]
    assert top["u"] == depth["lastUpdateId"]
    async with connect(ws_sim.ws_url("binance") + "/futures/ws/btcusdt@markPrice@1s") as ws:
        mark = await event(ws, "markPriceUpdate")
    assert mark["s"] == "BTCUSDT" and Decimal(mark["p"]) > 0 and mark["T"] % 28_800_000 == 0


async def test_message_and_stream_limits_close_the_connection(ws_sim: Simulator) -> None:
    streams = ws_sim.streams["binance"]
    async with connect(ws_sim.ws_url("binance") + "/ws") as ws:
        for i in range(6):  # spot allows five a second
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        with pytest.raises(ConnectionClosed):
            for _ in range(7):
                await recv(ws)
    assert ws.close_code == 1008
    async with connect(ws_sim.ws_url("binance") + "/futures/ws") as ws:
        for i in range(10):  # futures allow ten
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        assert [(await recv(ws))["id"] for _ in range(10)] == list(range(10))
    streams.max_streams = 3
    async with connect(ws_sim.ws_url("binance") + "/stream?streams=btcusdt@trade/ethusdt@trade") as ws:
        more = ["solusdt@trade", "btcusdt@ticker"]  # a fourth stream is one too many
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": more, "id": 1}))
        with pytest.raises(ConnectionClosed):
            while True:
                await recv(ws)
    assert streams.stats.closed == {"rate": 1, "streams": 1}


async def test_server_pings_and_drops_a_client_that_does_not_pong(ws_sim: Simulator) -> None:
    streams = ws_sim.streams["binance"]
    streams.spot_ping_interval, streams.spot_pong_timeout = 0.05, 0.2
    async with connect(ws_sim.ws_url("binance") + "/ws") as alive, connect(
        ws_sim.ws_url("binance") + "/ws"
    ) as deaf:
        deaf.transport.pause_reading()  # it never sees the pings, so it never answers them
        await asyncio.sleep(0.6)
        deaf.transport.resume_reading()
        with pytest.raises(ConnectionClosed):
            await recv(deaf)
        await alive.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
        assert await recv(alive) == {"result": [], "id": 1}
    assert streams.stats.closed["pong"] == 1


async def test_firehose_serves_consecutive_trades_as_fast_as_read(ws_sim: Simulator) -> None:
    ws_sim.firehose("binance", "btcusdt@trade", total=2000)
    async with connect(ws_sim.ws_url("binance") + "/stream?streams=btcusdt@trade") as ws:
        trades = [await recv(ws) for _ in range(2000)]
    assert {t["stream"] for t in trades} == {"btcusdt@trade"}
    ids = [t["data"]["t"] for t in trades]
    assert ids == list(range(ids[0], ids[0] + 2000))
    assert all(Decimal(t["data"]["p"]) > 0 and t["data"]["e"] == "trade" for t in trades)
