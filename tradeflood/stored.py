"""Candle pages answered by the store before planning, and fetched pages recorded after.

The planner asks the store first: a grid page whose window (clipped to the
query's range) the store covers becomes a part read from disk, and only the
missing pages become turns. After a run, every fetched page that came back
complete is recorded; a page with holes (a venue outage, a range before a
listing) is not, so it is asked again next time rather than trusted as empty.
Open candles are never recorded.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from .binding import Part
from .candles import CandleBinding, CandleSeries, candle_open_times, expected_open_times
from .intervals import bar_open
from .paging import Page

if TYPE_CHECKING:
    from tradeflood.models import Candle

    from .query import Query

__all__ = ["CandlePages", "PageStore"]


class PageStore(Protocol):
    """What the planner needs of a candle store (``tradeflood.store.CandleStore`` is one)."""

    def missing(self, exchange: str, symbol: str, interval: str, start: int,
                end: int) -> list[tuple[int, int]]: ...

    def read(self, exchange: str, symbol: str, interval: str, start: int, end: int) -> list[Candle]: ...

    def write(self, exchange: str, symbol: str, interval: str, start: int, end: int,
              candles: Sequence[Candle], *, now_ms: int | None = None) -> int: ...


class CandlePages:
    """The store's side of one candle query: which pages it answers, and recording the rest."""

    def __init__(self, store: PageStore, query: Query, binding: CandleBinding, now_ms: int, *,
                 shared: bool = False) -> None:
        assert query.symbol is not None and query.interval is not None
        self.store = store
        self.key = (query.exchange, query.symbol, query.interval)
        self.interval = query.interval
        self.start, self.end = binding.time_range(query, now_ms)
        self.now_ms = now_ms
        self.closed_end = bar_open(now_ms, query.interval)  # bars before the one still open
        self.pages = binding.pages(query, now_ms, shared=shared)

    def split(self) -> tuple[list[Page], list[Part]]:
        """The pages still to fetch, and the parts the store answers.

        A page is answered by the store only if all of it the query asks for is
        closed and covered; a page that holds the open candle is always fetched.
        The store is asked twice in all: what is missing, then one read of the
        covered span.
        """
        lo, hi = self.start, min(self.end, self.closed_end)
        if lo >= hi:
            return list(self.pages), []
        holes = self.store.missing(*self.key, lo, hi)
        served: list[tuple[Page, int, int]] = []
        fetch: list[Page] = []
        for page in self.pages:
            a, b = max(page.start, self.start), min(page.end, self.end)
            if a < b <= self.closed_end and not any(h0 < b and a < h1 for h0, h1 in holes):
                served.append((page, a, b))
            else:
                fetch.append(page)
        if not served:
            return fetch, []
        candles = self._read(served[0][1], served[-1][2])
        times = candle_open_times(candles)
        table = candles.table
        stored: list[Part] = []
        for page, a, b in served:  # pages and candles are both in time order
            i, j = bisect_left(times, a), bisect_left(times, b)
            items = CandleSeries.from_table(table.slice(i, j - i)) if table is not None else candles[i:j]
            stored.append(Part(page.turn(), items))
        return fetch, stored

    def _read(self, start: int, end: int) -> CandleSeries:
        read_series = getattr(self.store, "read_series", None)
        if read_series is not None:
            series: CandleSeries = read_series(*self.key, start, end)
            return series
        return CandleSeries(self.store.read(*self.key, start, end))

    def record(self, fetched: Sequence[Page], parts: Sequence[Part]) -> int:
        """Store each fetched page whose closed window came back complete; returns candles written.

        Complete pages that follow one another and came as candle tables are written
        together, as one window, so their columns become whole blocks; pages of models
        are written one by one.
        """
        by_key: dict[object, list[Sequence[Candle]]] = {}
        for part in parts:
            by_key.setdefault(part.turn.key, []).append(part.items)
        runs: list[tuple[int, int, list[Sequence[Candle]]]] = []
        for page in sorted(fetched, key=lambda p: p.start):
            a, b = page.start, min(page.end, self.closed_end)
            if a >= b:
                continue
            found = by_key.get(page.turn().key, [])
            have = {t for items in found for t in candle_open_times(items)}
            if not all(t in have for t in expected_open_times(a, b, self.interval, self.now_ms)):
                continue
            if runs and runs[-1][1] == a and _tables_only(runs[-1][2]) and _tables_only(found):
                runs[-1] = (runs[-1][0], b, runs[-1][2] + found)
            else:
                runs.append((a, b, list(found)))
        return sum(self.store.write(*self.key, a, b, _closed_within(found, a, b), now_ms=self.now_ms)
                   for a, b, found in runs)


def _tables_only(found: Sequence[Sequence[Candle]]) -> bool:
    return bool(found) and all(isinstance(i, CandleSeries) and i.table is not None for i in found)


def _closed_within(found: list[Sequence[Candle]], start: int, end: int) -> Sequence[Candle]:
    """The closed candles of ``[start, end)`` among the parts' items: as one candle table
    when every part is table-backed, else as models."""
    if _tables_only(found):
        from .columnar._candles import merge_candle_tables

        table = merge_candle_tables([i.table for i in found], start, end)  # type: ignore[attr-defined]
        return CandleSeries.from_table(table)  # open candles are left out by the store
    return [c for items in found for c in items if start <= c.open_time < end and c.closed]
