"""Paged histories: any model that is a time series of immutable rows, fetched page by page.

:class:`HistoryBinding` is the base of every binding whose result is a history
(candles, funding rates, open-interest history, mark and index candles). A
venue declares its page sources and a parse; the base plans the grid pages
(the best endpoint per age), puts the pages together (each time once, in order,
within the range), asks again once for pages that came back short, reports what
is still missing as gaps, and lets the session's store answer and record pages::

    class FundingHistory(HistoryBinding, model=FundingRate, connector=MyVenue):
        time_field = "timestamp"
        step_ms = 8 * 3_600_000

        def page_sources(self, query):
            return [PageSource("funding", 100, lambda a, b, n: self.api.funding(query.symbol, a, b, n))]

        def parse(self, query, turn, payload, ctx):
            return [FundingRate(...) for row in payload]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .binding import Binding, Part
from .errors import QueryError
from .paging import Page, PageSource, plan_pages
from .series import Gap, Series, as_series

if TYPE_CHECKING:
    from .query import Query
    from .turns import Turn

__all__ = ["HistoryBinding"]

DEFAULT_LIMIT = 1000


class HistoryBinding(Binding):
    """Base of paged histories: grid paging, gaps, repair, the store and the parse memo.

    Subclasses set ``time_field`` (the rows' time, UTC ms) and ``step_ms`` (the
    time between rows) or override :meth:`step`, and define :meth:`page_sources`
    and ``parse`` (a list of models, or a table-backed :class:`Series`). Without
    ``start`` a query asks for the latest ``limit`` (default 1000) rows up to
    ``end`` (default now). ``parse`` must not depend on the query's time range
    (``assemble`` applies it), so a page several queries of one series share is
    parsed once. ``series`` is the result type.
    """

    ranged = True

    time_field: ClassVar[str] = "timestamp"
    step_ms: ClassVar[int] = 0
    series: ClassVar[type[Series]] = Series
    #: Parse pages straight into tables (when pyarrow is installed and the venue can).
    bulk: ClassVar[bool] = True

    def use_bulk(self) -> bool:
        """True when ``parse`` should give table-backed series (``bulk`` on, pyarrow installed)."""
        from .columnar._series import arrow_available

        return self.bulk and arrow_available()

    def serves_history(self, query: Query) -> bool:
        """Whether ``query`` asks for the history (always, here); a binding that also serves
        the model's current value (:class:`~tradeflood.latest.LatestOrHistoryBinding`) says
        no for a query of that, and the planner then treats it as any other fetch."""
        return True

    # -- what a history is made of: override for calendar steps or other keys ---------------

    def step(self, query: Query) -> int:
        """Milliseconds between two rows of the query's series (an upper bound if they vary)."""
        if not self.step_ms:
            raise NotImplementedError(f"{type(self).__name__} must set step_ms or define step()")
        return self.step_ms

    def first_time(self, start: int, query: Query) -> int:
        """The first row time at or after ``start`` (rows sit at multiples of the step)."""
        step = self.step(query)
        return -(-start // step) * step

    def next_time(self, t: int, query: Query) -> int:
        """The row time after ``t``."""
        return t + self.step(query)

    def expected_times(self, start: int, end: int, query: Query, now_ms: int) -> Iterable[int]:
        """The row times a venue should serve in ``[start, end)`` by ``now_ms``: a ``range``
        when steps are even (checked over the columns), any iterable otherwise."""
        return range(self.first_time(start, query), min(end, now_ms + 1), self.step(query))

    def series_key(self, query: Query) -> tuple[str, str, str]:
        """What one stored series is: (exchange, symbol, kind); a page shared by queries of
        one key is parsed once. Candles use the interval as the kind."""
        return query.exchange, query.symbol or "", self.model.__name__

    def page_origin(self, query: Query, now_ms: int) -> int | None:
        """Where page edges sit when the venue fixes them (a venue that numbers its pages back
        from the newest row): pages then lie at ``origin + k x page span``. None (the default):
        the shared grid, or the query's own start."""
        return None

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        """The endpoints that serve pages of this history, each with its page size and look-back."""
        raise NotImplementedError(f"{type(self).__name__} must define page_sources()")

    # -- planning ---------------------------------------------------------------------------

    def time_range(self, query: Query, now_ms: int) -> tuple[int, int]:
        end = query.end if query.end is not None else now_ms + 1
        if query.start is not None:
            return query.start, end
        step = self.step(query)
        first = (min(end, now_ms) // step - (query.limit or DEFAULT_LIMIT) + 1) * step
        if first < 0:
            raise QueryError(f"limit={query.limit} rows of {query.describe()} would reach back before "
                             "1970: ask for fewer, or give start= and end=")
        return first, end

    def pages(self, query: Query, now_ms: int, *, shared: bool = False) -> list[Page]:
        """The pages of the query's range.

        Pages sit on the shared grid (edges at multiples of page size x step)
        when ``shared`` (other queries of the plan ask for the same series, so
        identical pages are requested once) or when the grid costs no extra page;
        otherwise they start at the query's own start, so a lone query never
        sends more requests than paging from its start would.
        """
        start, end = self.time_range(query, now_ms)
        origin = self.page_origin(query, now_ms)  # before page_sources, which may depend on it
        args = (start, end, query.interval or "", self.step(query), self.page_sources(query), now_ms)
        if origin is not None:
            return plan_pages(*args, origin=origin)
        grid = plan_pages(*args)
        if shared:
            return grid
        own = plan_pages(*args, origin=start)
        return grid if len(grid) <= len(own) else own

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        return [page.turn() for page in self.pages(query, now_ms)]

    # -- putting pages together ---------------------------------------------------------------

    def rows(self, items: Sequence[Any]) -> Series:
        """A parse's result (a list of models or a series) as this history's series type."""
        return as_series(items, self.model, self.time_field, self.series)

    def _empty(self) -> Series:
        return self.series((), model=self.model, time_field=self.time_field)

    def merged_items(self, items: Sequence[Sequence[Any]], start: int, end: int) -> Series:
        """Parsed pages' rows within ``[start, end)``, each time once (a later page wins), in order."""
        return self._empty().merge(items, start, end)

    def settled_end(self, query: Query, now_ms: int) -> int:
        """Rows before this time never change (a store may keep them): by default every row
        but the newest one expected by ``now_ms``; candles: every bar but the open one."""
        return self.first_time(now_ms + 1, query) - self.step(query)

    def missing(self, rows: Series, start: int, end: int, query: Query, now_ms: int) -> list[int]:
        """The expected times of ``[start, end)`` that ``rows`` (cut to that range) lacks."""
        expected = self.expected_times(start, end, query, now_ms)
        if isinstance(expected, range) and rows.holds(expected):
            return []  # the usual case, checked over the column
        have = set(rows.times())
        return [t for t in expected if t not in have]

    def gaps(self, missing: Sequence[int], query: Query) -> list[Gap]:
        """Consecutive missing times as spans."""
        out: list[Gap] = []
        for t in missing:
            if out and out[-1].end == t:
                last = out[-1]
                out[-1] = Gap(last.start, self.next_time(t, query), last.missing + 1)
            else:
                out.append(Gap(t, self.next_time(t, query), 1))
        return out

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> Series:
        start, end = self.time_range(query, now_ms)
        rows = self.merged_items([p.items for p in parts], start, end)
        gaps = self.gaps(self.missing(rows, start, end, query, now_ms), query)
        if query.start is None and query.limit:
            rows = rows[max(0, len(rows) - query.limit):]
        return rows.with_gaps(gaps)

    def repair(self, query: Query, parts: Sequence[Part], now_ms: int) -> Sequence[Turn]:
        """Ask again for pages that came back with some rows, but fewer than expected
        within the query's range."""
        start, end = self.time_range(query, now_ms)
        by_key: dict[tuple[object, ...], tuple[Turn, list[Sequence[Any]]]] = {}
        for part in parts:
            if part.turn.window is not None:
                by_key.setdefault(part.turn.key, (part.turn, []))[1].append(part.items)
        again = []
        for turn, found in by_key.values():
            assert turn.window is not None
            a, b = max(turn.window[0], start), min(turn.window[1], end)
            rows = self.merged_items(found, a, b)
            if len(rows) and self.missing(rows, a, b, query, now_ms):
                again.append(turn)
        return again
