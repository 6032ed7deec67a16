"""Model lists as Arrow tables (and Polars and pandas frames), and back.

Column types, read from each model's fields (see :func:`arrow_schema`):

- int UTC-millisecond fields (``open_time``, ``timestamp``, ``listed_at``, the
  computed ``close_time``) -> ``timestamp[ms, tz=UTC]``;
- ``Decimal`` fields -> ``decimal128(38, s)``, ``s`` the most decimal places any
  value of the column has (exact; ``decimal256(76, s)`` past 38 digits), or
  ``float64`` with ``decimals="float"``;
- exchange, symbols, interval, base/quote/settle and Literal fields (``side``,
  ``kind``) -> ``dictionary<int32, string>``; other text (trade ids) -> string;
- bools -> bool, other ints -> int64.

An :class:`~tradeflood.models.OrderBook` becomes a long table, one row per level:
exchange, symbol, native_symbol, timestamp, sequence, side (``bid``/``ask``),
level (0 = best), price, size.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, cast

from tradeflood.models import Model, OrderBook

from ._arrow import Decimals, check_decimals, require
from ._schema import Column, columns_of

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

__all__ = ["ColumnarMixin", "arrow_schema", "decimal_type", "from_arrow", "pandas_types",
           "table_to_pandas", "to_arrow", "to_pandas", "to_polars"]

_BOOK_COLUMNS: tuple[Column, ...] = (
                 Column("exchange", "category", False), Column("symbol", "category", False),
                 Column("native_symbol", "category", False), Column("timestamp", "timestamp", False),
                 Column("sequence", "int", True), Column("side", "category", False),
                 Column("level", "level", False), Column("price", "decimal", False),
                 Column("size", "decimal", False))


def decimal_type(scale: int, digits: int = 0) -> pa.DataType:
    """``decimal128(38, scale)``, or ``decimal256(76, scale)`` when ``digits`` (integer
    digits plus ``scale``) pass 38."""
    pa = require("pyarrow")
    if digits <= 38:
        return pa.decimal128(38, scale)
    if digits <= 76:
        return pa.decimal256(76, scale)
    raise ValueError(f"a decimal column needs {digits} digits, more than Arrow holds (76); "
                     "use decimals='float'")


def _arrow_type(column: Column, decimals: Decimals, scale: int = 0, digits: int = 0) -> pa.DataType:
    pa = require("pyarrow")
    kind = column.kind
    if kind == "decimal":
        return pa.float64() if decimals == "float" else decimal_type(scale, digits)
    return {"timestamp": pa.timestamp("ms", tz="UTC"), "int": pa.int64(), "bool": pa.bool_(),
            "category": pa.dictionary(pa.int32(), pa.string()), "text": pa.string(),
            "level": pa.int32()}[kind]


def arrow_schema(model: type[Model], decimals: Decimals = "exact",
                 scales: dict[str, int] | None = None) -> pa.Schema:
    """The Arrow schema of ``model``'s table; ``scales`` gives decimal columns' scales (default 0).

    >>> from tradeflood.models import Candle
    >>> str(arrow_schema(Candle).field("open_time").type)  # doctest: +SKIP
    'timestamp[ms, tz=UTC]'
    """
    pa = require("pyarrow")
    cols = _BOOK_COLUMNS if issubclass(model, OrderBook) else columns_of(model)
    scales = scales or {}
    return pa.schema([pa.field(c.name, _arrow_type(c, decimals, scales.get(c.name, 0)), c.nullable)
                      for c in cols])


def _decimal_array(values: list[Any], name: str, decimals: Decimals) -> pa.Array:
    pa = require("pyarrow")
    if decimals == "float":
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    scale = whole = 0
    for i, v in enumerate(values):
        if v is None:
            continue
        exponent = v.as_tuple().exponent
        if not isinstance(exponent, int):
            raise ValueError(f"{name} of item {i} is {v}, which has no exact decimal column form; "
                             "use decimals='float'")
        scale = max(scale, -exponent)
        whole = max(whole, v.adjusted() + 1)
    return pa.array(values, decimal_type(scale, whole + scale))


def _array(column: Column, values: list[Any], decimals: Decimals) -> pa.Array:
    pa = require("pyarrow")
    if column.kind == "decimal":
        return _decimal_array(values, column.name, decimals)
    if column.kind == "category":
        return pa.array(values, pa.string()).dictionary_encode()
    return pa.array(values, _arrow_type(column, decimals))


def _book_rows(books: Sequence[OrderBook]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {c.name: [] for c in _BOOK_COLUMNS}
    for book in books:
        for side, levels in (("bid", book.bids), ("ask", book.asks)):
            for level, (price, size) in enumerate(levels):
                for name, value in (("exchange", book.exchange), ("symbol", book.symbol),
                                    ("native_symbol", book.native_symbol), ("timestamp", book.timestamp),
                                    ("sequence", book.sequence), ("side", side), ("level", level),
                                    ("price", price), ("size", size)):
                    out[name].append(value)
    return out


def to_arrow(items: Sequence[Model], *, decimals: Decimals = "exact",
             model: type[Model] | None = None) -> pa.Table:
    """A list of models (all of one class) as an Arrow table, one row per model
    (per book level for order books); column types as in the module docstring.

    ``model`` gives the schema of an empty list (else the table has no columns).

    >>> table = to_arrow(candles)  # doctest: +SKIP
    >>> table.schema.field("open").type  # doctest: +SKIP
    Decimal128Type(decimal128(38, 2))
    """
    check_decimals(decimals)
    pa = require("pyarrow")
    if items:
        model = type(items[0])
        if any(type(item) is not model for item in items):
            kinds = sorted({type(item).__name__ for item in items})
            raise TypeError(f"to_arrow takes models of one class, got {', '.join(kinds)}")
    if model is None:
        return pa.table({})
    if issubclass(model, OrderBook):
        # every item is of this one class (checked above): books, each of them
        cols, data = _BOOK_COLUMNS, _book_rows(cast(Sequence[OrderBook], items))
    else:
        cols = columns_of(model)
        dicts = [item.__dict__ for item in items]
        data = {c.name: ([getattr(i, c.name) for i in items] if c.computed else [d[c.name] for d in dicts])
                for c in cols}
    arrays = [_array(c, data[c.name], decimals) for c in cols]
    return pa.Table.from_arrays(arrays, schema=pa.schema(
        [pa.field(c.name, a.type, c.nullable) for c, a in zip(cols, arrays, strict=True)]))


def to_polars(items: Sequence[Model], *, decimals: Decimals = "exact",
              model: type[Model] | None = None) -> pl.DataFrame:
    """The models as a Polars frame: ``pl.Decimal(38, s)`` (or ``Float64``), ``Datetime("ms",
    "UTC")``, ``Categorical`` for dictionary columns, ``String``, ``Boolean``, ``Int64``."""
    frame: pl.DataFrame = require("polars").from_arrow(to_arrow(items, decimals=decimals, model=model))
    return frame


def pandas_types(pa_type: pa.DataType) -> Any:
    """The pandas dtype of an Arrow column type: exact decimals stay Arrow-backed
    (``pd.ArrowDtype(decimal128(38, s))``, values are ``Decimal``), ints are nullable
    ``Int64``/``Int32``; everything else takes pandas' default (``datetime64[ms, UTC]``,
    ``category``, ``bool``, ``float64``, strings)."""
    pd = require("pandas")
    pa = require("pyarrow")
    if pa.types.is_decimal(pa_type):
        return pd.ArrowDtype(pa_type)
    if pa_type == pa.int64():
        return pd.Int64Dtype()
    if pa_type == pa.int32():
        return pd.Int32Dtype()
    return None


def to_pandas(items: Sequence[Model], *, decimals: Decimals = "exact",
              model: type[Model] | None = None) -> pd.DataFrame:
    """The models as a pandas frame, through Arrow; dtypes as :func:`pandas_types` says
    (``decimals="float"`` gives plain ``float64`` price columns)."""
    return table_to_pandas(to_arrow(items, decimals=decimals, model=model))


def table_to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table from this package as a pandas frame, dtypes as :func:`pandas_types` says."""
    return table.to_pandas(types_mapper=pandas_types)


