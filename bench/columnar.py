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
import pyarrow as pa
from _common import PAGE_ROWS as ROWS
from _common import payloads

from tradeflood.bindings.binance import parse_klines
from tradeflood.bindings.bitget import parse_candles
from tradeflood.columnar import candle_columns_binance, candle_columns_bitget, from_arrow, to_arrow
from tradeflood.models import Candle

MINUTE = 60_000
SCALE = 100
GOAL = 0.25


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


def report(title: str, seconds: dict[str, tuple[list[float], list[float]]], rows: int, base: str,
           rounds: int) -> dict[str, float]:
    """Print best warm and median cold us/candle per case, and the warm ratio to ``base``."""
    us = {name: 1e6 * min(warm) / rows for name, (warm, _) in seconds.items()}
    cold = {name: 1e6 * statistics.median(c) / rows for name, (_, c) in seconds.items()}
    print(f"\n{title} ({rows} rows; CPU time; best warm call of {rounds} rounds, median cold call)")
    print(f"  {'parser':<42} {'us/candle':>10} {'vs ccxt':>8} {'cold':>8} {'vs ccxt':>8}")
    for name in seconds:
        print(f"  {name:<42} {us[name]:>10.3f} {us[name] / us[base]:>7.2f}x {cold[name]:>8.3f} "
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

    check(candle_columns_bitget(rows, spot=True, **names), parse_candles(rows, spot=True, **names),
          bitget.parse_ohlcvs(rows, market, "1m"))
    check(candle_columns_binance(klines, **names), parse_klines(klines, **names),
          binance.parse_ohlcvs(klines, market, "1m"))

    def bitget_cases(rows_: list[list[str]]) -> dict[str, Callable[[], object]]:
        return {
            "ccxt parse_ohlcvs -> [float]": lambda: bitget.parse_ohlcvs(rows_, market, "1m"),
            "model parse_candles -> Candle (Decimal)": lambda: parse_candles(rows_, spot=True, **names),
            "columnar -> Arrow decimal128 (exact)": lambda: candle_columns_bitget(rows_, spot=True, **names),
            "columnar -> Arrow float64": lambda: candle_columns_bitget(
                rows_, spot=True, decimals="float", **names),
            "model parse + to_arrow (exact)": lambda: to_arrow(parse_candles(rows_, spot=True, **names)),
        }

    base = "ccxt parse_ohlcvs -> [float]"
    print(f"Columnar candle parse, CPU per candle; Python {sys.version.split()[0]}, ccxt {ccxt.__version__}, "
          f"pyarrow {pa.__version__}")
    bg = report("bitget spot 1m page", cpu_rounds(bitget_cases(rows), args.rounds), ROWS, base, args.rounds)
    bn = report("binance spot 1m page", cpu_rounds({
        base: lambda: binance.parse_ohlcvs(klines, market, "1m"),
        "model parse_klines -> Candle (Decimal)": lambda: parse_klines(klines, **names),
        "columnar -> Arrow decimal128 (exact)": lambda: candle_columns_binance(klines, **names),
        "columnar -> Arrow float64": lambda: candle_columns_binance(klines, decimals="float", **names),
    }, args.rounds), ROWS, base, args.rounds)
    scale_rounds = max(3, args.rounds // 10)
    large = report("bitget spot 1m, 100 pages as one payload",
                   cpu_rounds(bitget_cases(big), scale_rounds, burst=1), len(big), base, scale_rounds)

    exact = "columnar -> Arrow decimal128 (exact)"
    print()
    for label, us in (("bitget 1000 rows", bg), ("binance 1000 rows", bn), ("bitget 100k rows", large)):
        ratio = us[exact] / us[base]
        print(f"goal ({label}): columnar exact <= {GOAL:.2f}x ccxt: {ratio:.2f}x -> "
              f"{'met' if ratio <= GOAL else 'NOT met'}")
    print("Checked first: the columnar tables equal to_arrow(model parse) and match ccxt's numbers.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
