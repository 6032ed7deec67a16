"""Mark and index bars from the server in the five encodings /v1/candles has: the same values in
each, exact decimals in Arrow and Parquet, the gaps in a header, a bad format refused first."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from tradeflood.testing import Simulator

from .conftest import Running

PERP = "BTC/USDT:USDT"
MINUTE = 60_000


async def test_mark_and_index_bars_in_every_format(client: httpx.AsyncClient, server: Running,
                                                   sim: Simulator) -> None:
    end = int(server.session.clock.time() * 1000) // MINUTE * MINUTE - 2 * MINUTE
    start = end - 20 * MINUTE
    times = list(range(start, end, MINUTE))
    for path, venue in (("/v1/mark-candles", "okx"), ("/v1/index-candles", "binance")):
        params = {"exchange": venue, "symbol": PERP, "interval": "1m", "start": str(start), "end": str(end)}
        reply = await client.get(path, params=params)
        assert reply.status_code == 200, reply.text
        rows = reply.json()["data"]
        closes = [Decimal(r["close"]) for r in rows]
        assert [r["open_time"] for r in rows] == times and len(set(closes)) > 1

        jsonl = await client.get(path, params={**params, "format": "jsonl"})
        assert jsonl.headers["content-type"].startswith("application/x-ndjson")
        assert [json.loads(line) for line in jsonl.text.splitlines()] == rows
        assert json.loads(jsonl.headers["x-tradeflood-gaps"]) == []

        text = await client.get(path, params=params, headers={"Accept": "text/csv"})
        table = list(csv.DictReader(io.StringIO(text.text)))
        assert list(table[0])[:5] == ["exchange", "symbol", "native_symbol", "interval", "open_time"]
        assert [int(r["open_time"]) for r in table] == times
        assert [Decimal(r["close"]) for r in table] == closes

        for fmt in ("arrow", "parquet"):
            body = (await client.get(path, params={**params, "format": fmt})).content
            got = pa.ipc.open_stream(body).read_all() if fmt == "arrow" else pq.read_table(io.BytesIO(body))
            assert pa.types.is_decimal(got.schema.field("close").type)
            assert got.column("close").to_pylist() == closes
            assert [int(t.timestamp() * 1000) for t in got.column("open_time").to_pylist()] == times

    served = sim.venues["okx"].stats.requests
    bad = await client.get("/v1/mark-candles", params={"exchange": "okx", "symbol": PERP, "interval": "1m",
                                                        "start": str(start), "format": "xlsx"})
    assert bad.status_code == 400 and "jsonl" in bad.text
    assert sim.venues["okx"].stats.requests == served


async def test_an_empty_range_still_names_the_columns(client: httpx.AsyncClient, server: Running) -> None:
    future = int(server.session.clock.time() * 1000) // MINUTE * MINUTE + 10 * MINUTE
    params = {"exchange": "okx", "symbol": PERP, "interval": "1m", "start": str(future),
              "end": str(future + 5 * MINUTE)}
    text = await client.get("/v1/mark-candles", params={**params, "format": "csv"})
    assert text.status_code == 200, text.text
    assert text.text.splitlines()[0].startswith("exchange,symbol,native_symbol,interval,open_time")
    body = (await client.get("/v1/mark-candles", params={**params, "format": "parquet"})).content
    assert pq.read_table(io.BytesIO(body)).num_rows == 0
