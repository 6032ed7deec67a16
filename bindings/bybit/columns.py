"""Bybit kline rows straight into Arrow columns, without one Candle per row.

Every value is handed to Arrow's checked casts; anything the fast path refuses
goes to :func:`~.parse.parse_candles`, so a bad payload raises exactly that
parser's :class:`~tradeflood.errors.PayloadError` and the table always equals
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
from tradeflood.intervals import interval_end, interval_ms
from tradeflood.models import Candle

from .parse import EXCHANGE, parse_candles

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["candle_columns_bybit"]


def candle_columns_bybit(
    payload: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int,
    exchange: str = EXCHANGE, endpoint: str = "kline", decimals: Decimals = "exact",
) -> pa.Table:
    """A ``kline`` result (or its ``list``, newest first) as a Candle table, oldest first.

    >>> table = candle_columns_bybit(result, symbol="BTC/USDT", native_symbol="BTCUSDT",
    ...                              interval="1m", received_ms=now_ms)  # doctest: +SKIP
    """
    check_decimals(decimals)

    def fast() -> pa.Table:
        rows = payload.get("list") if type(payload) is dict else payload
        if type(rows) is not list:
            raise Refused
        if not rows:
            return arrow_schema(Candle, decimals).empty_table()
        pa, pc = require("pyarrow"), require("pyarrow.compute")
        cols = row_columns(rows[::-1], 7)
        n = len(rows)
        try:
            strings = pa.array(list(chain(*cols)), pa.string())
            open_ms = pc.cast(strings.slice(0, n), pa.int64())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise Refused from None
        if n > 1 and not pc.all(pc.greater(open_ms.slice(1), open_ms.slice(0, n - 1))).as_py():
            raise Refused  # out of order: the model parse sorts
        prices = decimal_columns(strings.slice(n), n, 6, decimals)
        if interval == "1M":
            closed = pa.array([interval_end(t, interval) <= received_ms for t in open_ms.to_pylist()])
        else:
            closed = pc.less_equal(open_ms, received_ms - interval_ms(interval))
        return candle_table(open_ms, prices, closed, exchange=exchange, symbol=symbol,
                            native_symbol=native_symbol, interval=interval)

    def models() -> list[Candle]:
        return parse_candles(payload, symbol=symbol, native_symbol=native_symbol, interval=interval,
                             received_ms=received_ms, endpoint=endpoint)

    return columns_or_models(fast, models, exchange=exchange, decimals=decimals)
