"""Candle histories: paged plans, gap detection and repair, and the result type.

:class:`CandleBinding` is the base of every venue's candle binding. A venue
declares its page sources and a parse; the base plans the grid pages, puts the
pages together (each open time once, in order, within the range), asks again
once for pages that came back short, and reports what is still missing as gaps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, SupportsIndex

from .binding import Binding, Part
from .columnar import ColumnarMixin, Decimals, table_to_pandas
from .columnar._arrow import check_decimals, require
from .errors import QueryError
from .intervals import INTERVALS, bar_open, interval_end, interval_ms, validate_interval
from .paging import Page, PageSource, plan_pages
from .turn import Turn

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow

    from tradeflood.models import Candle, Model

    from .query import Query

__all__ = ["CandleBinding", "CandleSeries", "Gap", "candle_open_times", "expected_open_times"]

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

    A series may be backed by a candle table (:meth:`from_table`; fetches build
    them so when pyarrow is installed): ``len``, ``gaps`` and ``to_arrow()`` read
    the table (``to_arrow()`` returns it as it is), and the ``Candle`` models are
    built the first time the series is used as a list (indexing, iterating,
    comparing, changing it). Their decimals carry their column's scale
    (``42000.10`` in a two-place column), equal as numbers to what the venue sent.
    C code that reads a list's storage directly, bypassing its methods
    (``plain_list + series``), sees a table-backed series as empty until it has
    been used as a list once; ``list(series)`` is always safe.
    """

    gaps: list[Gap]

    def __init__(self, candles: Iterable[Candle] = (), gaps: Sequence[Gap] = ()) -> None:
        super().__init__(candles)
        self.gaps = list(gaps)
        self._table: pyarrow.Table | None = None
        self._pending = 0  # rows of _table not yet built into models (0: the list is complete)

    @classmethod
    def from_table(cls, table: pyarrow.Table, gaps: Sequence[Gap] = ()) -> CandleSeries:
        """A series backed by a candle table (rows in open-time order, each open time once)."""
        series = cls((), gaps)
        series._table = table
        series._pending = table.num_rows
        return series

    @property
    def table(self) -> pyarrow.Table | None:
        """The candle table behind this series, or None (a list of models, or changed since)."""
        return self._table

    @property
    def columnar_model(self) -> type[Model]:  # type: ignore[override]
        from tradeflood.models import Candle

        model: type[Model] = Candle
        return model

    @property
    def complete(self) -> bool:
        return not self.gaps

    def _materialise(self) -> None:
        if self._pending:
            from .columnar._candles import candle_models

            assert self._table is not None
            self._pending = 0
            list.extend(self, candle_models(self._table))

    def __len__(self) -> int:
        return self._pending or list.__len__(self)

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return type(self), (list(self), self.gaps)

    def to_arrow(self, decimals: Decimals = "exact") -> pyarrow.Table:
        """This series as an Arrow table; a table-backed series gives its table (no copy)."""
        table = self._table
        if table is None:
            return super().to_arrow(decimals)
        check_decimals(decimals)
        if decimals == "exact":
            return table
        pa = require("pyarrow")
        for i, field in enumerate(table.schema):
            if pa.types.is_decimal(field.type):
                # Through text: Arrow's decimal-to-float cast is not always the nearest float.
                column = table.column(i).cast(pa.string()).cast(pa.float64())
                table = table.set_column(i, field.with_type(pa.float64()), column)
        return table

    def to_polars(self, decimals: Decimals = "exact") -> polars.DataFrame:
        """This series as a Polars frame; see :func:`tradeflood.columnar.to_polars`."""
        frame: polars.DataFrame = require("polars").from_arrow(self.to_arrow(decimals))
        return frame

    def to_pandas(self, decimals: Decimals = "exact") -> pandas.DataFrame:
        """This series as a pandas frame; see :func:`tradeflood.columnar.to_pandas`."""
        return table_to_pandas(self.to_arrow(decimals))


def _reading(name: str) -> Callable[..., Any]:
    method = getattr(list, name)

    def read(self: CandleSeries, *args: Any, **kwargs: Any) -> Any:
        self._materialise()
        for other in args:  # list's own comparisons read the other list's storage directly
            if isinstance(other, CandleSeries):
                other._materialise()
        return method(self, *args, **kwargs)

    read.__name__ = name
    read.__doc__ = method.__doc__
    return read


def _changing(name: str) -> Callable[..., Any]:
    method = getattr(list, name)

    def change(self: CandleSeries, *args: Any, **kwargs: Any) -> Any:
        self._materialise()
        for other in args:
            if isinstance(other, CandleSeries):
                other._materialise()
        self._table = None  # the table no longer says what the list holds
        return method(self, *args, **kwargs)

    change.__name__ = name
    change.__doc__ = method.__doc__
    return change


for _name in ("__getitem__", "__iter__", "__reversed__", "__contains__", "__eq__", "__ne__", "__lt__",
              "__le__", "__gt__", "__ge__", "__repr__", "__add__", "__mul__", "__rmul__", "index",
              "count", "copy"):
    setattr(CandleSeries, _name, _reading(_name))
