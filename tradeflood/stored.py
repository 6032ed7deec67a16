"""Candle pages answered by the store before planning, and fetched pages recorded after.

The planner asks the store first: a grid page whose window (clipped to the
query's range) the store covers becomes a part read from disk, and only the
missing pages become turns. After a run, every fetched page that came back
complete is recorded; a page with holes (a venue outage, a range before a
listing) is not, so it is asked again next time rather than trusted as empty.
Open candles are never recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from .binding import Part
from .candles import CandleBinding, expected_open_times
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
        candles = self.store.read(*self.key, served[0][1], served[-1][2])
        stored: list[Part] = []
        i = 0
        for page, a, b in served:  # pages and candles are both in time order
            while i < len(candles) and candles[i].open_time < a:
                i += 1
            j = i
            while j < len(candles) and candles[j].open_time < b:
                j += 1
            stored.append(Part(page.turn(), candles[i:j]))
            i = j
        return fetch, stored

    def record(self, fetched: Sequence[Page], parts: Sequence[Part]) -> int:
        """Store each fetched page whose closed window came back complete; returns candles written."""
        by_key: dict[object, list[Candle]] = {}
        for part in parts:
            by_key.setdefault(part.turn.key, []).extend(part.items)
        written = 0
        for page in fetched:
            a, b = page.start, min(page.end, self.closed_end)
            if a >= b:
                continue
            candles = [c for c in by_key.get(page.turn().key, ()) if a <= c.open_time < b and c.closed]
            have = {c.open_time for c in candles}
            if all(t in have for t in expected_open_times(a, b, self.interval, self.now_ms)):
                written += self.store.write(*self.key, a, b, candles, now_ms=self.now_ms)
        return written
