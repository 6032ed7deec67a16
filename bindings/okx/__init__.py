"""OKX: everything TradeFlood knows of the venue but its endpoints (``tradeflood.connectors.okx``).

- :mod:`.parse`: payloads into models (pure functions);
- :mod:`.columns`: candle rows straight into Arrow columns;
- :mod:`.rest`: the fetch bindings (candles, books, trades, tickers, instruments);
- :mod:`.live`: the stream bindings (candles, trades, tickers, books);
- :mod:`.book`: the ``books`` channel's sync rules (``seqId``/``prevSeqId``);
- :mod:`.funding`: funding rates and open interest, current and history;
- :mod:`.funding_live`: funding rates and open interest live (``funding-rate``, ``open-interest``).

Importing the package registers its bindings. Subclass one to change it.
"""

from __future__ import annotations

from .book import OkxBookSync
from .columns import candle_columns_okx
from .funding import OkxFundingRate, OkxOpenInterest
from .funding_live import OkxFundingRateStream, OkxOpenInterestStream
from .liquidations import OkxLiquidationStream, parse_liquidation_orders
from .live import (
    CANDLE_CHANNELS,
    OkxBookStream,
    OkxCandleStream,
    OkxTickerStream,
    OkxTradeStream,
    parse_book_push,
)
from .marks import MARK_PAGE, OkxIndexCandles, OkxMarkCandles, index_id
from .marks_live import OkxIndexCandleStream, OkxMarkCandleStream
from .parse import (
    okx_symbol_map,
    parse_candles,
    parse_instruments,
    parse_order_book,
    parse_ticker,
    parse_trades,
    scaled,
)
from .rest import (
    BARS,
    DEFAULT_DEPTH,
    MAX_DEPTH,
    RECENT_BARS,
    OkxCandles,
    OkxInstruments,
    OkxOrderBook,
    OkxTicker,
    OkxTrades,
    inst_type,
    resolve,
)
from .trades_history import OkxTradeHistory

__all__ = [
    "BARS",
    "CANDLE_CHANNELS",
    "DEFAULT_DEPTH",
    "MARK_PAGE",
    "MAX_DEPTH",
    "RECENT_BARS",
    "OkxBookStream",
    "OkxBookSync",
    "OkxCandleStream",
    "OkxCandles",
    "OkxFundingRate",
    "OkxFundingRateStream",
    "OkxIndexCandleStream",
    "OkxIndexCandles",
    "OkxInstruments",
    "OkxLiquidationStream",
    "OkxMarkCandleStream",
    "OkxMarkCandles",
    "OkxOpenInterest",
    "OkxOpenInterestStream",
    "OkxOrderBook",
    "OkxTicker",
    "OkxTickerStream",
    "OkxTradeHistory",
    "OkxTradeStream",
    "OkxTrades",
    "candle_columns_okx",
    "index_id",
    "inst_type",
    "okx_symbol_map",
    "parse_book_push",
    "parse_candles",
    "parse_instruments",
    "parse_liquidation_orders",
    "parse_order_book",
    "parse_ticker",
    "parse_trades",
    "resolve",
    "scaled",
]
