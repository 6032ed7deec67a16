"""Candle tables as the form a candle history travels in: merged, cut to a range, and
turned into ``Candle`` models only when someone asks for models.

A candle table has the columns of ``arrow_schema(Candle)`` (see :mod:`._tables`):
the bulk parsers and the candle store make them, and a
:class:`~tradeflood.candles.CandleSeries` may be backed by one.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from tradeflood.models import Candle, trusted_builder

from ._arrow import require
from ._bulk import concat_candle_tables
from ._schema import columns_of

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_available", "candle_models", "is_progression", "merge_candle_tables", "open_times",
           "series_of", "strictly_increasing", "time_range"]

_FIELDS = [c.name for c in columns_of(Candle) if not c.computed]
_CANDLE_FIELDS = ["exchange", "symbol", "native_symbol", "interval", "open_time", "open", "high", "low",
                  "close", "volume", "quote_volume", "closed"]


@cache
def arrow_available() -> bool:
    """True when pyarrow can be imported, so candle histories may travel as columns."""
    try:
        require("pyarrow")
        require("pyarrow.compute")
    except ImportError:
        return False
    return True


def open_times(table: pa.Table) -> list[int]:
    """The table's open times, UTC milliseconds, in row order."""
    pa = require("pyarrow")
    column: list[int] = table.column("open_time").cast(pa.int64()).to_pylist()
    return column


def time_range(table: pa.Table, start: int, end: int) -> pa.Table:
    """The rows with ``start <= open_time < end`` (the table itself when all are inside)."""
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    if not table.num_rows:
        return table
    times = table.column("open_time").cast(pa.int64())
    lo, hi = pc.min_max(times).values()
    if lo.as_py() >= start and hi.as_py() < end:
        return table
    return table.filter(pc.and_(pc.greater_equal(times, start), pc.less(times, end)))


def is_progression(table: pa.Table, expected: range) -> bool:
    """True when the table's open times are exactly ``expected`` (in order), checked over the column."""
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    n = table.num_rows
    if n != len(expected):
        return False
    if not n:
        return True
    times = table.column("open_time").cast(pa.int64()).combine_chunks()
    if times[0].as_py() != expected.start:
        return False
    if n == 1:
        return True
    steps = pc.subtract(times.slice(1), times.slice(0, n - 1))
    return bool(pc.all(pc.equal(steps, expected.step)).as_py())


def series_of(table: pa.Table) -> tuple[str, str, str, str] | None:
    """(exchange, symbol, native_symbol, interval) when every row of the table has the same, else None."""
    pc = require("pyarrow.compute")
    out = []
    for name in ("exchange", "symbol", "native_symbol", "interval"):
        column = table.column(name)
        unique = pc.unique(column)
        if len(unique) != 1 or column.null_count:
            return None
        out.append(unique[0].as_py())
    return out[0], out[1], out[2], out[3]


def strictly_increasing(table: pa.Table) -> bool:
    """True when the table's open times strictly increase (sorted, each once)."""
    return _ascending(table) is not None or not table.num_rows


def _ascending(table: pa.Table) -> tuple[int, int] | None:
    """(first, last) open time when the table's open times strictly increase, else None."""
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    times = table.column("open_time").cast(pa.int64()).combine_chunks()
    n = len(times)
    if not n:
        return None
    if n > 1 and not pc.all(pc.greater(times.slice(1), times.slice(0, n - 1))).as_py():
        return None
    return times[0].as_py(), times[n - 1].as_py()


def merge_candle_tables(tables: Sequence[pa.Table], start: int, end: int) -> pa.Table:
    """Pages of one series as one table of ``[start, end)``: each open time once (a later
    page's row wins), in open-time order.

    Pages that already follow one another without overlap (the usual case: grid
    pages, or slices of one stored run) are only put end to end; otherwise
    :func:`concat_candle_tables` sorts and deduplicates.
    """
    pa = require("pyarrow")
    tables = [t for t in tables if t.num_rows]
    if not tables:
        from ._tables import arrow_schema

        return arrow_schema(Candle).empty_table()
    spans = [_ascending(t) for t in tables]
    known = [s for s in spans if s is not None]
    ordered = len(known) == len(spans) and all(a[1] < b[0] for a, b in pairwise(known))
    if not ordered:
        return time_range(concat_candle_tables(tables), start, end)
    if len(tables) == 1:
        return time_range(tables[0], start, end)
    try:
        merged = pa.concat_tables(tables)
    except pa.ArrowInvalid:  # decimal columns of different scales: widen them first
        merged = concat_candle_tables(tables)
    return time_range(merged, start, end).combine_chunks()


@cache
def _build() -> Any:
    return trusted_builder(Candle)


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


def candle_models(table: pa.Table) -> list[Candle]:
    """The ``Candle`` models of a candle table, in row order, built without re-validation
    (the table's values were checked when it was made).

    Decimals carry their column's scale (``42000.10`` in a two-place column):
    equal, as numbers, to what the venue sent.
    """
    n = table.num_rows
    if not n:
        return []
    # Building many dicts that hold no cycles: the cyclic collector would only rescan them
    # again and again as they pile up (about 40% of the time for a million candles).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _models(table, n)
    finally:
        if collecting:
            gc.enable()


def _models(table: pa.Table, n: int) -> list[Candle]:
    columns = [_values(table.column(name), n) for name in _FIELDS]
    build = _build()
    if _FIELDS != _CANDLE_FIELDS:  # a Candle with other fields: the general way
        return [build(dict(zip(_FIELDS, row, strict=True))) for row in zip(*columns, strict=True)]
    # A dict display per row is about twice as fast as dict(zip(names, row)).
    return [build({"exchange": e, "symbol": s, "native_symbol": ns, "interval": iv, "open_time": t,
                   "open": o, "high": h, "low": lo, "close": c, "volume": v, "quote_volume": q,
                   "closed": x})
            for e, s, ns, iv, t, o, h, lo, c, v, q, x in zip(*columns, strict=True)]
