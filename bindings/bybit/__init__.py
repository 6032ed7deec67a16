"""Bybit: everything TradeFlood knows of the venue but its endpoints (``tradeflood.connectors.bybit``).

- :mod:`.parse`: payloads into models (pure functions);
- :mod:`.columns`: kline rows straight into Arrow columns;
- :mod:`.rest`: the fetch bindings (candles, books, trades, tickers, instruments);
- :mod:`.live`: the stream bindings (candles, trades, tickers, books);
- :mod:`.book`: the ``orderbook`` topic's sync rules (snapshot resets, update id ``u``);
- :mod:`.funding`: funding rates and open interest, current and history;
- :mod:`.tickers_live`: funding rates and open interest live from linear ``tickers`` (snapshot, deltas).

Importing the package registers its bindings. Subclass one to change it.
"""

from __future__ import annotations

from .book import BybitBookSync
from .columns import candle_columns_bybit
from .funding import BybitFundingRate, BybitOpenInterest
from .liquidations import BybitLiquidationStream, parse_liquidation_push
from .live import (
    BOOK_DEPTH,
    BybitBookStream,
    BybitCandleStream,
    BybitTickerStream,
    BybitTradeStream,
    parse_book_push,
    parse_kline_push,
    parse_trade_push,
)
from .marks import BybitIndexCandles, BybitMarkCandles
from .parse import (
    bybit_symbol_map,
    find_ticker,
    parse_candles,
    parse_instruments,
    parse_order_book,
    parse_ticker,
    parse_trades,
)
from .rest import (
    DEPTH_MAX,
    INTERVALS,
    TRADES_MAX,
    BybitCandles,
    BybitInstruments,
    BybitOrderBook,
    BybitTicker,
    BybitTrades,
    category,
    listing,
    resolve,
)
from .tickers_live import BybitFundingRateStream, BybitOpenInterestStream, TickerRecords, ticker_records

__all__ = [
    "BOOK_DEPTH",
    "DEPTH_MAX",
    "INTERVALS",
    "TRADES_MAX",
    "BybitBookStream",
    "BybitBookSync",
    "BybitCandleStream",
    "BybitCandles",
    "BybitFundingRate",
    "BybitFundingRateStream",
    "BybitIndexCandles",
    "BybitInstruments",
    "BybitLiquidationStream",
    "BybitMarkCandles",
    "BybitOpenInterest",
    "BybitOpenInterestStream",
    "BybitOrderBook",
    "BybitTicker",
    "BybitTickerStream",
    "BybitTradeStream",
    "BybitTrades",
    "TickerRecords",
    "bybit_symbol_map",
    "candle_columns_bybit",
    "category",
    "find_ticker",
    "listing",
    "parse_book_push",
    "parse_candles",
    "parse_instruments",
    "parse_kline_push",
    "parse_liquidation_push",
    "parse_order_book",
    "parse_ticker",
    "parse_trade_push",
    "parse_trades",
    "resolve",
    "ticker_records",
]
