"""Tables of time series rows: cut to a time range, merged page by page, turned into models.

A series table has the columns of ``arrow_schema(model)`` and one time column
(``open_time`` for candles, ``timestamp`` for funding rates) in UTC ms. Every
function takes the name of that column, so candles and any other history of
immutable rows share one implementation.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from tradeflood.models import Model, trusted_builder

from ._arrow import require
from ._schema import columns_of
from ._tables import arrow_schema, decimal_type

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "arrow_available",
    "concat_tables",
    "is_progression",
    "merge_tables",
    "models_of",
    "time_range",
    "times_of",
    "warm_up",
]


@cache
def arrow_available() -> bool:
    """True when pyarrow can be imported, so histories may travel as columns."""
    try:
        require("pyarrow")
        require("pyarrow.compute")
    except ImportError:
        return False
    return True


def warm_up() -> bool:
    """Import pyarrow, and what it imports on its first conversion of Python values (pandas,
    when installed), now; False when pyarrow is missing. These imports hold the interpreter
    for seconds on a loaded machine: a live feed that will parse REST pages into tables
    (a candle stream's backfill after a reconnect) pays them before its socket opens, not
    while its pings are due."""
    if not arrow_available():
        return False
    require("pyarrow").array([0])
    return True


def _times(table: pa.Table, field: str) -> pa.Array:
    pa = require("pyarrow")
    return table.column(field).cast(pa.int64()).combine_chunks()


def times_of(table: pa.Table, field: str) -> list[int]:
    """The table's times (column ``field``), UTC milliseconds, in row order."""
    column: list[int] = _times(table, field).to_pylist()
    return column


def time_range(table: pa.Table, start: int, end: int, field: str) -> pa.Table:
    """The rows with ``start <= field < end`` (the table itself when all are inside; a
    zero-copy slice of it when its times increase, as a merged history's do)."""
    pc = require("pyarrow.compute")
    n = table.num_rows
    if not n:
        return table
    times = _times(table, field)
    lo, hi = pc.min_max(times).values()
    if lo.as_py() >= start and hi.as_py() < end:
        return table
    if n == 1 or pc.all(pc.greater(times.slice(1), times.slice(0, n - 1))).as_py():
        first = pc.sum(pc.less(times, start)).as_py() or 0
        stop = pc.sum(pc.less(times, end)).as_py() or 0
        return table.slice(first, max(0, stop - first))
    return table.filter(pc.and_(pc.greater_equal(times, start), pc.less(times, end)))


def is_progression(table: pa.Table, expected: range, field: str) -> bool:
    """True when the table's times are exactly ``expected`` (in order), checked over the column."""
    pc = require("pyarrow.compute")
    n = table.num_rows
    if n != len(expected):
        return False
    if not n:
        return True
    times = _times(table, field)
    if times[0].as_py() != expected.start:
        return False
    if n == 1:
        return True
    steps = pc.subtract(times.slice(1), times.slice(0, n - 1))
    return bool(pc.all(pc.equal(steps, expected.step)).as_py())


def ascending(table: pa.Table, field: str) -> tuple[int, int] | None:
    """(first, last) time when the table's times strictly increase, else None."""
    pc = require("pyarrow.compute")
    times = _times(table, field)
    n = len(times)
    if not n:
        return None
    if n > 1 and not pc.all(pc.greater(times.slice(1), times.slice(0, n - 1))).as_py():
        return None
    return times[0].as_py(), times[n - 1].as_py()


def concat_tables(tables: Sequence[pa.Table], field: str, model: type[Model]) -> pa.Table:
    """Pages as one table: each time once (a later table's row wins), sorted by time.
    Decimal columns take the largest scale among the tables (exact)."""
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    if not tables:
        return arrow_schema(model).empty_table()

    def widest(wide: bool) -> Any:
        fields = []
        for column in tables[0].schema:
            types = {t.schema.field(column.name).type for t in tables}
            if len(types) > 1 and all(pa.types.is_decimal(t) for t in types):
                scale = max(t.scale for t in types)
                wide = wide or any(pa.types.is_decimal256(t) for t in types)
                column = column.with_type(decimal_type(scale, 76 if wide else 0))
            fields.append(column)
        return pa.schema(fields)

    try:
        table = pa.concat_tables([t.cast(widest(False)) for t in tables])
    except pa.ArrowInvalid:  # a larger scale pushed some value past 38 digits
        table = pa.concat_tables([t.cast(widest(True)) for t in tables])
    position = pa.array(range(len(table)), pa.int64())
    last = (table.select([field]).append_column("_position", position)
            .group_by(field, use_threads=False).aggregate([("_position", "max")]))
    keep = pc.sort_indices(pc.take(table.column(field), last.column("_position_max")))
    return table.take(pc.take(last.column("_position_max"), keep)).combine_chunks()


def merge_tables(tables: Sequence[pa.Table], start: int, end: int, field: str,
                 model: type[Model]) -> pa.Table:
    """Pages of one series as one table of ``[start, end)``: each time once (a later
    page's row wins), in time order.

    Pages that already follow one another without overlap (the usual case: grid
    pages, or slices of one stored run) are only put end to end; otherwise
    :func:`concat_tables` sorts and deduplicates.
    """
    pa = require("pyarrow")
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return arrow_schema(model).empty_table()
    spans = [ascending(t, field) for t in tables]
    known = [s for s in spans if s is not None]
    ordered = len(known) == len(spans) and all(a[1] < b[0] for a, b in pairwise(known))
    if not ordered:
        return time_range(concat_tables(tables, field, model), start, end, field)
    if len(tables) == 1:
        return time_range(tables[0], start, end, field)
    try:
        merged = pa.concat_tables(tables)  # the pages' own buffers, as chunks: no copy
    except pa.ArrowInvalid:  # decimal columns of different scales: widen them first
        merged = concat_tables(tables, field, model)
    return time_range(merged, start, end, field)


_BUILDERS: dict[type[Model], Callable[[dict[str, Any]], Any]] = {}


def _builder(model: type[Model]) -> Callable[[dict[str, Any]], Any]:
    build = _BUILDERS.get(model)
    if build is None:
        build = _BUILDERS[model] = trusted_builder(model)
    return build


def _values(column: pa.ChunkedArray, n: int) -> list[Any]:
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    kind = column.type
    if pa.types.is_dictionary(kind):
        unique = pc.unique(column)
        if len(unique) == 1 and column.null_count == 0:
            return [unique[0].as_py()] * n
    if pa.types.is_timestamp(kind):
        column = column.cast(pa.int64())
    if pa.types.is_decimal(kind):  # through text: twice as fast as Arrow's own Decimal objects
        return [None if v is None else Decimal(v) for v in column.cast(pa.string()).to_pylist()] \
            if column.null_count else list(map(Decimal, column.cast(pa.string()).to_pylist()))
    values: list[Any] = column.to_pylist()
    if pa.types.is_floating(kind):
        values = [None if v is None else Decimal(repr(v)) for v in values]
    return values


def models_of(table: pa.Table, model: type[Model]) -> list[Any]:
    """The models of a table, in row order, built without re-validation (the table's
    values were checked when it was made). Decimals carry their column's scale."""
    n = table.num_rows
    if not n:
        return []
    names = [c.name for c in columns_of(model) if not c.computed]
    # Building many dicts that hold no cycles: the cyclic collector would only rescan them
    # again and again as they pile up (about 40% of the time for a million rows).
    collecting = gc.isenabled()
    gc.disable()
    try:
        columns = [_values(table.column(name), n) for name in names]
        build = _builder(model)
        return [build(dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True)]
    finally:
        if collecting:
            gc.enable()
