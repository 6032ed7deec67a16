"""Binance kline rows straight into Arrow columns, without one Candle per row.

Every value read is handed to Arrow's checked casts; anything the fast path
refuses goes to :func:`~.parse.parse_klines`, so a bad payload raises exactly
that parser's :class:`~tradeflood.errors.PayloadError` and the table always
equals ``to_arrow(parse_klines(...))``.
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

from .parse import VENUE, parse_klines

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["candle_columns_binance"]


def candle_columns_binance(
    rows: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int,
    exchange: str = VENUE, endpoint: str = "/api/v3/klines", decimals: Decimals = "exact",
) -> pa.Table:
    """Binance kline rows (spot or futures, as :func:`~.parse.parse_klines` takes them) as a
    Candle table, in the order sent, every value read checked.

    >>> table = candle_columns_binance(klines, symbol="BTC/USDT", native_symbol="BTCUSDT",
    ...                                interval="1m", received_ms=now_ms)  # doctest: +SKIP
    """
    check_decimals(decimals)

    def fast() -> pa.Table:
        if type(rows) is list and not rows:
            return arrow_schema(Candle, decimals).empty_table()
        pa, pc = require("pyarrow"), require("pyarrow.compute")
        cols = row_columns(rows, 8)
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
        prices = decimal_columns(strings, n, 6, decimals)
        closed = pc.less(times.slice(n, n), received_ms)
        return candle_table(times.slice(0, n), prices, closed, exchange=exchange, symbol=symbol,
                            native_symbol=native_symbol, interval=interval)

    def models() -> list[Candle]:
        return parse_klines(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                            received_ms=received_ms, endpoint=endpoint)

    return columns_or_models(fast, models, exchange=exchange, decimals=decimals, endpoint=endpoint)
