"""The store's side of a history query: pages answered before planning, fetched pages recorded after.

The planner asks the store first: a grid page whose window (clipped to the
query's range) the store covers becomes a part read from disk, and only the
missing pages become turns. Every fetched page that comes back complete is
recorded as soon as it is parsed; a page with holes (a venue outage, a range before a
listing, invalid rows dropped by ``invalid="drop"``) is not, so it is asked again next
time rather than trusted as empty.
Rows not settled yet (an open candle, or a bar closed less than the store's
``settle_ms`` before the fetch) are never recorded.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from tradeflood.binding import Part
from tradeflood.series import Series

from ._settle import DEFAULT_SETTLE_MS

if TYPE_CHECKING:
    from tradeflood.history import HistoryBinding
    from tradeflood.paging import Page
    from tradeflood.query import Query

__all__ = ["PageStore", "StoredPages", "settle_ms"]


def settle_ms(store: object) -> int:
    """How long the store waits after a row's end before it takes the row as final (a store
    without a ``settle_ms`` of its own gets the default)."""
    margin = getattr(store, "settle_ms", DEFAULT_SETTLE_MS)
    return margin if isinstance(margin, int) and margin >= 0 else DEFAULT_SETTLE_MS


class PageStore(Protocol):
    """What the planner needs of a history store (``tradeflood.store.CandleStore`` is one).

    A store may also have ``read_series`` (same arguments as ``read``), giving a
    table-backed series, read in preference to ``read``. For histories other than
    candles both are called with ``model=`` the row model, to build rows from.
    ``settle_ms`` (optional): how long after its end a row is final (see
    :data:`~tradeflood.store.DEFAULT_SETTLE_MS`).

    A series is ``(exchange, symbol, kind)``: the interval for candles, the
    model's name for other histories (see ``HistoryBinding.series_key``).
    """

    def missing(self, exchange: str, symbol: str, kind: str, start: int,
                end: int) -> list[tuple[int, int]]: ...

    def read(self, exchange: str, symbol: str, kind: str, start: int, end: int) -> Sequence[Any]: ...

    def write(self, exchange: str, symbol: str, kind: str, start: int, end: int,
              rows: Sequence[Any], *, now_ms: int | None = None) -> int: ...


class StoredPages:
    """The store's side of one history query: which pages it answers, and recording the rest."""

    def __init__(self, store: PageStore, query: Query, binding: HistoryBinding, now_ms: int, *,
                 shared: bool = False) -> None:
        self.store = store
        self.binding = binding
        self.query = query
        self.key = binding.series_key(query)
        self.start, self.end = binding.time_range(query, now_ms)
        self.now_ms = now_ms
        # Rows before it never change: those settled the store's margin before now.
        self.settled_end = binding.settled_end(query, now_ms - settle_ms(store))
        self.pages = binding.pages(query, now_ms, shared=shared)
        self.recorded: set[object] = set()  # keys of the pages written already
        self._fetched: dict[object, Page] | None = None

    def split(self) -> tuple[list[Page], list[Part]]:
        """The pages still to fetch, and the parts the store answers.

        A page is answered by the store only if all of it the query asks for is
        settled and covered; a page that holds the open candle is always fetched.
        The store is asked twice in all: what is missing, then one read of the
        covered span.
        """
        lo, hi = self.start, min(self.end, self.settled_end)
        if lo >= hi:
            return list(self.pages), []
        holes = self.store.missing(*self.key, lo, hi)
        served: list[tuple[Page, int, int]] = []
        fetch: list[Page] = []
        for page in self.pages:
            a, b = max(page.start, self.start), min(page.end, self.end)
            if a < b <= self.settled_end and not any(h0 < b and a < h1 for h0, h1 in holes):
                served.append((page, a, b))
            else:
                fetch.append(page)
        if not served:
            return fetch, []
        rows = self.binding.rows(self._read(served[0][1], served[-1][2]))
        times = rows.times()
        stored: list[Part] = []
        for page, a, b in served:  # pages and rows are both in time order
            i, j = bisect_left(times, a), bisect_left(times, b)
            stored.append(Part(page.turn(), rows[i:j]))
        return fetch, stored

    def _read(self, start: int, end: int) -> Sequence[Any]:
        # A store of candles alone (the first kind of store) need not take the row model.
        model = self.binding.model
        hint: dict[str, Any] = {} if model.__name__ == "Candle" else {"model": model}
        read_series = getattr(self.store, "read_series", None)
        if read_series is not None:
            series: Sequence[Any] = read_series(*self.key, start, end, **hint)
            return series
        rows: Sequence[Any] = self.store.read(*self.key, start, end, **hint)
        return rows

    def record(self, fetched: Sequence[Page], parts: Sequence[Part]) -> int:
        """Store each page of ``fetched`` that ``parts`` hold and whose settled window came back
        complete; returns rows written.

        Called with each page's part as soon as it is parsed (a checkpoint: a backfill
        stopped at any moment keeps every page finished before), and once more with all
        parts at the end, when a page re-asked for may have become complete; a page is
        written once. Complete pages that follow one another and came as tables are
        written together, as one window, so their columns become whole blocks; pages of
        models are written one by one.
        """
        if self._fetched is None:
            self._fetched = {page.turn().key: page for page in fetched}
        by_key: dict[object, list[Sequence[Any]]] = {}
        dropped = {part.turn.key for part in parts if part.dropped}  # invalid rows left out: not complete
        for part in parts:
            by_key.setdefault(part.turn.key, []).append(part.items)
        pages = sorted((self._fetched[key] for key in by_key
                        if key in self._fetched and key not in self.recorded), key=lambda p: p.start)
        runs: list[tuple[int, int, list[Sequence[Any]], list[object]]] = []
        binding, query = self.binding, self.query
        for page in pages:
            a, b = page.start, min(page.end, self.settled_end)
            key = page.turn().key
            if a >= b:
                continue
            found = by_key.get(key, [])
            if not found or key in dropped or binding.missing(binding.merged_items(found, a, b), a, b, query,
                                                               self.now_ms):
                continue
            if runs and runs[-1][1] == a and _tables_only(runs[-1][2]) and _tables_only(found):
                runs[-1] = (runs[-1][0], b, runs[-1][2] + found, [*runs[-1][3], key])
            else:
                runs.append((a, b, list(found), [key]))
        written = 0
        for a, b, found, keys in runs:
            written += self.store.write(*self.key, a, b, binding.merged_items(found, a, b),
                                        now_ms=self.now_ms)
            self.recorded.update(keys)
        return written


def _tables_only(found: Sequence[Sequence[Any]]) -> bool:
    return bool(found) and all(isinstance(i, Series) and i.table is not None for i in found)