def _python_rows(table: pa.Table) -> list[dict[str, Any]]:
    pa = require("pyarrow")
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        values = column.to_pylist()
        if pa.types.is_floating(column.type):
            values = [None if v is None else Decimal(repr(v)) for v in values]
        columns[name] = values
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def from_arrow(table: pa.Table, model: type[Model]) -> list[Model]:
    """Models back from a table :func:`to_arrow` made (validated; computed columns are
    dropped; float columns are read through their shortest repr). Order-book tables
    regroup consecutive levels of one (symbol, timestamp, sequence) into a book."""
    if issubclass(model, OrderBook):
        return _books(_python_rows(table), model)
    names = [c.name for c in columns_of(model) if not c.computed and c.name in table.column_names]
    return [model(**row) for row in _python_rows(table.select(names))]


def _books(rows: list[dict[str, Any]], model: type[OrderBook]) -> list[Model]:
    books: list[Model] = []
    current: dict[str, Any] | None = None
    for row in rows:
        key = {k: row[k] for k in ("exchange", "symbol", "native_symbol", "timestamp", "sequence")}
        side = "bids" if row["side"] == "bid" else "asks"
        # A new key, or a side's best level again, starts the next book.
        if current is None or {k: current[k] for k in key} != key or (row["level"] == 0 and current[side]):
            if current is not None:
                books.append(model(**current))
            current = {**key, "bids": [], "asks": []}
        current[side].append((row["price"], row["size"]))
    if current is not None:
        books.append(model(**current))
    return books


class ColumnarMixin:
    """Adds ``to_arrow``/``to_polars``/``to_pandas`` to a list of models (a fetch result).

    ``columnar_model`` names the model for the schema of an empty result.

    >>> class Candles(ColumnarMixin, list): columnar_model = Candle  # doctest: +SKIP
    >>> Candles(candles).to_polars()  # doctest: +SKIP
    """

    columnar_model: ClassVar[type[Model] | None] = None

    def to_arrow(self, decimals: Decimals = "exact") -> pa.Table:
        """This result as an Arrow table; see :func:`to_arrow`."""
        return to_arrow(cast(Sequence[Model], self), decimals=decimals, model=self.columnar_model)

    def to_polars(self, decimals: Decimals = "exact") -> pl.DataFrame:
        """This result as a Polars frame; see :func:`to_polars`."""
        return to_polars(cast(Sequence[Model], self), decimals=decimals, model=self.columnar_model)

    def to_pandas(self, decimals: Decimals = "exact") -> pd.DataFrame:
        """This result as a pandas frame; see :func:`to_pandas`."""
        return to_pandas(cast(Sequence[Model], self), decimals=decimals, model=self.columnar_model)
