"""The offline demo (``tradeflood demo``): the built-in simulator on 127.0.0.1, and real fetches against it.

It shows one merged plan for overlapping queries (explained before it runs), a
backfill that crosses Bitget's look-back window (big recent pages, small history
pages), retries under injected faults, a book, trades and a ticker, and live
streams shared by several consumers that ride out a dropped connection.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from tradeflood import Query, Session
from tradeflood.models import Candle, OrderBook, Ticker, Trade, ms_to_datetime

__all__ = ["run_demo"]

DAY = 86_400_000


def run_demo(out: TextIO) -> int:
    from tradeflood.testing import BinanceVenue, BitgetVenue, Faults, Simulator

    bitget = BitgetVenue(faults=Faults(error_5xx=0.05, seed=7))
    binance = BinanceVenue()
    with Simulator(venues={"bitget": bitget, "binance": binance}) as sim:
        urls = sim.urls()
        out.write(f"Simulator: bitget at {sim.url('bitget')}, binance at {sim.url('binance')}\n")
        out.write("(Bitget answers 5% of requests with a 5xx, to show retries.)\n\n")
        with tempfile.TemporaryDirectory(prefix="tradeflood-demo-") as tmp:  # removed when done
            workdir = Path(tmp)
            with Session(urls=urls, store=workdir / "candles.sqlite3") as s:
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
                    f"Bitget served {bitget.stats.served}, "
                    f"answered 429 {bitget.stats.rejected_429} times.\n\n"
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
                out.write("\nThe candle store: the same three queries again, answered from disk.\n")
                before = s.stats.requests
                started = time.perf_counter()
                again = s.gather(*queries)
                rerun = time.perf_counter() - started
                open_pages = sum(1 for r in results if r and not r[-1].closed)
                same = all([c for c in a if c.closed] == [c for c in r if c.closed]
                           for a, r in zip(again, results, strict=True))
                out.write(f"  {s.stats.requests - before} requests ({open_pages} for pages holding a "
                          f"still-open candle, which is never served from disk), "
                          f"{rerun:.2f} s instead of {took:.2f} s, "
                          f"same closed candles: {same}\n")
                _columnar(out, results[2], workdir)
        live_ok = asyncio.run(_live(out, sim))
        ok = all(not r.gaps for r in results) and bitget.stats.rejected_429 == 0 and live_ok
        out.write("\nDemo finished: " + ("every candle present, no 429, streams whole." if ok
                                          else "PROBLEMS above.") + "\n")
        return 0 if ok else 1


def _columnar(out: TextIO, series: object, workdir: Path) -> None:
    """Show a result as an Arrow table and a Parquet file, if pyarrow is installed."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        out.write("\n(pip install 'tradeflood[columnar]' to see results as Arrow, Polars and pandas.)\n")
        return
    table = series.to_arrow()  # type: ignore[attr-defined]
    out.write(f"\nAs Arrow: {table.num_rows} rows; "
              + ", ".join(f"{f.name}: {f.type}" for f in table.schema if f.name in ("open_time", "close"))
              + "\n")
    path = workdir / "eth-1h.parquet"
    pq.write_table(table, path)
    out.write(f"  written to {path} ({path.stat().st_size} bytes)\n")


async def _live(out: TextIO, sim: object) -> bool:
    """Five consumers of two streams: two upstream subscriptions; a dropped socket comes back."""
    from tradeflood.streams import StreamEvent, TradeGap

    out.write("\nLive streams: three consumers of Binance BTC/USDT trades, two of its book.\n")
    events: list[StreamEvent] = []
    async with Session(urls=sim.urls(), store=False) as s:  # type: ignore[attr-defined]
        trades = [s.stream(Trade, exchange="binance", symbol="BTC/USDT", on_event=events.append)
                  for _ in range(3)]
        book_events: list[StreamEvent] = []
        books = [s.stream(OrderBook, exchange="binance", symbol="BTC/USDT", depth=depth,
                          on_event=book_events.append) for depth in (5, 20)]
        first = [await _next_data(t) for t in trades]
        book = await _next_data(books[0])
        stats = sim.streams["binance"].stats  # type: ignore[attr-defined]
        out.write(f"  upstream subscriptions: {sum(stats.subscriptions.values())} on "
                  f"{stats.connections_open} connection; every consumer saw trade {first[0].id}: "
                  f"{len({t.id for t in first}) == 1}; book best {book.best_bid[0]} / {book.best_ask[0]}\n")
        sim.drop_connections("binance")  # type: ignore[attr-defined]
        out.write("  the venue drops the connection...\n")
        seen: list[Trade] = []  # a typed stream yields trades only; events went to on_event
        while len(seen) < 5 or not any(isinstance(e, TradeGap) for e in events):
            seen.append(await asyncio.wait_for(trades[0].get(), 30))
        for kind in dict.fromkeys(type(e).__name__ for e in events):  # Reconnected, then TradeGap
            out.write(f"  event: {kind} (told to each consumer's on_event)\n")
        if book_events:  # Reconnected, BookResync, then BookResynced once the snapshot is back
            kinds = ", ".join(dict.fromkeys(type(e).__name__ for e in book_events))
            out.write(f"  book events so far: {kinds}\n")
        ids = [int(t.id) for t in [first[0], *seen]]
        whole = ids == sorted(ids) and len(ids) == len(set(ids))
        out.write(f"  trades after the reconnection: {ids[1:]}, in order and none twice: {whole}\n")
        for st in trades + books:
            await st.close()
    return whole


async def _next_data(stream: Any) -> Any:
    return await asyncio.wait_for(stream.get(), 30)
