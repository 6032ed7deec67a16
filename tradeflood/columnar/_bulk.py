"""Raw candle rows straight into Arrow columns, without one Candle per row: the pieces
any venue's column parser is built from.

A venue's column parser hands whole columns to Arrow: one string array for all
the fields read (:func:`row_columns` takes the payload apart), Arrow's casts
check that every open time is an integer and every price or volume a finite
decimal number (:func:`decimal_columns`), and :func:`candle_table` puts the
columns together. Anything the fast path does not accept (a short row, a number
where a string belongs, ``NaN``, spellings such as ``" 1.5"`` or ``1e-5``)
raises :class:`Refused`, and :func:`columns_or_models` hands the payload to the
venue's model parser instead: a bad payload raises exactly the
:class:`~tradeflood.errors.PayloadError` that parser raises (naming the row and
the field), and an unusual but valid one gives the table of its models. Either
way the table equals ``to_arrow(parse(...))``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from tradeflood.errors import PayloadError
from tradeflood.intervals import interval_end, interval_ms
from tradeflood.models import Candle

from ._arrow import Decimals, require
from ._schema import columns_of
from ._series import concat_tables
from ._tables import arrow_schema, decimal_type, to_arrow

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "Refused",
    "candle_table",
    "columns_or_models",
    "concat_candle_tables",
    "decimal_columns",
    "row_columns",
]

_FIELDS = [c.name for c in columns_of(Candle)]


class Refused(Exception):
    """Raised by a column parser's fast path for a payload it does not take; the model parser decides."""


def decimal_columns(strings: pa.Array, n: int, width: int, decimals: Decimals) -> list[pa.Array]:
    """The ``width`` n-long string columns end to end in ``strings`` as decimal (or float64)
    columns.

    Each column's scale is the most decimal places any of its values is written
    with (``1.50`` counts two), as :func:`to_arrow` picks for models: found in
    one pass, as the position of the point in each value read backwards.
    """
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    try:
        if decimals == "float":
            values = pc.cast(strings, pa.float64())
            if not pc.all(pc.is_finite(values)).as_py():
                raise Refused
            return [values.slice(i * n, n) for i in range(width)]
        places = pc.find_substring(pc.binary_reverse(strings.view(pa.binary())), ".")  # -1: no point
        return _cast_runs(strings, n, [max(0, pc.max(places.slice(i * n, n)).as_py()) for i in range(width)])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Refused from None  # not a plain decimal, or too wide: the model path decides


def _cast_runs(strings: pa.Array, n: int, scales: list[int]) -> list[pa.Array]:
    """Cast each column to ``decimal128(38, scale)``; adjacent columns of one scale
    (the four prices, usually) are cast at once."""
    pc = require("pyarrow.compute")
    out: list[Any] = []
    i = 0
    while i < len(scales):
        j = i + 1
        while j < len(scales) and scales[j] == scales[i]:
            j += 1
        run = pc.cast(strings.slice(i * n, (j - i) * n), decimal_type(scales[i]))
        out.extend(run.slice(k * n, n) for k in range(j - i))
        i = j
    return out


def candle_table(open_ms: pa.Array, prices: list[pa.Array], closed: pa.Array, *, exchange: str, symbol: str,
                 native_symbol: str, interval: str) -> pa.Table:
    """A Candle table from its open times (int64 ms), six value columns and closed flags."""
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    n = len(open_ms)
    zeros = _zeros(n)
    ts = pa.timestamp("ms", tz="UTC")
    if interval == "1M":
        ends = pa.array([interval_end(t, interval) for t in open_ms.to_pylist()], pa.int64())
    else:
        ends = pc.add(open_ms, _constant(interval_ms(interval), n))
    arrays = [pa.DictionaryArray.from_arrays(zeros, _word(value))
              for value in (exchange, symbol, native_symbol, interval)]
    arrays += [open_ms.view(ts), *prices, closed, ends.view(ts)]
    return pa.Table.from_arrays(arrays, schema=_schema_for(tuple(a.type for a in prices)))


