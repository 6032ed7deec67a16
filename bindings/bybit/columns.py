"""Bybit kline rows straight into Arrow columns, without one Candle per row.

Every value is handed to Arrow's checked casts; anything the fast path refuses
goes to :func:`~.parse.parse_candles`, so a bad payload raises exactly that
parser's :class:`~tradeflood.errors.PayloadError` and the table always equals
``to_arrow(parse_candles(...))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeflood.columnar import CandleRows, Decimals, candle_rows_table
from tradeflood.models import Candle

from .parse import EXCHANGE, parse_candles

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["candle_columns_bybit"]

# startTime, open, high, low, close, volume, turnover; newest first.
_ROWS = CandleRows(width=7, values=(1, 2, 3, 4, 5, 6), newest_first=True)


def candle_columns_bybit(
    payload: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int,
    exchange: str = EXCHANGE, endpoint: str = "kline", decimals: Decimals = "exact",
) -> pa.Table:
    """A ``kline`` result (or its ``list``, newest first) as a Candle table, oldest first.

    >>> table = candle_columns_bybit(result, symbol="BTC/USDT", native_symbol="BTCUSDT",
    ...                              interval="1m", received_ms=now_ms)  # doctest: +SKIP
    """
    def models() -> list[Candle]:
        return parse_candles(payload, symbol=symbol, native_symbol=native_symbol, interval=interval,
                             received_ms=received_ms, endpoint=endpoint)

    rows = payload.get("list") if type(payload) is dict else payload
    return candle_rows_table(rows, _ROWS, models, exchange=exchange, symbol=symbol,
                             native_symbol=native_symbol, interval=interval, received_ms=received_ms,
                             endpoint=endpoint, decimals=decimals)
