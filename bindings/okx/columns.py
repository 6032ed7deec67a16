"""OKX candle rows straight into Arrow columns, without one Candle per row.

Every value is handed to Arrow's checked casts; anything the fast path refuses
(a bad value, a ``confirm`` other than "0"/"1", rows out of order) goes to
:func:`~.parse.parse_candles`, so a bad payload raises exactly that parser's
:class:`~tradeflood.errors.PayloadError` and the table always equals
``to_arrow(parse_candles(...))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeflood.columnar import CandleRows, Decimals, candle_rows_table
from tradeflood.models import Candle

from .parse import EXCHANGE, parse_candles

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["candle_columns_okx"]

# ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm; newest first. Volume in base: vol on
# spot, volCcy on swaps.
_SPOT_ROWS = CandleRows(width=9, values=(1, 2, 3, 4, 5, 7), confirm=8, newest_first=True)
_SWAP_ROWS = CandleRows(width=9, values=(1, 2, 3, 4, 6, 7), confirm=8, newest_first=True)


def candle_columns_okx(
    rows: Any, *, symbol: str, native_symbol: str, interval: str, spot: bool,
    exchange: str = EXCHANGE, endpoint: str = "candles", decimals: Decimals = "exact",
) -> pa.Table:
    """OKX candle rows (newest first, as sent) as a Candle table, oldest first, every value checked.

    >>> table = candle_columns_okx(rows, symbol="BTC/USDT", native_symbol="BTC-USDT",
    ...                            interval="1m", spot=True)  # doctest: +SKIP
    """
    def models() -> list[Candle]:
        return parse_candles(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                             spot=spot, endpoint=endpoint)

    return candle_rows_table(rows, _SPOT_ROWS if spot else _SWAP_ROWS, models, exchange=exchange,
                             symbol=symbol, native_symbol=native_symbol, interval=interval,
                             endpoint=endpoint, decimals=decimals)
