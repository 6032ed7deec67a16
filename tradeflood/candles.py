"""Candle histories: paged plans, gap detection and repair, and the result type.

:class:`CandleBinding` is the base of every venue's candle binding. A venue
declares its page sources and a parse; the base plans the grid pages, puts the
pages together (each open time once, in order, within the range), asks again
once for pages that came back short, and reports what is still missing as gaps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from .binding import Binding, Part
from .columnar import ColumnarMixin
from .errors import QueryError
from .intervals import INTERVALS, bar_open, interval_end, interval_ms, validate_interval
from .paging import Page, PageSource, plan_pages
from .turn import Turn

if TYPE_CHECKING:
    from tradeflood.models import Candle, Model

    from .query import Query

__all__ = ["CandleBinding", "CandleSeries", "Gap", "expected_open_times"]

DEFAULT_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Gap:
    """Open times ``[start, end)`` the venue did not serve although the range asked for them."""

    start: int
    end: int
    missing: int

    def __str__(self) -> str:
        from tradeflood.models import ms_to_datetime

        return (f"{ms_to_datetime(self.start).isoformat()} .. {ms_to_datetime(self.end).isoformat()}"
                f" ({self.missing} candles)")


class CandleSeries(ColumnarMixin, list["Candle"]):
    """Candles in open-time order, each once, with the gaps the venue left.

    It is a list; ``gaps`` lists the spans the range asked for but the venue did
    not serve (before a listing, during an outage), never silently dropped.
    ``to_arrow()``, ``to_polars()`` and ``to_pandas()`` give it as columns (exact
    decimals by default; ``decimals="float"`` for float64).
    """

    gaps: list[Gap]

    def __init__(self, candles: Sequence[Candle] = (), gaps: Sequence[Gap] = ()) -> None:
        super().__init__(candles)
        self.gaps = list(gaps)

    @property
    def columnar_model(self) -> type[Model]:  # type: ignore[override]
        from tradeflood.models import Candle

        model: type[Model] = Candle
        return model

    @property
    def complete(self) -> bool:
        return not self.gaps


def expected_open_times(start: int, end: int, interval: str, now_ms: int) -> Iterator[int]:
    """Open times of the bars of ``interval`` that open in ``[start, end)`` by ``now_ms``."""
    limit = min(end, now_ms + 1)
    t = bar_open(start, interval)
    if t < start:
        t = interval_end(t, interval)
    if interval != "1M":
        yield from range(t, limit, interval_ms(interval))
        return
    while t < limit:  # calendar months differ in length
        yield t
        t = interval_end(t, "1M")


def _gaps(missing: Sequence[int], interval: str) -> list[Gap]:
    gaps: list[Gap] = []
    for t in missing:
        if gaps and gaps[-1].end == t:
            last = gaps[-1]
            gaps[-1] = Gap(last.start, interval_end(t, interval), last.missing + 1)
        else:
            gaps.append(Gap(t, interval_end(t, interval), 1))
    return gaps


class CandleBinding(Binding):
    """Base of candle bindings: grid paging over the venue's page sources.

    Subclasses set ``intervals`` (unified -> native) and define
    :meth:`page_sources` and ``parse``. Without ``start`` a query asks for the
    latest ``limit`` (default 1000) bars up to ``end`` (default now). ``parse``
    must not depend on the query's time range (``assemble`` applies it), so a
    page that several queries of one series share is parsed once.
    """

    intervals: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def check(cls, query: Query) -> None:
        validate_interval(query.interval, tuple(i for i in INTERVALS if i in cls.intervals),
                          query.exchange)
        if not query.symbol:
            raise QueryError(f"{query.exchange} candles need a symbol, e.g. symbol='BTC/USDT'")

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        raise NotImplementedError(f"{type(self).__name__} must define page_sources()")

    def time_range(self, query: Query, now_ms: int) -> tuple[int, int]:
        assert query.interval is not None
        end = query.end if query.end is not None else now_ms + 1
        if query.start is not None:
            return query.start, end
        step = interval_ms(query.interval)
        return (min(end, now_ms) // step - (query.limit or DEFAULT_LIMIT) + 1) * step, end

    def pages(self, query: Query, now_ms: int, *, shared: bool = False) -> list[Page]:
        """The pages of the query's range.

        Pages sit on the shared grid (edges at multiples of page size x interval)
        when ``shared`` (other queries of the plan ask for the same series, so
        identical pages are requested once) or when the grid costs no extra page;
        otherwise they start at the query's own start, so a lone query never
        sends more requests than paging from its start would.
        """
        assert query.interval is not None
        start, end = self.time_range(query, now_ms)
        args = (start, end, query.interval, interval_ms(query.interval), self.page_sources(query), now_ms)
        grid = plan_pages(*args)
        if shared:
            return grid
        own = plan_pages(*args, origin=start)
        return grid if len(grid) <= len(own) else own

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        return [page.turn() for page in self.pages(query, now_ms)]

    def _merge(self, query: Query, parts: Sequence[Part], now_ms: int) -> dict[int, Candle]:
        start, end = self.time_range(query, now_ms)
        merged: dict[int, Candle] = {}
        for part in parts:
            for candle in part.items:
                if start <= candle.open_time < end:
                    merged[candle.open_time] = candle
        return merged

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> CandleSeries:
        assert query.interval is not None
        merged = self._merge(query, parts, now_ms)
        start, end = self.time_range(query, now_ms)
        missing = [t for t in expected_open_times(start, end, query.interval, now_ms)
                   if t not in merged]
        series = CandleSeries([merged[t] for t in sorted(merged)], _gaps(missing, query.interval))
        if query.start is None and query.limit:
            del series[: max(0, len(series) - query.limit)]
        return series

    def repair(self, query: Query, parts: Sequence[Part], now_ms: int) -> Sequence[Turn]:
        """Ask again for pages that came back with some candles, but fewer than expected
        within the query's range."""
        assert query.interval is not None
        start, end = self.time_range(query, now_ms)
        got: dict[tuple[object, ...], set[int]] = {}
        turns: dict[tuple[object, ...], Turn] = {}
        for part in parts:
            if part.turn.window is not None:
                turns[part.turn.key] = part.turn
                got.setdefault(part.turn.key, set()).update(c.open_time for c in part.items)
        again = []
        for key, turn in turns.items():
            assert turn.window is not None
            a, b = max(turn.window[0], start), min(turn.window[1], end)
            expected = {t for t in expected_open_times(a, b, query.interval, now_ms)}
            have = got[key] & expected
            if have and len(have) < len(expected):
                again.append(turn)
        return again
