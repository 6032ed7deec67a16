"""Columnar results: fetch results as Arrow tables, Polars and pandas frames.

Needs ``pyarrow`` (and ``polars`` or ``pandas`` for their frames), imported only
when a conversion runs. Two ways in:

- any list of models, through :func:`to_arrow` / :func:`to_polars` /
  :func:`to_pandas` or the :class:`ColumnarMixin` methods on a result;
- raw candle rows, straight into columns without one model per row, through a
  venue's column parser (each built-in venue ships one next to its bindings),
  and :func:`concat_candle_tables` to put pages together.

A venue whose candle page is a list of arrays says where each field sits
(:class:`CandleRows`) and hands the decoded rows to :func:`candle_rows_table`,
with its model parser for anything unusual::

    ROWS = CandleRows(width=7, values=(1, 2, 3, 4, 5, 6))  # open time first, strings

    def candle_columns(rows, *, symbol, native_symbol, interval, received_ms, decimals="exact"):
        return candle_rows_table(rows, ROWS, lambda: parse_candles(rows, ...), exchange="example",
                                 symbol=symbol, native_symbol=native_symbol, interval=interval,
                                 received_ms=received_ms, decimals=decimals)

Other shapes are built from the pieces it is made of: take the rows apart with
:func:`row_columns` (or :func:`string_rows_in_body` for a reply's raw bytes),
cast the values with :func:`decimal_columns`, assemble with :func:`candle_table`
(closed flags from :func:`closed_by_end`), raise :class:`Refused` for anything
unusual, and let :func:`columns_or_models` fall back to the venue's model parser.

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
from ._rows import CandleRows, candle_rows_table, closed_by_end
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
    "CandleRows",
    "ColumnarMixin",
    "Decimals",
    "Refused",
    "arrow_schema",
    "candle_rows_table",
    "candle_table",
    "check_decimals",
    "closed_by_end",
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
