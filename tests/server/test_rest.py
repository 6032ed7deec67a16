"""REST over a real uvicorn: every endpoint's values equal the library's own fetch; errors are JSON."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal

import httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.testing import Simulator

from .conftest import Running

START, END = "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"


@pytest.fixture
def clock() -> ScaledClock:
    # Time all but stands still, so a trade list or a book fetched by the server and by the
    # library a moment apart are the same.
    return ScaledClock(1e-9)


async def test_candles_equal_the_library_fetch(client: httpx.AsyncClient,
                                               session: tradeflood.Session) -> None:
    reply = await client.get("/v1/candles", params={"exchange": "bitget", "symbol": "BTC/USDT",
                                                    "interval": "1h", "start": START, "end": END})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    direct = await session.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h",
                                  start=START, end=END)
    assert len(body["data"]) == len(direct) == 48
    assert body["gaps"] == []
    for row, candle in zip(body["data"], direct, strict=True):
        assert row == {"open_time": candle.open_time, "open": str(candle.open), "high": str(candle.high),
                       "low": str(candle.low), "close": str(candle.close), "volume": str(candle.volume),
                       "quote_volume": str(candle.quote_volume), "closed": True}
    assert Decimal(body["data"][0]["open"]) == direct[0].open


async def test_candle_encodings_carry_the_same_values(client: httpx.AsyncClient) -> None:
    params = {"exchange": "binance", "symbol": "ETH/USDT", "interval": "15m", "start": START, "end": END}
    as_json = (await client.get("/v1/candles", params=params)).json()["data"]
    jsonl = await client.get("/v1/candles", params={**params, "format": "jsonl"})
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    assert [orjson.loads(line) for line in jsonl.text.splitlines()] == as_json
    csv_reply = await client.get("/v1/candles", params=params, headers={"Accept": "text/csv"})
    lines = csv_reply.text.splitlines()
    assert lines[0] == "open_time,open,high,low,close,volume,quote_volume,closed"
    first = lines[1].split(",")
    assert int(first[0]) == as_json[0]["open_time"] and first[1] == as_json[0]["open"]
    arrow = await client.get("/v1/candles", params={**params, "format": "arrow"})
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.num_rows == len(as_json) == 192
    assert str(table.column("close")[5].as_py()) == as_json[5]["close"]
    parquet = await client.get("/v1/candles", params={**params, "format": "parquet"})
    ptable = pq.read_table(io.BytesIO(parquet.content))
    assert ptable.column("open_time").cast(pa.int64()).to_pylist() == [r["open_time"] for r in as_json]


async def test_book_trades_ticker_instruments_equal_the_library(client: httpx.AsyncClient,
                                                                session: tradeflood.Session) -> None:
    book = (await client.get("/v1/book", params={"exchange": "binance", "symbol": "BTC/USDT",
                                                 "depth": "5"})).json()
    direct = await session.afetch(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5)
    assert book == direct.model_dump(mode="json")
    assert len(book["bids"]) == 5 and isinstance(book["bids"][0][0], str)
    assert isinstance(book["timestamp"], int)
    trades = (await client.get("/v1/trades", params={"exchange": "bitget", "symbol": "BTC/USDT"})).json()
    direct_trades = await session.afetch(Trade, exchange="bitget", symbol="BTC/USDT")
    assert trades == [t.model_dump(mode="json") for t in direct_trades] and len(trades) > 10
    ticker = (await client.get("/v1/ticker", params={"exchange": "bitget", "symbol": "ETH/USDT"})).json()
    direct_ticker = await session.afetch(Ticker, exchange="bitget", symbol="ETH/USDT")
    assert ticker == direct_ticker.model_dump(mode="json")
    listed = (await client.get("/v1/instruments", params={"exchange": "bitget"})).json()
    assert listed == [i.model_dump(mode="json") for i in await session.afetch(Instrument, exchange="bitget")]
    venues = (await client.get("/v1/venues")).json()
    names = {v["name"]: v for v in venues}
    assert {"bitget", "binance"} <= set(names) and "1m" in names["bitget"]["intervals"]
    assert names["binance"]["limits"]["spot"] == "6000/60s"


async def test_gather_and_plan(client: httpx.AsyncClient, sim: Simulator) -> None:
    queries = [{"model": "candle", "exchange": "bitget", "symbol": "BTC/USDT", "interval": "1h",
                "start": START, "end": END},
               {"model": "candle", "exchange": "bitget", "symbol": "BTC/USDT", "interval": "1h",
                "start": "2026-01-02T00:00:00Z", "end": END},
               {"model": "ticker", "exchange": "binance", "symbol": "BTC/USDT"}]
    plan = (await client.post("/v1/plan", json=queries)).json()
    assert plan["requests"] >= 2 and plan["declared"] > plan["requests"] and plan["saved"] >= 1
    assert "Plan: 3 queries" in plan["explain"]
    before = sim.venues["bitget"].stats.requests
    assert sim.venues["bitget"].stats.requests == before  # planning sent nothing
    reply = await client.post("/v1/gather", json=queries)
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert len(results[0]["data"]) == 48 and len(results[1]["data"]) == 24
    assert results[1]["data"] == results[0]["data"][24:]
    assert results[2]["symbol"] == "BTC/USDT" and results[2]["exchange"] == "binance"


async def test_identical_concurrent_requests_share_one_upstream_request(
        client: httpx.AsyncClient, server: Running, sim: Simulator) -> None:
    await client.get("/v1/instruments", params={"exchange": "binance"})  # the list is fetched once anyway
    venue = sim.venues["binance"]
    before = venue.stats.by_path.copy()
    params = {"exchange": "binance", "symbol": "BTC/USDT", "depth": "20"}
    async with asyncio.TaskGroup() as tg:
        clients = [httpx.AsyncClient(base_url=server.url, timeout=30) for _ in range(20)]
        replies = [tg.create_task(c.get("/v1/book", params=params)) for c in clients]
    for c in clients:
        await c.aclose()
    bodies = [r.result().json() for r in replies]
    assert all(b == bodies[0] for b in bodies)
    sent = venue.stats.by_path - before
    assert sum(sent.values()) == 1, sent


@pytest.mark.parametrize(("params", "status", "error", "valid"), [
    ({"exchange": "nope", "symbol": "BTC/USDT", "interval": "1h"}, 400, "UnknownExchangeError", "bitget"),
    ({"exchange": "bitget", "symbol": "BTC/USDT", "interval": "7m"}, 400, "InvalidIntervalError", "1m"),
    ({"exchange": "bitget", "symbol": "BTC/USDT", "interval": "1h", "start": "2024-01-01T00:00"}, 400,
     "InvalidTimeError", None),
    ({"exchange": "bitget", "symbol": "NOPE/USDT", "interval": "1h", "start": "-1d"}, 404,
     "UnknownSymbolError", None),
    ({"exchange": "bitget", "symbol": "BTC/USDT", "interval": "1h", "format": "xml"}, 400, "QueryError",
     "arrow"),
    ({"exchange": "bitget"}, 400, "QueryError", None),
])
async def test_bad_input_is_a_json_error(client: httpx.AsyncClient, params: dict[str, str], status: int,
                                         error: str, valid: str | None) -> None:
    reply = await client.get("/v1/candles", params=params)
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["error"] == error and body["message"]
    assert "Traceback" not in reply.text
    if valid:
        assert valid in body["valid"]


async def test_unknown_path_and_body_bounds(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/nothing")
    assert reply.status_code == 404 and reply.json()["error"] == "NotFound"
    big = await client.post("/v1/gather", content=b"[" + b" " * 300_000 + b"]",
                            headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["error"] == "RequestTooLarge"
    bad = await client.post("/v1/gather", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"] == "QueryError"
