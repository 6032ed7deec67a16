"""OKX candle rows straight into Arrow columns, without one Candle per row.

Every value is handed to Arrow's checked casts; anything the fast path refuses
(a bad value, a ``confirm`` other than "0"/"1", rows out of order) goes to
:func:`~.parse.parse_candles`, so a bad payload raises exactly that parser's
:class:`~tradeflood.errors.PayloadError` and the table always equals
``to_arrow(parse_candles(...))``.
"""

from __future__ import annotations

from itertools import chain
from typing import TYPE_CHECKING, Any

from tradeflood.columnar import (
    Decimals,
    Refused,
    arrow_schema,
    candle_table,
    check_decimals,
    columns_or_models,
    decimal_columns,
    require,
    row_columns,
)
from tradeflood.models import Candle

from .parse import EXCHANGE, parse_candles

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["candle_columns_okx"]


def candle_columns_okx(
    rows: Any, *, symbol: str, native_symbol: str, interval: str, spot: bool,
    exchange: str = EXCHANGE, endpoint: str = "candles", decimals: Decimals = "exact",
) -> pa.Table:
    """OKX candle rows (newest first, as sent) as a Candle table, oldest first, every value checked.

    >>> table = candle_columns_okx(rows, symbol="BTC/USDT", native_symbol="BTC-USDT",
    ...                            interval="1m", spot=True)  # doctest: +SKIP
    """
    check_decimals(decimals)

    def fast() -> pa.Table:
        if type(rows) is list and not rows:
            return arrow_schema(Candle, decimals).empty_table()
        if type(rows) is not list:
            raise Refused
        pa, pc = require("pyarrow"), require("pyarrow.compute")
        cols = row_columns(rows[::-1], 9)
        n = len(rows)
        if any(flag not in ("0", "1") for flag in cols[8]):
            raise Refused
        v = 5 if spot else 6
        try:
            strings = pa.array(list(chain(cols[0], *cols[1:5], cols[v], cols[7])), pa.string())
            open_ms = pc.cast(strings.slice(0, n), pa.int64())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise Refused from None
        if n > 1 and not pc.all(pc.greater(open_ms.slice(1), open_ms.slice(0, n - 1))).as_py():
            raise Refused  # out of order: the model parse sorts
        prices = decimal_columns(strings.slice(n), n, 6, decimals)
        closed = pa.array([flag == "1" for flag in cols[8]])
        return candle_table(open_ms, prices, closed, exchange=exchange, symbol=symbol,
                            native_symbol=native_symbol, interval=interval)

    def models() -> list[Candle]:
        return parse_candles(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                             spot=spot, endpoint=endpoint)

    return columns_or_models(fast, models, exchange=exchange, decimals=decimals)
