"""Raw venue candle rows straight into Arrow columns, without one Candle per row.

The fast path hands whole columns to Arrow: one string array for all the fields
read, Arrow's casts check that every open time is an integer and every price or
volume a finite decimal number, and closed flags and close times are computed
over the columns. Anything the fast path does not accept (a short row, a number
where a string belongs, ``NaN``, spellings such as ``" 1.5"`` or ``1e-5``) is
handed to the venue's model parser: a bad payload raises exactly the
:class:`~tradeflood.errors.PayloadError` that parser raises (naming the row and
the field), and an unusual but valid one gives the table of its models. Either
way the table equals ``to_arrow(parse_candles(...))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache
from itertools import chain
from typing import TYPE_CHECKING, Any

from tradeflood.intervals import interval_end, interval_ms
from tradeflood.models import Candle

from ._arrow import Decimals, check_decimals, require
from ._schema import columns_of
from ._tables import arrow_schema, decimal_type, to_arrow

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["candle_columns_binance", "candle_columns_bitget", "concat_candle_tables"]

_FIELDS = [c.name for c in columns_of(Candle)]


class Refused(Exception):
    """The fast path does not take this payload; the model parser decides."""


def decimals_of(strings: pa.Array, n: int, width: int, decimals: Decimals) -> list[pa.Array]:
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


def _rows(rows: Any, width: int) -> list[tuple[Any, ...]]:
    """The payload's columns (at least ``width`` of them: every row is that long), or Refused."""
    if type(rows) is not list or set(map(type, rows)) != {list}:
        raise Refused
    cols = list(zip(*rows, strict=False))  # as many columns as the shortest row has fields
    if len(cols) < width:
        raise Refused
    return cols


def candle_columns_bitget(
    rows: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int, spot: bool,
    exchange: str = "bitget", endpoint: str = "candles", decimals: Decimals = "exact",
) -> pa.Table:
    """Bitget candle rows (spot or mix, as :func:`tradeflood.bindings.bitget.parse_candles`
    takes them) as a Candle table, in the order sent, every value checked.

    >>> table = candle_columns_bitget(rows, symbol="BTC/USDT", native_symbol="BTCUSDT",
    ...                               interval="1m", received_ms=now_ms, spot=True)  # doctest: +SKIP
    """
    from tradeflood.bindings.bitget import parse_candles

    check_decimals(decimals)
    names = {"exchange": exchange, "symbol": symbol, "native_symbol": native_symbol, "interval": interval}
    try:
        if type(rows) is list and not rows:
            return arrow_schema(Candle, decimals).empty_table()
        pa, pc = require("pyarrow"), require("pyarrow.compute")
        q = 7 if spot else 6
        cols = _rows(rows, q + 1)
        n = len(rows)
        # Spot column 6 (the USDT volume) is not kept, but is checked like the rest; when it
        # repeats the quote volume (as Bitget sends it), that column's check covers it.
        extra = cols[6:7] if spot and cols[6] != cols[7] else []
        picked = [*cols[1:6], cols[q], *extra]
        try:
            strings = pa.array(list(chain(cols[0], *picked)), pa.string())
            open_ms = pc.cast(strings.slice(0, n), pa.int64())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise Refused from None
        prices = decimals_of(strings.slice(n), n, len(picked), decimals)[:6]
        if interval == "1M":
            closed = pa.array([interval_end(t, interval) <= received_ms for t in open_ms.to_pylist()])
        else:
            closed = pc.less_equal(open_ms, received_ms - interval_ms(interval))
        return candle_table(open_ms, prices, closed, **names)
    except Refused:
        candles = parse_candles(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                                received_ms=received_ms, spot=spot, endpoint=endpoint)
        return _retag(to_arrow(candles, decimals=decimals, model=Candle), exchange)


def _retag(table: pa.Table, exchange: str) -> pa.Table:
    if not len(table) or table.column("exchange")[0].as_py() == exchange:
        return table
    pa = require("pyarrow")
    column = pa.array([exchange] * len(table), pa.string()).dictionary_encode()
    return table.set_column(0, table.schema.field("exchange"), column)


def candle_columns_binance(
    rows: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int,
    exchange: str = "binance", endpoint: str = "/api/v3/klines", decimals: Decimals = "exact",
) -> pa.Table:
    """Binance kline rows (spot or futures, as :func:`tradeflood.bindings.binance.parse_klines`
    takes them) as a Candle table, in the order sent, every value read checked.

    >>> table = candle_columns_binance(klines, symbol="BTC/USDT", native_symbol="BTCUSDT",
    ...                                interval="1m", received_ms=now_ms)  # doctest: +SKIP
    """
    from tradeflood.bindings.binance import parse_klines

    check_decimals(decimals)
    names = {"exchange": exchange, "symbol": symbol, "native_symbol": native_symbol, "interval": interval}
    try:
        if type(rows) is list and not rows:
            return arrow_schema(Candle, decimals).empty_table()
        pa, pc = require("pyarrow"), require("pyarrow.compute")
        cols = _rows(rows, 8)
        n = len(rows)
        try:
            # Inferred, not cast: only an all-int column infers as int64 (floats and
            # strings do not; bools are refused).
            times = pa.array(list(chain(cols[0], cols[6])))
            strings = pa.array(list(chain(*cols[1:6], cols[7])), pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            raise Refused from None
        if times.type != pa.int64() or pc.min(times.slice(0, n)).as_py() < 0:
            raise Refused
        prices = decimals_of(strings, n, 6, decimals)
        closed = pc.less(times.slice(n, n), received_ms)
        return candle_table(times.slice(0, n), prices, closed, **names)
    except Refused:
        candles = parse_klines(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                               received_ms=received_ms, endpoint=endpoint)
        return _retag(to_arrow(candles, decimals=decimals, model=Candle), exchange)


def concat_candle_tables(tables: Sequence[pa.Table]) -> pa.Table:
    """Candle tables (pages) as one: each open time once (a later table's row wins, as
    when pages are merged into a CandleSeries), sorted by open time. Decimal columns take
    the largest scale among the tables (exact).

    >>> concat_candle_tables([page1, page2])  # doctest: +SKIP
    """
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    if not tables:
        return arrow_schema(Candle).empty_table()

    def widest(wide: bool) -> Any:
        fields = []
        for field in tables[0].schema:
            types = {t.schema.field(field.name).type for t in tables}
            if len(types) > 1 and all(pa.types.is_decimal(t) for t in types):
                scale = max(t.scale for t in types)
                wide = wide or any(pa.types.is_decimal256(t) for t in types)
                field = field.with_type(decimal_type(scale, 76 if wide else 0))
            fields.append(field)
        return pa.schema(fields)

    try:
        table = pa.concat_tables([t.cast(widest(False)) for t in tables])
    except pa.ArrowInvalid:  # a larger scale pushed some value past 38 digits
        table = pa.concat_tables([t.cast(widest(True)) for t in tables])
    position = pa.array(range(len(table)), pa.int64())
    last = (table.select(["open_time"]).append_column("_position", position)
            .group_by("open_time", use_threads=False).aggregate([("_position", "max")]))
    keep = pc.sort_indices(pc.take(table.column("open_time"), last.column("_position_max")))
    return table.take(pc.take(last.column("_position_max"), keep)).combine_chunks()

