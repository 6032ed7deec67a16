"""The derivatives kinds from the command line: funding, open interest, mark and index bars,
trade history by time, liquidation and mark-bar streams; CSV, JSON lines and Parquet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tradeflood import Session
from tradeflood.cli import main
from tradeflood.models import FundingRate, IndexCandle, MarkCandle, Trade
from tradeflood.testing import BinanceVenue, BybitVenue, OkxVenue, Simulator

pytestmark = pytest.mark.integration

PERP = "BTC/USDT:USDT"
HOUR = 3_600_000


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(venues={"binance": BinanceVenue(), "okx": OkxVenue(), "bybit": BybitVenue()}) as s:
        yield s


def _urls(sim: Simulator, venue: str) -> list[str]:
    return [arg for api, url in sim.urls()[venue].items()
            for arg in ("--url", f"{venue}={url}" if api == "rest" else f"{venue}.{api}={url}")]


def _library(sim: Simulator, model: type, venue: str, **params: object) -> list:
    with Session(urls=sim.urls(), store=False) as s:
        return list(s.fetch(model, exchange=venue, symbol=PERP, **params))


def _hours_ago(sim: Simulator, venue: str, hours: int) -> int:
    return int(sim.venues[venue].clock.time() * 1000) // HOUR * HOUR - hours * HOUR


def test_funding_history_as_csv_matches_the_library(sim: Simulator,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    start = _hours_ago(sim, "binance", 48)
    end = start + 40 * HOUR
    code = main(["fetch", "funding-rate", "--exchange", "binance", "--symbol", PERP, "--start", str(start),
                 "--end", str(end), "--no-store", *_urls(sim, "binance")])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert code == 0
    want = _library(sim, FundingRate, "binance", start=start, end=end)
    assert len(rows) == len(want) == 5  # 8-hourly settlements in 40 hours
    assert [int(r["funding_time"]) for r in rows] == [w.funding_time for w in want]
    assert all(int(r["funding_time"]) % (8 * HOUR) == 0 for r in rows)
    assert [Decimal(r["rate"]) for r in rows] == [w.rate for w in want]
    assert {r["native_symbol"] for r in rows} == {"BTCUSDT"}


@pytest.mark.parametrize(("name", "model"), [("markcandle", MarkCandle), ("indexcandle", IndexCandle),
                                             ("mark-candle", MarkCandle), ("index-candle", IndexCandle)])
def test_mark_and_index_bars_to_parquet_with_exact_decimals(sim: Simulator, tmp_path: Path, name: str,
                                                            model: type) -> None:
    start = _hours_ago(sim, "okx", 6)
    end = start + 4 * HOUR
    out = tmp_path / f"{name}.parquet"
    assert main(["fetch", name, "--exchange", "okx", "--symbol", PERP, "--interval", "1h",
                 "--start", str(start), "--end", str(end), "--no-store", *_urls(sim, "okx"),
                 "-o", str(out)]) == 0
    table = pq.read_table(out)
    want = _library(sim, model, "okx", interval="1h", start=start, end=end)
    assert table.num_rows == len(want) == 4
    for column in ("open", "high", "low", "close"):
        assert pa.types.is_decimal(table.schema.field(column).type)
        assert table.column(column).to_pylist() == [getattr(w, column) for w in want]
    assert [t.timestamp() * 1000 for t in table.column("open_time").to_pylist()] == \
        [start + i * HOUR for i in range(4)]
    assert table.column("closed").to_pylist() == [True] * 4


def test_trade_history_by_time_as_jsonl(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    end = int(sim.venues["binance"].clock.time() * 1000) // 60_000 * 60_000 - 60_000
    start = end - 120_000
    code = main(["fetch", "trades", "--exchange", "binance", "--symbol", PERP, "--start", str(start),
                 "--end", str(end), "--format", "jsonl", *_urls(sim, "binance")])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and lines
    want = _library(sim, Trade, "binance", start=start, end=end)
    assert [line["id"] for line in lines] == [w.id for w in want]
    assert [Decimal(line["price"]) for line in lines] == [w.price for w in want]
    assert all(start <= line["timestamp"] < end for line in lines)
    ids = [int(line["id"]) for line in lines]
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # aggregate trade ids: each once, in order


def test_trade_history_on_a_venue_without_one_names_those_with_it(
        sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    served = sim.venues["bybit"].stats.requests
    code = main(["fetch", "trades", "--exchange", "bybit", "--symbol", PERP, "--start", "-2m",
                 *_urls(sim, "bybit")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "venues serving Trade over a time range: binance, bitget, okx" in err
    assert sim.venues["bybit"].stats.requests == served  # refused before any request


@pytest.mark.parametrize(("venue", "args"), [("okx", ["markcandle", "--interval", "1m", "--partial"]),
                                             ("okx", ["index-candle", "--interval", "1m", "--partial"]),
                                             ("binance", ["liquidations"]), ("bybit", ["liquidations"])])
def test_stream_mark_bars_and_liquidations(sim: Simulator, capsys: pytest.CaptureFixture[str], venue: str,
                                           args: list[str]) -> None:
    code = main(["stream", args[0], "--exchange", venue, "--symbol", PERP, *args[1:], "--count", "2",
                 *_urls(sim, venue)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(lines) == 2
    assert {(line["exchange"], line["symbol"]) for line in lines} == {(venue, PERP)}
    if args[0] == "liquidations":
        assert all(Decimal(line["amount"]) > 0 and line["side"] in ("buy", "sell") for line in lines)
        assert lines[0]["timestamp"] <= lines[1]["timestamp"]
    else:
        assert lines[0]["interval"] == "1m" and Decimal(lines[0]["low"]) <= Decimal(lines[0]["high"])
        assert lines[0]["native_symbol"] == ("BTC-USDT-SWAP" if "mark" in args[0] else "BTC-USDT")
