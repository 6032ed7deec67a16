"""Binance kline rows straight into Arrow columns, without one Candle per row.

Every value read is handed to Arrow's checked casts; anything the fast path
refuses goes to :func:`~.parse.parse_klines`, so a bad payload raises exactly
that parser's :class:`~tradeflood.errors.PayloadError` and the table always
equals ``to_arrow(parse_klines(...))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeflood.columnar import CandleRows, Decimals, candle_rows_table
from tradeflood.models import Candle

from .parse import VENUE, parse_klines

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["candle_columns_binance"]

#: Kline rows: open time and close time as JSON integers, then open..volume, quote volume strings.
_ROWS = CandleRows(width=8, values=(1, 2, 3, 4, 5, 7), int_times=True, close_time=6)


def candle_columns_binance(
    rows: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int,
    exchange: str = VENUE, endpoint: str = "/api/v3/klines", decimals: Decimals = "exact",
) -> pa.Table:
    """Binance kline rows (spot or futures, as :func:`~.parse.parse_klines` takes them) as a
    Candle table, in the order sent, every value read checked.

    >>> table = candle_columns_binance(klines, symbol="BTC/USDT", native_symbol="BTCUSDT",
    ...                                interval="1m", received_ms=now_ms)  # doctest: +SKIP
    """
    def models() -> list[Candle]:
        return parse_klines(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                            received_ms=received_ms, endpoint=endpoint)

    return candle_rows_table(rows, _ROWS, models, exchange=exchange, symbol=symbol,
                             native_symbol=native_symbol, interval=interval, received_ms=received_ms,
                             endpoint=endpoint, decimals=decimals)
