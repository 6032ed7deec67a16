"""The command line against the simulator over real sockets: CSV and JSON lines out, one-line errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tradeflood.cli import main
from tradeflood.testing import BinanceVenue, BitgetVenue, Simulator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(venues={"bitget": BitgetVenue(), "binance": BinanceVenue()}) as s:
        yield s


def test_fetch_candles_as_csv(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fetch", "candle", "--exchange", "bitget", "--symbol", "BTC/USDT", "--interval", "1h",
                 "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-02T00:00:00Z",
                 "--url", f"bitget={sim.url('bitget')}"])
    out = capsys.readouterr().out
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 24
    assert rows[0]["open_time"] == "1704067200000" and rows[-1]["open_time"] == "1704150000000"
    assert rows[0]["symbol"] == "BTC/USDT" and rows[0]["native_symbol"] == "BTCUSDT"
    for r in rows:
        assert Decimal(r["low"]) <= min(Decimal(r["open"]), Decimal(r["close"]))
        assert r["closed"] == "True"


def test_iso_times_beside_the_milliseconds(sim: Simulator, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    base = ["fetch", "candle", "--exchange", "bitget", "--symbol", "BTC/USDT", "--interval", "1h",
            "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-01T03:00:00Z", "--iso-times",
            "--url", f"bitget={sim.url('bitget')}", "--no-store"]
    assert main(base) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    header = list(rows[0])
    assert header.index("open_time_iso") == header.index("open_time") + 1
    assert [r["open_time_iso"] for r in rows] == ["2024-01-01T00:00:00.000Z", "2024-01-01T01:00:00.000Z",
                                                  "2024-01-01T02:00:00.000Z"]
    assert rows[0]["close_time_iso"] == "2024-01-01T01:00:00.000Z"
    assert main([*base, "-o", str(tmp_path / "c.jsonl")]) == 0
    first = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[0])
    assert first["open_time"] == 1704067200000 and first["open_time_iso"] == "2024-01-01T00:00:00.000Z"
    assert main(["fetch", "trades", "--exchange", "bitget", "--symbol", "BTC/USDT", "--limit", "2",
                 "--format", "jsonl", "--iso-times", "--url", f"bitget={sim.url('bitget')}"]) == 0
    trade = json.loads(capsys.readouterr().out.splitlines()[0])
    assert trade["timestamp_iso"].endswith("Z") and trade["timestamp_iso"][:4] >= "2024"


def test_fetch_book_as_jsonl(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fetch", "book", "--exchange", "binance", "--symbol", "BTC/USDT:USDT", "--depth", "20",
                 "--format", "jsonl", "--url", f"binance={sim.url('binance')}"])
    line = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(line["bids"]) == 20 and len(line["asks"]) == 20
    assert Decimal(line["bids"][0][0]) < Decimal(line["asks"][0][0])


@pytest.mark.parametrize(("args", "message"), [
    (["--exchange", "nasdaq", "--symbol", "BTC/USDT", "--interval", "1h"], "unknown exchange 'nasdaq'"),
    (["--exchange", "bitget", "--symbol", "BTC/USDT", "--interval", "7m"], "invalid interval '7m'"),
    (["--exchange", "bitget", "--symbol", "BTC/USDT"],
     "candles need an interval on bitget spot, e.g. interval='1h'"),
    (["--exchange", "bitget", "--symbol", "BTC/USDT", "--interval", "1h", "--start", "soon"],
     "start='soon' is not a time"),
    (["--exchange", "bitget", "--symbol", "NOPE/USDT", "--interval", "1h", "--start", "-1d"],
     "bitget lists no symbol 'NOPE/USDT'"),
])
def test_errors_are_one_line_and_exit_2(sim: Simulator, capsys: pytest.CaptureFixture[str],
                                        args: list[str], message: str) -> None:
    code = main(["fetch", "candle", *args, "--url", f"bitget={sim.url('bitget')}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1


def test_plan_explains_without_sending(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", "candle", "--exchange", "binance", "--symbol", "BTC/USDT", "--interval", "1m",
                 "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-04T00:00:00Z",
                 "--url", f"binance={sim.url('binance')}"])
    out = capsys.readouterr().out
    assert code == 0
    assert "requests to send   6" in out  # 5 grid pages of 1000 minutes + the instrument list
    assert "5 x binance /api/v3/klines" in out


def test_output_files_and_unwritable_paths(sim: Simulator, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    base = ["fetch", "candle", "--exchange", "binance", "--symbol", "ETH/USDT", "--interval", "1d",
            "--start", "2024-01-01", "--end", "2024-01-11", "--url", f"binance={sim.url('binance')}"]
    assert main([*base, "-o", str(tmp_path / "eth.jsonl")]) == 0
    lines = (tmp_path / "eth.jsonl").read_text().splitlines()
    assert len(lines) == 10 and json.loads(lines[0])["open_time"] == 1704067200000
    assert not list(tmp_path.glob(".*partial"))
    capsys.readouterr()
    served = sim.venues["binance"].stats.requests
    assert main([*base, "-o", str(tmp_path / "missing-dir" / "eth.csv")]) == 2
    err = capsys.readouterr().err
    assert "error: cannot write" in err and "missing-dir" in err and err.count("\n") == 1
    assert sim.venues["binance"].stats.requests == served  # refused before any request
    assert main([*base, "-o", str(tmp_path / "eth.xlsx")]) == 2
    assert "use a .csv, .jsonl or .parquet" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["fetch"], ["stream"], ["plan"], ["venues"], ["demo"], ["store"],
                                     ["store", "info"], ["store", "clear"]])
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: tradeflood") and len(out.splitlines()) >= 3


def test_store_info_clear_and_a_corrupt_store(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              sim: Simulator) -> None:
    store = tmp_path / "candles.sqlite3"
    base = ["fetch", "candle", "--exchange", "bitget", "--symbol", "BTC/USDT", "--interval", "1h",
            "--start", "2024-01-01", "--end", "2024-01-03", "--url", f"bitget={sim.url('bitget')}"]
    import os

    os.environ["TRADEFLOOD_STORE"] = str(store)
    try:
        served = sim.venues["bitget"].stats.requests
        assert main(base) == 0
        first = sim.venues["bitget"].stats.requests - served
        assert main(base) == 0
        assert first > 0 and sim.venues["bitget"].stats.requests - served == first  # the re-run sent nothing
        capsys.readouterr()
        assert main(["store", "info"]) == 0
        out = capsys.readouterr().out
        row = next(line for line in out.splitlines() if "BTC/USDT" in line)
        exchange, symbol, interval, count, first_day, first_time, _, last_day, last_time = row.split()
        assert (exchange, symbol, interval) == ("bitget", "BTC/USDT", "1h") and f"store: {store}" in out
        assert int(count) >= 48  # whole pages are kept: at least the 2 days asked for
        assert f"{first_day} {first_time}" <= "2024-01-01 00:00" and f"{last_day} {last_time}" >= "2024-01-03"
        store.write_bytes(b"not a database, just bytes" * 100)
        assert main(base) == 0  # a store that cannot be opened is a warning; the fetch goes on
        out, err = capsys.readouterr()
        assert err.startswith("warning: the candle store is off") and str(store) in err
        assert len(out.splitlines()) == 1 + 48
        assert main(["store", "clear", "--yes"]) == 2  # not a store: kept without --force
        err = capsys.readouterr().err
        assert "nothing was deleted" in err and "--force" in err and store.exists()
        assert main(["store", "clear", "--yes", "--force"]) == 0
        assert f"removed {store}" in capsys.readouterr().out and not store.exists()
    finally:
        os.environ["TRADEFLOOD_STORE"] = "off"


def _ws_urls(sim: Simulator, venue: str) -> list[str]:
    return [arg for api, url in sim.urls()[venue].items()
            for arg in ("--url", f"{venue}={url}" if api == "rest" else f"{venue}.{api}={url}")]


@pytest.mark.parametrize("venue", ["bitget", "binance"])
def test_stream_prints_json_lines(sim: Simulator, capsys: pytest.CaptureFixture[str], venue: str) -> None:
    code = main(["stream", "trades", "--exchange", venue, "--symbol", "ETH/USDT:USDT", "--count", "4",
                 *_ws_urls(sim, venue)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(lines) == 4
    assert {line["symbol"] for line in lines} == {"ETH/USDT:USDT"}
    ids = [int(line["id"]) for line in lines]
    assert ids == sorted(ids) and all(Decimal(line["price"]) > 0 for line in lines)


def test_stream_errors_are_one_line(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["stream", "book", "--exchange", "bitget", "--symbol", "NOPE/USDT", *_ws_urls(sim, "bitget")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: bitget lists no symbol 'NOPE/USDT'")
