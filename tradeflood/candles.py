"""Candle histories: the candle binding base and the candle series.

:class:`CandleBinding` is the base of every venue's candle binding: a
:class:`~tradeflood.history.HistoryBinding` whose rows are ``Candle`` models
keyed by ``open_time`` and stepped by the query's interval (calendar months
included). A venue declares its page sources and a parse; the base plans the
grid pages, puts them together, repairs short pages and reports gaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import QueryError
from .history import HistoryBinding
from .intervals import INTERVALS, bar_open, interval_end, interval_ms, validate_interval
from .series import Gap, Series
from .symbols import split_symbol

if TYPE_CHECKING:
    import pyarrow

    from tradeflood.models import Model

    from .query import Query

__all__ = ["CandleBinding", "CandleSeries", "Gap", "PriceCandleBinding", "expected_open_times"]


def _candle() -> type[Model]:
    from tradeflood.models import Candle

    model: type[Model] = Candle
    return model


class CandleSeries(Series):
    """Candles in open-time order, each once, with the gaps the venue left.

    ``gaps`` lists the spans the range asked for but the venue did not serve
    (before a listing, during an outage), never silently dropped. ``to_arrow()``,
    ``to_polars()`` and ``to_pandas()`` give it as columns (exact decimals by
    default; ``decimals="float"`` for float64). A series backed by a candle table
    (fetches build them so when pyarrow is installed) reads ``len``, ``gaps`` and
    ``to_arrow()`` from the table (``to_arrow()`` returns it as it is) and builds
    ``Candle`` models as they are read; their decimals carry their column's scale
    (``42000.10`` in a two-place column), equal as numbers to what the venue sent.
    """

    time_field: ClassVar[str] = "open_time"

    __slots__ = ()

    def __init__(self, rows: Iterable[Any] = (), gaps: Any = (), *, model: type[Model] | None = None,
                 time_field: str | None = None) -> None:
        super().__init__(rows, gaps, model=model or _candle(), time_field=time_field)

    @property
    def columnar_model(self) -> type[Model]:
        """The model of the rows (``Candle``), for the schema of an empty result."""
        return _candle()

    def _models(self, table: pyarrow.Table) -> list[Any]:
        from .columnar._candles import candle_models

        return candle_models(table)


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


class CandleBinding(HistoryBinding):
    """Base of candle bindings: grid paging over the venue's page sources.

    Subclasses set ``intervals`` (unified -> native) and define
    :meth:`page_sources` and ``parse`` (a list of candles, or a table-backed
    :class:`CandleSeries` when :meth:`use_bulk`; ``bulk = False`` turns columns
    off). Without ``start`` a query asks for the latest ``limit`` (default 1000)
    bars up to ``end`` (default now). ``parse`` must not depend on the query's
    time range (``assemble`` applies it), so a page that several queries of one
    series share is parsed once.
    """

    intervals: ClassVar[Mapping[str, str]] = {}
    time_field: ClassVar[str] = "open_time"
    series: ClassVar[type[Series]] = CandleSeries

    @classmethod
    def check(cls, query: Query) -> None:
        validate_interval(query.interval, tuple(i for i in INTERVALS if i in cls.intervals),
                          query.exchange)
        if not query.symbol:
            raise QueryError(f"{query.exchange} candles need a symbol, e.g. symbol='BTC/USDT'")

    def step(self, query: Query) -> int:
        assert query.interval is not None
        return interval_ms(query.interval)

    def first_time(self, start: int, query: Query) -> int:
        assert query.interval is not None
        return _first_open(start, query.interval)

    def next_time(self, t: int, query: Query) -> int:
        assert query.interval is not None
        return interval_end(t, query.interval)

    def expected_times(self, start: int, end: int, query: Query, now_ms: int) -> Iterable[int]:
        assert query.interval is not None
        steady = _expected_range(start, end, query.interval, now_ms)
        return steady if steady is not None else expected_open_times(start, end, query.interval, now_ms)

    def settled_end(self, query: Query, now_ms: int) -> int:
        assert query.interval is not None
        return bar_open(now_ms, query.interval)  # bars before the one still open

    def series_key(self, query: Query) -> tuple[str, str, str]:
        assert query.symbol is not None and query.interval is not None
        return query.exchange, query.symbol, query.interval


class PriceCandleBinding(CandleBinding):
    """Base of bindings whose rows are bars of a price that is not traded (mark, index).

    As :class:`CandleBinding` (grid pages over the venue's sources, repair, gaps),
    but the rows are the binding's own model, parsed one model per row, and a
    stored series is keyed ``"<Model>:<interval>"`` (``"MarkCandle:1m"``), so bars
    of a mark price never share a store series with the trade candles of the same
    symbol and interval, nor with another interval.
    """

    series: ClassVar[type[Series]] = Series
    bulk: ClassVar[bool] = False

    def series_key(self, query: Query) -> tuple[str, str, str]:
        assert query.symbol is not None and query.interval is not None
        return query.exchange, query.symbol, f"{self.model.__name__}:{query.interval}"

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        assert query.symbol is not None
        unified = split_symbol(query.symbol)
        if unified.kind == "spot":
            raise QueryError(f"{cls.model.__name__} on {query.exchange}: {query.symbol!r} is a spot pair; "
                             "mark and index prices belong to derivatives: ask for the perpetual, "
                             f"e.g. '{query.symbol}:{unified.quote}'")

