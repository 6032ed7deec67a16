"""Columnar results: fetch results as Arrow tables, Polars and pandas frames.

Needs ``pyarrow`` (and ``polars`` or ``pandas`` for their frames), imported only
when a conversion runs. Two ways in:

- any list of models, through :func:`to_arrow` / :func:`to_polars` /
  :func:`to_pandas` or the :class:`ColumnarMixin` methods on a result;
- raw venue candle rows, straight into columns without one model per row:
  :func:`candle_columns_bitget`, :func:`candle_columns_binance`, and
  :func:`concat_candle_tables` to put pages together; a Bitget reply kept as
  bytes goes in without decoding its JSON in Python through
  :func:`candle_columns_bitget_body`::

    table = candle_columns_bitget(rows, symbol="BTC/USDT", native_symbol="BTCUSDT",
                                  interval="1m", received_ms=now_ms, spot=True)

Prices and sizes are exact ``decimal128(38, s)`` columns by default, ``s`` the
most decimal places in the column; ``decimals="float"`` gives ``float64``.
"""

from __future__ import annotations

from ._arrow import Decimals
from ._body import candle_columns_bitget_body
from ._bulk import candle_columns_binance, candle_columns_bitget, concat_candle_tables
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
    "arrow_schema",
    "candle_columns_binance",
    "candle_columns_bitget",
    "candle_columns_bitget_body",
    "concat_candle_tables",
    "from_arrow",
    "pandas_types",
    "table_to_pandas",
    "to_arrow",
    "to_pandas",
    "to_polars",
]
