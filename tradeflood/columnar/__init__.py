"""Columnar results: fetch results as Arrow tables, Polars and pandas frames.

Needs ``pyarrow`` (and ``polars`` or ``pandas`` for their frames), imported only
when a conversion runs. Two ways in:

- any list of models, through :func:`to_arrow` / :func:`to_polars` /
  :func:`to_pandas` or the :class:`ColumnarMixin` methods on a result;
- raw candle rows, straight into columns without one model per row, through a
  venue's column parser (each built-in venue ships one next to its bindings),
  and :func:`concat_candle_tables` to put pages together.

A venue's column parser is built from the pieces exported here: take the rows
apart with :func:`row_columns` (or :func:`string_rows_in_body` for a reply's raw
bytes), cast the values with :func:`decimal_columns`, assemble with
:func:`candle_table`, raise :class:`Refused` for anything unusual, and let
:func:`columns_or_models` fall back to the venue's model parser::

    def candle_columns(rows, *, symbol, native_symbol, interval, received_ms, decimals="exact"):
        def fast():
            pa, pc = require("pyarrow"), require("pyarrow.compute")
            cols = row_columns(rows, 6)
            ...
            return candle_table(open_ms, prices, closed, exchange="example", symbol=symbol,
                                native_symbol=native_symbol, interval=interval)

        return columns_or_models(fast, lambda: parse_candles(rows, ...), exchange="example")

Prices and sizes are exact ``decimal128(38, s)`` columns by default, ``s`` the
most decimal places in the column; ``decimals="float"`` gives ``float64``.
"""

from __future__ import annotations

from ._arrow import Decimals, check_decimals, require
from ._body import string_rows_in_body
from ._bulk import (
    Refused,
    candle_table,
    columns_or_models,
    concat_candle_tables,
    decimal_columns,
    row_columns,
)
from ._tables import (
    ColumnarMixin,
    arrow_schema,
    from_arrow,
    pandas_types,
    table_to_pandas,
    to_arrow,
    to_pandas,
    to_polars,
)

__all__ = [
    "ColumnarMixin",
    "Decimals",
    "Refused",
    "arrow_schema",
    "candle_table",
    "check_decimals",
    "columns_or_models",
    "concat_candle_tables",
    "decimal_columns",
    "from_arrow",
    "pandas_types",
    "require",
    "row_columns",
    "string_rows_in_body",
    "table_to_pandas",
    "to_arrow",
    "to_pandas",
    "to_polars",
]