# Built from buffers, not Python values: pyarrow imports pandas (when installed) the first
# time it converts Python values, ~0.3 s that reading a table from the store need not pay.
@lru_cache(maxsize=64)
def _word(value: str) -> pa.Array:
    """A one-value string dictionary (exchange, symbol, interval), made once."""
    pa = require("pyarrow")
    data = value.encode()
    offsets = (0).to_bytes(4, "little") + len(data).to_bytes(4, "little")
    return pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _constant(value: int, n: int) -> pa.Array:
    """``n`` copies of an int64."""
    pa = require("pyarrow")
    word = value.to_bytes(8, "little", signed=True)
    return pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(word * n)])


@lru_cache(maxsize=8)
def _zeros(n: int) -> pa.Array:
    """``n`` int32 zeros: the indices of a one-value dictionary column."""
    pa = require("pyarrow")
    return pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(bytes(4 * n))])


@lru_cache(maxsize=64)
def _schema_for(value_types: tuple[pa.DataType, ...]) -> pa.Schema:
    """The Candle schema with these six value column types."""
    schema = _candle_schema()
    types = dict(zip(["open", "high", "low", "close", "volume", "quote_volume"], value_types, strict=True))
    return require("pyarrow").schema([f.with_type(types[f.name]) if f.name in types else f for f in schema])


@cache
def _candle_schema() -> pa.Schema:
    return arrow_schema(Candle)


def row_columns(rows: Any, width: int) -> list[tuple[Any, ...]]:
    """A payload of rows (a list of arrays) as its columns, at least ``width`` of them (every
    row is that long), or :class:`Refused`."""
    if type(rows) is not list or set(map(type, rows)) != {list}:
        raise Refused
    cols = list(zip(*rows, strict=False))  # as many columns as the shortest row has fields
    if len(cols) < width:
        raise Refused
    return cols


def columns_or_models(fast: Callable[[], pa.Table], models: Callable[[], Sequence[Candle]], *,
                      exchange: str, decimals: Decimals = "exact", endpoint: str = "candles") -> pa.Table:
    """``fast()``, a venue's column parse, or when it raises :class:`Refused`, the table of the
    candles ``models()`` parses (which raises the venue's PayloadError for a bad payload).

    The model parser names its own venue; a table parsed for another ``exchange``
    (a regional variant reusing a parser) is relabelled. A value no exact column can
    hold (more than 76 digits, such as ``1e400``) is a PayloadError naming the row.
    """
    try:
        return fast()
    except Refused:
        candles = models()
        try:
            table = to_arrow(candles, decimals=decimals, model=Candle)
        except ValueError as exc:
            raise _beyond_columns(candles, exchange, endpoint, exc) from None
    if not len(table) or table.column("exchange")[0].as_py() == exchange:
        return table
    pa = require("pyarrow")
    column = pa.array([exchange] * len(table), pa.string()).dictionary_encode()
    return table.set_column(0, table.schema.field("exchange"), column)


def _beyond_columns(candles: Sequence[Candle], exchange: str, endpoint: str,
                    exc: ValueError) -> PayloadError:
    """The error naming the first candle value too large or too fine for an exact column."""
    for i, candle in enumerate(candles):
        for name, value in candle.__dict__.items():
            if isinstance(value, Decimal) and _digits(value) > 76:
                return PayloadError(exchange, endpoint, f"candle row {i}: {name} is {value}, which has "
                                    f"{_digits(value)} digits; an exact column holds 76 ({exc})", None)
    return PayloadError(exchange, endpoint, str(exc), None)


def _digits(value: Decimal) -> int:
    """Integer digits plus decimal places: what an exact decimal column must hold."""
    return max(value.adjusted() + 1, 0) + max(-int(value.as_tuple().exponent), 0)


def concat_candle_tables(tables: Sequence[pa.Table]) -> pa.Table:
    """Candle tables (pages) as one: each open time once (a later table's row wins, as
    when pages are merged into a CandleSeries), sorted by open time. Decimal columns take
    the largest scale among the tables (exact).

    >>> concat_candle_tables([page1, page2])  # doctest: +SKIP
    """
    return concat_tables(tables, "open_time", Candle)

