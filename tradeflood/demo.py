"""The offline demo: the built-in simulator on 127.0.0.1, and real fetches against it.

It shows one merged plan for overlapping queries (explained before it runs), a
backfill that crosses Bitget's look-back window (big recent pages, small history
pages), retries under injected faults, and a book, trades and a ticker.
"""

from __future__ import annotations

import time
from typing import TextIO

from .models import Candle, OrderBook, Ticker, Trade, ms_to_datetime
from .query import Query
from .session import Session

__all__ = ["run_demo"]

DAY = 86_400_000


def run_demo(out: TextIO) -> int:
    from .testing import BinanceVenue, BitgetVenue, Faults, Simulator

    bitget = BitgetVenue(faults=Faults(error_5xx=0.05, seed=7))
    binance = BinanceVenue()
    with Simulator(venues={"bitget": bitget, "binance": binance}) as sim:
        urls = {"bitget": {"rest": sim.url("bitget")}, "binance": {"rest": sim.url("binance")}}
        out.write(f"Simulator: bitget at {sim.url('bitget')}, binance at {sim.url('binance')}\n")
        out.write("(Bitget answers 5% of requests with a 5xx, to show retries.)\n\n")
        with Session(urls=urls) as s:
            now = int(time.time() * 1000) // 60_000 * 60_000 - 5 * 60_000
            queries = [
                Query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m",
                      start=now - 35 * DAY, end=now),
                Query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m",
                      start=now - 3 * DAY, end=now - 1 * DAY),
                Query(Candle, exchange="bitget", symbol="ETH/USDT", interval="1h",
                      start=now - 20 * DAY, end=now),
            ]
            plan = s.plan(*queries)
            out.write(plan.explain() + "\n\n")
            started = time.perf_counter()
            results = s.gather(*queries)
            took = time.perf_counter() - started
            for query, series in zip(queries, results, strict=True):
                first, last = series[0], series[-1]
                out.write(
                    f"{query.describe()}\n  {len(series)} candles, "
                    f"{ms_to_datetime(first.open_time):%Y-%m-%d %H:%M} .. "
                    f"{ms_to_datetime(last.open_time):%Y-%m-%d %H:%M}, gaps: {len(series.gaps)}, "
                    f"last close {last.close}\n"
                )
            stats = s.stats
            out.write(
                f"\nRan in {took:.1f} s: {stats.requests} requests sent "
                f"({plan.requests} planned, {stats.retries} retries), "
                f"Bitget served {bitget.stats.served}, answered 429 {bitget.stats.rejected_429} times.\n\n"
            )
            book = s.fetch(OrderBook, exchange="binance", symbol="BTC/USDT:USDT", depth=100)
            out.write(f"Binance BTC/USDT:USDT book: {len(book.bids)} bids, {len(book.asks)} asks, "
                      f"best {book.best_bid[0]} / {book.best_ask[0]}, spread {book.spread}\n")
            trades = s.fetch(Trade, exchange="bitget", symbol="ETH/USDT", limit=5)
            for t in trades:
                out.write(f"Bitget ETH/USDT trade {t.id}: {t.side} {t.amount} @ {t.price}\n")
            ticker = s.fetch(Ticker, exchange="binance", symbol="SOL/USDT")
            out.write(f"Binance SOL/USDT ticker: last {ticker.last}, bid {ticker.bid}, ask {ticker.ask}, "
                      f"24h volume {ticker.base_volume}\n")
        ok = all(not r.gaps for r in results) and bitget.stats.rejected_429 == 0
        out.write("\nDemo finished: " + ("every candle present, no 429." if ok else "PROBLEMS above.") + "\n")
        return 0 if ok else 1
