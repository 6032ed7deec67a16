"""Columnar benchmark: CPU per candle of the bulk columnar candle parse against ccxt's ``parse_ohlcvs``.

Run from the repo root as ``python bench/columnar.py`` (``--rounds N`` to change the repetitions).

Payloads: a 1000-row 1m Bitget spot ``candles`` reply and a 1000-row Binance
spot ``klines`` reply, made by the simulator in process; and, for scale, the
Bitget page repeated 100 times with shifted open times (100,000 rows). Each
parser turns the whole payload into its result; the cases are interleaved,
each round collects garbage first (which leaves the CPU caches cold), then
times one cold call and a burst of warm calls with the collector off; the best
warm call and the median cold call are reported, in process CPU microseconds
per candle. The goal is judged on the warm figure.

- ccxt: ``exchange.parse_ohlcvs(rows, market, "1m")`` (rows into lists of floats);
- model parse: ``parse_candles`` / ``parse_klines`` (rows into ``Candle`` models, exact);
- columnar: ``candle_columns_bitget`` / ``candle_columns_binance`` (rows straight into an
  Arrow table, every value checked), exact ``decimal128`` and ``decimals="float"``;
- models -> Arrow: the model parse then ``to_arrow`` (the non-bulk way to a table).

Two starting points, each compared with ccxt from the same one:

- decoded JSON (ccxt's own measure: ``parse_ohlcvs`` takes the decoded rows): the
  rows as orjson left them, decoding not timed for either side;
- the reply's body bytes, decoding included for both: ccxt's ``orjson.loads`` (what
  ccxt's ``fetch`` uses when orjson is installed) then ``parse_ohlcvs``; TradeFlood's
  ``orjson.loads`` then the columnar parse (what a fetch does), and, for Bitget,
  ``candle_columns_bitget_body`` (the bytes straight into columns, no Python decode).

Goal (issue 6): columnar (exact) CPU per candle at most 1/4 of ccxt's on the same Bitget payload.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import ccxt
import orjson
import pyarrow as pa
from _common import PAGE_ROWS as ROWS
from _common import payloads

from tradeflood.bindings.binance import candle_columns_binance, parse_klines
from tradeflood.bindings.bitget import candle_columns_bitget, candle_columns_bitget_body, parse_candles
from tradeflood.columnar import from_arrow, to_arrow
from tradeflood.models import Candle

MINUTE = 60_000
SCALE = 100
GOAL = 0.25
BASE = "ccxt parse_ohlcvs -> [float]"
EXACT = "columnar -> Arrow decimal128 (exact)"
BASE_BODY = "  ccxt orjson.loads + parse_ohlcvs"
FETCH_BODY = "  orjson.loads + columnar exact (fetch's way)"
EXACT_BODY = "  body bytes -> Arrow decimal128 (exact)"


def ccxt_market() -> dict[str, Any]:
    """A ccxt spot market for BTC/USDT; ``parse_ohlcv`` reads only ``inverse`` from it."""
    return {"id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "type": "spot",
            "spot": True, "swap": False, "future": False, "contract": False, "linear": None,
            "inverse": None}


def cpu_rounds(cases: dict[str, Callable[[], object]], rounds: int,
               burst: int = 5) -> dict[str, tuple[list[float], list[float]]]:
    """CPU seconds per call of each case: (warm, cold) samples over ``rounds`` interleaved rounds.

    Each round and case starts with ``gc.collect()``, which leaves the CPU caches
    cold; the first call after it is a cold sample, the next ``burst`` calls (back
    to back, as when a long history is parsed page after page) are warm samples.
    The collector is off while timed.
    """
    seconds: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in cases}
    for fn in cases.values():  # warm up: imports, caches, specialisation
        fn()
    for _ in range(rounds):
        for name, fn in cases.items():
            warm, cold = seconds[name]
            gc.collect()
            gc.disable()
            try:
                for i in range(burst + 1):
                    t0 = time.process_time_ns()
                    fn()
                    (cold if i == 0 else warm).append((time.process_time_ns() - t0) / 1e9)
            finally:
                gc.enable()
    return seconds


def check(table: pa.Table, candles: list[Candle], theirs: list[list[float]]) -> None:
    """The table holds the model parse's candles and ccxt's numbers, or the timing means nothing."""
    if not table.equals(to_arrow(candles)) or from_arrow(table, Candle) != candles:
        raise SystemExit("the columnar table differs from the model parse")
    ours = [[c.open_time, float(c.open), float(c.high), float(c.low), float(c.close), float(c.volume)]
            for c in candles]
    if ours != [list(r) for r in theirs]:
        raise SystemExit("TradeFlood and ccxt disagree on the parsed values")


def report(title: str, seconds: dict[str, tuple[list[float], list[float]]], rows: int,
           rounds: int) -> dict[str, float]:
    """Print best warm and median cold us/candle per case, and the warm ratio to ccxt's
    parse of the same starting point (decoded rows, or the body)."""
    us = {name: 1e6 * min(warm) / rows for name, (warm, _) in seconds.items()}
    cold = {name: 1e6 * statistics.median(c) / rows for name, (_, c) in seconds.items()}
    print(f"\n{title} ({rows} rows; CPU time; best warm call of {rounds} rounds, median cold call)")
    print(f"  {'parser':<46} {'us/candle':>10} {'vs ccxt':>8} {'cold':>8} {'vs ccxt':>8}")
    for name in seconds:
        base = BASE_BODY if name in (BASE_BODY, FETCH_BODY, EXACT_BODY) or name.startswith("  body") else BASE
        if name == BASE_BODY:
            print("  from the body bytes (decoding included):")
        print(f"  {name:<46} {us[name]:>10.3f} {us[name] / us[base]:>7.2f}x {cold[name]:>8.3f} "
              f"{cold[name] / cold[base]:>7.2f}x")
    return us


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="timed repetitions (default 30)")
    args = parser.parse_args()

    rows, klines, now = payloads()
    bitget, binance, market = ccxt.bitget(), ccxt.binance(), ccxt_market()
    names = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": "1m", "received_ms": now}
    big = [[str(int(r[0]) + k * ROWS * MINUTE), *r[1:]] for k in range(SCALE) for r in rows]
    body, big_body = envelope(rows, now), envelope(big, now)
    kbody = orjson.dumps(klines)

    check(candle_columns_bitget(rows, spot=True, **names), parse_candles(rows, spot=True, **names),
          bitget.parse_ohlcvs(rows, market, "1m"))
    check(candle_columns_binance(klines, **names), parse_klines(klines, **names),
          binance.parse_ohlcvs(klines, market, "1m"))
    if not candle_columns_bitget_body(body, spot=True, **names).equals(
            candle_columns_bitget(rows, spot=True, **names)):
        raise SystemExit("the body parse differs from the rows parse")

    def bitget_cases(rows_: list[list[str]], body_: bytes) -> dict[str, Callable[[], object]]:
        return {
            BASE: lambda: bitget.parse_ohlcvs(rows_, market, "1m"),
            "model parse_candles -> Candle (Decimal)": lambda: parse_candles(rows_, spot=True, **names),
            EXACT: lambda: candle_columns_bitget(rows_, spot=True, **names),
            "columnar -> Arrow float64": lambda: candle_columns_bitget(
                rows_, spot=True, decimals="float", **names),
            "model parse + to_arrow (exact)": lambda: to_arrow(parse_candles(rows_, spot=True, **names)),
            BASE_BODY: lambda: bitget.parse_ohlcvs(orjson.loads(body_)["data"], market, "1m"),
            FETCH_BODY: lambda: candle_columns_bitget(orjson.loads(body_)["data"], spot=True, **names),
            EXACT_BODY: lambda: candle_columns_bitget_body(body_, spot=True, **names),
            "  body bytes -> Arrow float64": lambda: candle_columns_bitget_body(
                body_, spot=True, decimals="float", **names),
        }

    print(f"Columnar candle parse, CPU per candle; Python {sys.version.split()[0]}, ccxt {ccxt.__version__}, "
          f"pyarrow {pa.__version__}, orjson {orjson.__version__}")
    print("From decoded JSON: each parser starts from the rows as json decoding left them (ccxt's own "
          "measure).\nFrom the body: each starts from the reply's bytes and includes decoding (ccxt "
          "decodes with orjson too).")
    bg = report("bitget spot 1m page", cpu_rounds(bitget_cases(rows, body), args.rounds), ROWS, args.rounds)
    bn = report("binance spot 1m page", cpu_rounds({
        BASE: lambda: binance.parse_ohlcvs(klines, market, "1m"),
        "model parse_klines -> Candle (Decimal)": lambda: parse_klines(klines, **names),
        EXACT: lambda: candle_columns_binance(klines, **names),
        "columnar -> Arrow float64": lambda: candle_columns_binance(klines, decimals="float", **names),
        BASE_BODY: lambda: binance.parse_ohlcvs(orjson.loads(kbody), market, "1m"),
        FETCH_BODY: lambda: candle_columns_binance(orjson.loads(kbody), **names),
    }, args.rounds), ROWS, args.rounds)
    scale_rounds = max(3, args.rounds // 10)
    large = report("bitget spot 1m, 100 pages as one payload",
                   cpu_rounds(bitget_cases(big, big_body), scale_rounds, burst=1), len(big), scale_rounds)

    print()
    for label, us in (("bitget 1000 rows", bg), ("binance 1000 rows", bn), ("bitget 100k rows", large)):
        ratio = us[EXACT] / us[BASE]
        print(f"goal ({label}, from decoded JSON): columnar exact <= {GOAL:.2f}x ccxt: {ratio:.2f}x -> "
              f"{'met' if ratio <= GOAL else 'NOT met'}")
        best = EXACT_BODY if EXACT_BODY in us else FETCH_BODY
        ratio = us[best] / us[BASE_BODY]
        print(f"     ({label}, from the body bytes): {best.strip()} vs ccxt with its decoding: "
              f"{ratio:.2f}x -> {'met' if ratio <= GOAL else 'NOT met'}")
    print("Checked first: the columnar tables equal to_arrow(model parse) and match ccxt's numbers; "
          "the body parse equals the rows parse.")
    return 0


def envelope(rows: list[list[str]], now: int) -> bytes:
    """A Bitget success reply's body around ``rows``, as the venue (and the simulator) sends it."""
    return orjson.dumps({"code": "00000", "msg": "success", "requestTime": now, "data": rows})


if __name__ == "__main__":
    sys.exit(main())
