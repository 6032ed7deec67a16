"""Candle store benchmark: the store alone, and a re-run backfill through a Session.

Run from the repo root as ``python bench/store.py`` (``--candles N``, ``--days D``,
``--skip-session``).

1. The store alone, in a temporary folder: write 1,000,000 closed 1m candles
   (one ``write`` of the whole range, then the same again to show a re-write is
   a no-op), read them back as ``Candle`` models, as an Arrow table (from a
   fresh connection, so the first read is a cold one) and as a CandleSeries on
   the columns (then building its models). Goal: Arrow under 1 s, first read.
2. Through ``tradeflood.Session(store=CandleStore(path), urls=...)`` against
   the Bitget simulator on 127.0.0.1 (20 req/s per endpoint, like the venue):
   a 30-day 1m backfill of BTC/USDT into an empty store, then the same
   backfill again in a new session on the same store. Goal: the re-run sends
   zero requests and is at least 50x faster. The timed span is ``s.fetch``
   alone; both results are then checked (every open time once, no gaps, the
   two runs equal as models and as tables), and the time the first list use
   takes to build the 43,200 ``Candle`` models is printed beside it. Prints "integration missing" if
   ``Session`` does not take ``store=`` yet.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tradeflood.candles import CandleSeries
from tradeflood.models import Candle, trusted_builder
from tradeflood.store import CandleStore

MINUTE = 60_000
DAY = 86_400_000
KEY = ("bitget", "BTC/USDT", "1m")


def synthetic(n: int, start: int) -> list[Candle]:
    """``n`` closed 1m candles with two-decimal prices and four-decimal volumes, built unvalidated."""
    build = trusted_builder(Candle)
    out = []
    for i in range(n):
        p = Decimal(4_200_000 + (i * 7919) % 100_000).scaleb(-2)
        out.append(build({"exchange": "bitget", "symbol": "BTC/USDT", "native_symbol": "BTCUSDT",
                          "interval": "1m", "open_time": start + i * MINUTE, "open": p,
                          "high": p + 5, "low": p - Decimal("4.5"), "close": p + Decimal("0.25"),
                          "volume": Decimal(i % 50_000).scaleb(-4),
                          "quote_volume": (p * Decimal(i % 50_000)).scaleb(-4), "closed": True}))
    return out


def timed(label: str, fn, goal: str = "") -> object:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    print(f"  {label:<44} {wall:8.3f} s  {goal}")
    return result


def store_alone(n: int) -> bool:
    print(f"== The store alone: {n:,} closed 1m candles ==")
    start = 1_700_000_000_000 // MINUTE * MINUTE
    end = start + n * MINUTE
    candles = synthetic(n, start)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "candles.sqlite3"
        with CandleStore(path) as store:
            inserted = timed(f"write {n:,} (one transaction)", lambda: store.write(*KEY, start, end, candles))
            again = timed("write them again (no-op)", lambda: store.write(*KEY, start, end, candles))
            print(f"  inserted {inserted:,}, then {again}; file {store.info().size_bytes / 1e6:.1f} MB")
        with CandleStore(path) as store:  # a fresh connection: nothing cached in the process
            models = timed("read as Candle models", lambda: store.read(*KEY, start, end))
            assert isinstance(models, list)
            ok = len(models) == n and models[0] == candles[0] and models[-1] == candles[-1]
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                print("  read as Arrow: skipped (pip install pyarrow)")
                return ok
        with CandleStore(path) as store:  # again fresh: the first Arrow read is a cold one
            t0 = time.perf_counter()
            table = store.read_arrow(*KEY, start, end)
            arrow_s = time.perf_counter() - t0
            best = min([arrow_s] + [_time(lambda: store.read_arrow(*KEY, start, end)) for _ in range(2)])
            verdict = "OK" if arrow_s < 1.0 else "OVER"
            print(f"  {'read as Arrow (first / best of 3)':<44} {arrow_s:8.3f} s  "
                  f"best {best:.3f} s, goal < 1 s: {verdict}")
            ok = ok and table.num_rows == n and table["close"][n - 1].as_py() == candles[-1].close
            series = timed("read_series: a CandleSeries on the columns", lambda: store.read_series(
                *KEY, start, end))
            assert isinstance(series, CandleSeries)
            timed("  ... then build its 1M Candle models", lambda: list(series))
            ok = ok and series == models
            print(f"  values read back equal the written ones: {'OK' if ok else 'FAIL'}")
    return ok and arrow_s < 1.0


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def through_session(days: int) -> bool:
    import tradeflood
    from tradeflood.testing import BitgetVenue, Simulator

    print(f"\n== A {days}-day 1m backfill of BTC/USDT through Session(store=...), run twice ==")
    if "store" not in inspect.signature(tradeflood.Session).parameters:
        print("  integration missing: tradeflood.Session does not take store= yet")
        return True
    end = (int(time.time() * 1000) // MINUTE - 5) * MINUTE
    start = end - days * DAY
    runs = []
    results = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "candles.sqlite3"
        for label in ("first run (empty store)", "re-run (same store)"):
            venue = BitgetVenue(requests_per_second=20)
            with Simulator(venues={"bitget": venue}) as sim, CandleStore(path) as store, \
                    tradeflood.Session(store=store, urls={"bitget": {"rest": sim.url("bitget")}}) as s:
                t0 = time.perf_counter()
                series = s.fetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m",
                                 start=start, end=end)
                wall = time.perf_counter() - t0
            t0 = time.perf_counter()
            exact = [c.open_time for c in series] == list(range(start, end, MINUTE)) and not series.gaps
            models_s = time.perf_counter() - t0  # reading every candle builds every Candle model
            runs.append((wall, venue.stats.requests, exact))
            results.append(series)
            backing = "columns" if series.table is not None else "models"
            print(f"  {label:<26} {wall:8.3f} s  {venue.stats.requests:4d} requests  "
                  f"candles {'OK' if exact else 'FAIL'} ({len(series):,}, {backing}; "
                  f"then {models_s:.3f} s to build the Candle models)")
    (first, _, ok1), (again, again_req, ok2) = runs
    same = results[0] == results[1] and results[0].to_arrow().equals(results[1].to_arrow())
    print(f"  re-run returned the same candles as the first run (models and table): "
          f"{'OK' if same else 'FAIL'}")
    speedup = first / again if again else float("inf")
    good = again_req == 0 and speedup >= 50 and ok1 and ok2 and same
    print(f"  re-run: {again_req} requests (goal 0), {speedup:.0f}x faster (goal >= 50x): "
          f"{'OK' if good else 'FAIL'}")
    return good


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candles", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--skip-session", action="store_true")
    args = parser.parse_args()
    ok = store_alone(args.candles)
    if not args.skip_session:
        try:
            ok = through_session(args.days) and ok
        except TypeError as exc:  # an older Session signature
            print(f"  integration missing: {exc}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
