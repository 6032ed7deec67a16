"""Series: a history's result, rows in time order, each time once, with the gaps the venue left.

A series holds its rows in one form: a table (when they came as columns and
pyarrow is installed) or the models themselves. The other form is a view built
when asked for and not kept: ``to_arrow()`` of a table-backed series is the
table itself, and its models are built as they are read (a chunk at a time when
iterating), so a year of candles costs the table, not the table plus a model
per row. A series is immutable; ``list(series)`` gives a list to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from .columnar._arrow import Decimals, check_decimals, require

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow

    from tradeflood.models import Model

__all__ = ["Gap", "Series", "as_series"]

S = TypeVar("S", bound="Series")
_CHUNK = 4096  # rows built into models at a time when a table-backed series is read as models


@dataclass(frozen=True, slots=True)
class Gap:
    """Times ``[start, end)`` the venue did not serve although the range asked for them."""

    start: int
    end: int
    missing: int

    def __str__(self) -> str:
        from tradeflood.models import ms_to_datetime

        return (f"{ms_to_datetime(self.start).isoformat()} .. {ms_to_datetime(self.end).isoformat()}"
                f" ({self.missing} missing)")


class Series(Sequence[Any]):
    """Rows of one history in time order, each time once, and its :class:`Gap` list.

    Subclasses name the row ``model`` and its ``time_field``; a generic series
    takes them as arguments. Indexing and iterating give models; ``len``,
    ``gaps``, ``times()`` and ``to_arrow()`` of a table-backed series build none.
    Equal to any sequence of the same models in the same order.
    """

    model: ClassVar[type[Model] | None] = None
    time_field: ClassVar[str] = "timestamp"

    __slots__ = ("_chunk", "_model", "_rows", "_table", "_time_field", "dropped", "gaps")

    def __init__(self, rows: Iterable[Any] = (), gaps: Sequence[Gap] = (), *,
                 model: type[Model] | None = None, time_field: str | None = None) -> None:
        self._rows: tuple[Any, ...] | None = tuple(rows)
        self._table: pyarrow.Table | None = None
        self.gaps: list[Gap] = list(gaps)
        #: Invalid rows the replies held and the fetch dropped (``invalid="drop"``); their
        #: times are among the gaps.
        self.dropped = 0
        self._model = model or type(self).model
        self._time_field = time_field or type(self).time_field
        self._chunk: tuple[int, list[Any]] | None = None  # the last chunk of models built

    @classmethod
    def from_table(cls: type[S], table: pyarrow.Table, gaps: Sequence[Gap] = (), *,
                   model: type[Model] | None = None, time_field: str | None = None) -> S:
        """A series backed by a table (rows in time order, each time once)."""
        series = cls((), gaps, model=model, time_field=time_field)
        series._rows = None
        series._table = table
        return series

    def _like(self: S, table: pyarrow.Table | None, rows: Iterable[Any] = (), gaps: Sequence[Gap] = ()) -> S:
        """A series of the same kind holding other rows: ``table`` if given, else ``rows``."""
        if table is not None:
            return type(self).from_table(table, gaps, model=self._model, time_field=self._time_field)
        return type(self)(rows, gaps, model=self._model, time_field=self._time_field)

    # -- the two forms ------------------------------------------------------------------

    @property
    def table(self) -> pyarrow.Table | None:
        """The table behind this series, or None when it holds models."""
        return self._table

    @property
    def row_model(self) -> type[Model] | None:
        """The model of this series' rows."""
        return self._model

    @property
    def row_time_field(self) -> str:
        """The name of the rows' time field (``open_time`` for candles)."""
        return self._time_field

    def _models(self, table: pyarrow.Table) -> list[Any]:
        """The models of some of this series' table rows (subclasses may build faster)."""
        from .columnar._series import models_of

        assert self._model is not None, "a table-backed series needs its model"
        return models_of(table, self._model)

    def times(self) -> list[int]:
        """The rows' times, UTC ms, in order (read from the column when table-backed)."""
        if self._table is not None:
            from .columnar._series import times_of

            return times_of(self._table, self._time_field)
        field = self._time_field
        return [getattr(row, field) for row in self._rows or ()]

    # -- a sequence of models -----------------------------------------------------------

    def __len__(self) -> int:
        return self._table.num_rows if self._table is not None else len(self._rows or ())

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self: S, index: slice) -> S: ...

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            if self._table is not None:
                start, stop, step = index.indices(self._table.num_rows)
                if step == 1:
                    return self._like(self._table.slice(start, max(0, stop - start)))
            return self._like(None, list(self)[index])
        if self._table is None:
            assert self._rows is not None
            return self._rows[index]
        n = self._table.num_rows
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError("series index out of range")
        first = i - i % _CHUNK
        if self._chunk is None or self._chunk[0] != first:
            self._chunk = (first, self._models(self._table.slice(first, _CHUNK)))
        return self._chunk[1][i - first]

    def __iter__(self) -> Iterator[Any]:
        if self._table is None:
            yield from self._rows or ()
            return
        table = self._table
        for first in range(0, table.num_rows, _CHUNK):
            yield from self._models(table.slice(first, _CHUNK))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        if len(self) != len(other):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """Count, time range and gaps; never the rows (a year of candles would take seconds)."""
        name = type(self).__name__
        n = len(self)
        if not n:
            return f"<{name} empty, {len(self.gaps)} gaps>"
        from tradeflood.models import ms_to_datetime

        times = self._first_last()
        span = " .. ".join(ms_to_datetime(t).isoformat() for t in times)
        return f"<{name} {n} rows {span}, {len(self.gaps)} gaps>"

    def _first_last(self) -> tuple[int, int]:
        if self._table is not None:
            from .columnar._series import times_of

            field = self._time_field
            return (times_of(self._table.slice(0, 1), field)[0],
                    times_of(self._table.slice(self._table.num_rows - 1, 1), field)[0])
        assert self._rows
        return getattr(self._rows[0], self._time_field), getattr(self._rows[-1], self._time_field)

    def __reduce__(self) -> tuple[Any, ...]:
        form = self._table if self._table is not None else self._rows
        return _restore, (type(self), form, self.gaps, self._model, self._time_field)

    # -- columns ------------------------------------------------------------------------

    def to_arrow(self, decimals: Decimals = "exact") -> pyarrow.Table:
        """This series as an Arrow table; a table-backed series gives its table (no copy)."""
        table = self._table
        if table is None:
            from .columnar import to_arrow

            return to_arrow(list(self._rows or ()), decimals=decimals, model=self._model)
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
        from .columnar import table_to_pandas

        return table_to_pandas(self.to_arrow(decimals))

    # -- what a history's pipeline does with parts ------------------------------------------

    def between(self: S, start: int, end: int) -> S:
        """The rows with ``start <= time < end`` (the series itself when all are inside)."""
        if self._table is not None:
            from .columnar._series import time_range

            table = time_range(self._table, start, end, self._time_field)
            return self if table is self._table else self._like(table, gaps=self.gaps)
        field = self._time_field
        rows = [r for r in self._rows or () if start <= getattr(r, field) < end]
        return self if len(rows) == len(self) else self._like(None, rows, self.gaps)

    def holds(self, expected: range) -> bool:
        """True when the rows' times are exactly ``expected``, in order."""
        if self._table is not None:
            from .columnar._series import is_progression

            return is_progression(self._table, expected, self._time_field)
        return self.times() == list(expected)

    def with_gaps(self: S, gaps: Sequence[Gap]) -> S:
        """This series' rows with other gaps."""
        return self._like(self._table, self._rows or (), gaps)

    def merge(self: S, parts: Sequence[Sequence[Any]], start: int, end: int) -> S:
        """``parts`` (pages of this series' kind) as one series of ``[start, end)``: each time
        once (a later part's row wins), in time order. Columns when every part is a table."""
        series = [as_series(p, self._model, self._time_field, type(self)) for p in parts]
        tables = [s._table for s in series]
        if tables and all(t is not None for t in tables):
            from .columnar._series import merge_tables

            assert self._model is not None
            return self._like(merge_tables(tables, start, end, self._time_field, self._model))
        field = self._time_field
        by_time: dict[int, Any] = {}
        for part in series:
            for row in part:
                t = getattr(row, field)
                if start <= t < end:
                    by_time[t] = row
        return self._like(None, [by_time[t] for t in sorted(by_time)])


def as_series(items: Sequence[Any], model: type[Model] | None, time_field: str,
              kind: type[S] = Series) -> S:  # type: ignore[assignment]
    """``items`` (a parse's result: a series or a list of models) as a series of ``kind``
    with rows of ``model`` keyed by ``time_field`` (the series itself when it is one)."""
    if isinstance(items, kind) and items.row_time_field == time_field and items.row_model is model:
        return items
    if isinstance(items, Series):
        if items.table is not None:
            return kind.from_table(items.table, items.gaps, model=model, time_field=time_field)
        return kind(items._rows or (), items.gaps, model=model, time_field=time_field)
    return kind(items, model=model, time_field=time_field)


def _restore(kind: type[Series], form: Any, gaps: list[Gap], model: type[Model] | None,
             time_field: str) -> Series:
    if form is None or isinstance(form, tuple):
        return kind(form or (), gaps, model=model, time_field=time_field)
    return kind.from_table(form, gaps, model=model, time_field=time_field)