for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend", "insert",
              "pop", "remove", "reverse", "sort", "clear"):
    setattr(CandleSeries, _name, _changing(_name))
del _name


def candle_open_times(candles: Sequence[Candle]) -> list[int]:
    """The open times of a sequence of candles, read from the table when it is table-backed."""
    if isinstance(candles, CandleSeries) and candles.table is not None:
        from .columnar._candles import open_times

        return open_times(candles.table)
    return [c.open_time for c in candles]


def expected_open_times(start: int, end: int, interval: str, now_ms: int) -> Iterator[int]:
    """Open times of the bars of ``interval`` that open in ``[start, end)`` by ``now_ms``."""
    steady = _expected_range(start, end, interval, now_ms)
    if steady is not None:
        yield from steady
        return
    limit = min(end, now_ms + 1)
    t = _first_open(start, interval)
    while t < limit:  # calendar months differ in length
        yield t
        t = interval_end(t, "1M")


def _first_open(start: int, interval: str) -> int:
    t = bar_open(start, interval)
    return interval_end(t, interval) if t < start else t


def _expected_range(start: int, end: int, interval: str, now_ms: int) -> range | None:
    """:func:`expected_open_times` as a range, for every interval but calendar months (None)."""
    if interval == "1M":
        return None
    return range(_first_open(start, interval), min(end, now_ms + 1), interval_ms(interval))


def _table_holds(table: pyarrow.Table, expected: range) -> bool:
    """True when the table's open times within the range's span are exactly the range."""
    from .columnar._candles import is_progression, time_range

    if not expected:
        return False
    return is_progression(time_range(table, expected.start, expected.stop), expected)


def _gaps(missing: Sequence[int], interval: str) -> list[Gap]:
    gaps: list[Gap] = []
    for t in missing:
        if gaps and gaps[-1].end == t:
            last = gaps[-1]
            gaps[-1] = Gap(last.start, interval_end(t, interval), last.missing + 1)
        else:
            gaps.append(Gap(t, interval_end(t, interval), 1))
    return gaps


def _tables(parts: Sequence[Part]) -> list[pyarrow.Table] | None:
    """The candle tables of parts that are all table-backed series, else None."""
    tables = []
    for part in parts:
        items = part.items
        if not isinstance(items, CandleSeries) or items.table is None:
            return None
        tables.append(items.table)
    return tables or None


class CandleBinding(Binding):
    """Base of candle bindings: grid paging over the venue's page sources.

    Subclasses set ``intervals`` (unified -> native) and define
    :meth:`page_sources` and ``parse`` (a list of candles, or a table-backed
    :class:`CandleSeries` when :meth:`use_bulk`; ``bulk = False`` turns columns
    off). Without ``start`` a query asks for the
    latest ``limit`` (default 1000) bars up to ``end`` (default now). ``parse``
    must not depend on the query's time range (``assemble`` applies it), so a
    page that several queries of one series share is parsed once.
    """

    intervals: ClassVar[Mapping[str, str]] = {}
    #: Parse pages straight into candle tables (when pyarrow is installed), so a history
    #: travels as columns and models are built only if the caller uses the result as a list.
    bulk: ClassVar[bool] = True

    def use_bulk(self) -> bool:
        """True when ``parse`` should give table-backed series (``bulk`` on, pyarrow installed)."""
        from .columnar._candles import arrow_available

        return self.bulk and arrow_available()

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
        start, end = self.time_range(query, now_ms)
        tables = _tables(parts)
        if tables is not None:  # every part is columns: merge them as columns
            from .columnar._candles import is_progression, merge_candle_tables, open_times

            table = merge_candle_tables(tables, start, end)
            expected = _expected_range(start, end, query.interval, now_ms)
            if expected is not None and is_progression(table, expected):
                missing = []  # the usual case, checked over the column
            else:
                have = set(open_times(table))
                missing = [t for t in expected_open_times(start, end, query.interval, now_ms)
                           if t not in have]
            if query.start is None and query.limit:
                table = table.slice(max(0, table.num_rows - query.limit))
            return CandleSeries.from_table(table, _gaps(missing, query.interval))
        merged = self._merge(query, parts, now_ms)
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
        whole: set[tuple[object, ...]] = set()  # pages a table-backed part holds completely
        for part in parts:
            window = part.turn.window
            if window is None or part.turn.key in whole:
                continue
            turns[part.turn.key] = part.turn
            items = part.items
            if isinstance(items, CandleSeries) and items.table is not None:
                expected = _expected_range(max(window[0], start), min(window[1], end), query.interval, now_ms)
                if expected is not None and _table_holds(items.table, expected):
                    whole.add(part.turn.key)
                    continue
            got.setdefault(part.turn.key, set()).update(candle_open_times(items))
        again = []
        for key, turn in turns.items():
            assert turn.window is not None
            if key in whole:
                continue
            a, b = max(turn.window[0], start), min(turn.window[1], end)
            expected_set = set(expected_open_times(a, b, query.interval, now_ms))
            have = got.get(key, set()) & expected_set
            if have and len(have) < len(expected_set):
                again.append(turn)
        return again
