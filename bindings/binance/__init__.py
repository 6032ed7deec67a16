"""Binance: everything TradeFlood knows of the venue but its endpoints (``tradeflood.connectors.binance``).

- :mod:`.parse`: payloads into models (pure functions);
- :mod:`.columns`: kline rows straight into Arrow columns;
- :mod:`.rest`: the fetch bindings (candles, books, trades, tickers, instruments);
- :mod:`.live`: the stream bindings (klines, trades, tickers, diff-depth books);
- :mod:`.book`: the diff-depth sync rules of spot and futures;
- :mod:`.funding`: funding rates and open interest, current and history;
- :mod:`.funding_live`: funding rates live from ``<symbol>@markPrice`` (no open-interest stream).

Importing the package registers its bindings. Subclass one to change it, e.g.
``class MyCandles(BinanceCandles)``.
"""

from __future__ import annotations

from .book import BinanceFuturesBookSync, BinanceSpotBookSync
from .columns import candle_columns_binance
from .funding import BinanceFundingRate, BinanceOpenInterest
from .funding_live import BinanceFundingRateStream, parse_mark_price_update
from .liquidations import BinanceLiquidationStream, parse_force_order
from .live import (
    BinanceBookStream,
    BinanceCandleStream,
    BinanceTickerStream,
    BinanceTradeStream,
    parse_depth_update,
    parse_kline_event,
    parse_trade_event,
)
from .marks import BinanceIndexCandles, BinanceMarkCandles
from .parse import (
    BookTop,
    futures_symbol_map,
    parse_book_ticker,
    parse_depth,
    parse_futures_instruments,
    parse_klines,
    parse_spot_instruments,
    parse_ticker,
    parse_trades,
    spot_symbol_map,
)
from .rest import (
    BinanceCandles,
    BinanceInstruments,
    BinanceOrderBook,
    BinanceTicker,
    BinanceTrades,
    market,
    native_symbol,
)
from .trades_history import BinanceTradeHistory, parse_agg_trades

__all__ = [
    "BinanceBookStream",
    "BinanceCandleStream",
    "BinanceCandles",
    "BinanceFundingRate",
    "BinanceFundingRateStream",
    "BinanceFuturesBookSync",
    "BinanceIndexCandles",
    "BinanceInstruments",
    "BinanceLiquidationStream",
    "BinanceMarkCandles",
    "BinanceOpenInterest",
    "BinanceOrderBook",
    "BinanceSpotBookSync",
    "BinanceTicker",
    "BinanceTickerStream",
    "BinanceTradeHistory",
    "BinanceTradeStream",
    "BinanceTrades",
    "BookTop",
    "candle_columns_binance",
    "futures_symbol_map",
    "market",
    "native_symbol",
    "parse_agg_trades",
    "parse_book_ticker",
    "parse_depth",
    "parse_depth_update",
    "parse_force_order",
    "parse_futures_instruments",
    "parse_kline_event",
    "parse_klines",
    "parse_mark_price_update",
    "parse_spot_instruments",
    "parse_ticker",
    "parse_trade_event",
    "parse_trades",
    "spot_symbol_map",
]
