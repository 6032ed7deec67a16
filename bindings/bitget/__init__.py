"""Bitget: everything TradeFlood knows of the venue but its endpoints (``tradeflood.connectors.bitget``).

- :mod:`.parse`: payloads into models (pure functions);
- :mod:`.columns`: candle rows (or a reply's raw bytes) straight into Arrow columns;
- :mod:`.rest`: the fetch bindings (candles, books, trades, tickers, instruments);
- :mod:`.live`: the stream bindings (candles, trades, tickers, books);
- :mod:`.book`: the ``books`` channel's sync rules and checksum;
- :mod:`.funding`: funding rates and open interest, current and history;
- :mod:`.funding_live`: funding rates and open interest live from the USDT-FUTURES ``ticker``.

Importing the package registers its bindings. Subclass one to change it, e.g.
``class MyTicker(BitgetTicker)``.
"""

from __future__ import annotations

from .book import BITGET_CHECKSUM_DEPTH, BitgetBookSync, bitget_checksum, bitget_checksum_text, signed32
from .columns import candle_columns_bitget, candle_columns_bitget_body
from .funding import BitgetFundingRate, BitgetOpenInterest
from .funding_live import (
    BitgetFundingRateStream,
    BitgetOpenInterestStream,
    parse_ticker_funding,
    parse_ticker_open_interest,
)
from .live import (
    CANDLE_CHANNELS,
    BitgetBookStream,
    BitgetCandleStream,
    BitgetTickerStream,
    BitgetTradeStream,
    parse_book_push,
)
from .marks import BitgetIndexCandles, BitgetMarkCandles
from .parse import (
    contract_symbol_map,
    parse_candles,
    parse_contracts,
    parse_order_book,
    parse_spot_symbols,
    parse_ticker,
    parse_trades,
    spot_symbol_map,
)
from .rest import (
    DEFAULT_DEPTH,
    MIX_GRANULARITY,
    RECENT_LOOKBACK_DAYS,
    SPOT_GRANULARITY,
    BitgetCandles,
    BitgetInstruments,
    BitgetOrderBook,
    BitgetTicker,
    BitgetTrades,
    market_kind,
)
from .trades_history import BitgetTradeHistory

__all__ = [
    "BITGET_CHECKSUM_DEPTH",
    "CANDLE_CHANNELS",
    "DEFAULT_DEPTH",
    "MIX_GRANULARITY",
    "RECENT_LOOKBACK_DAYS",
    "SPOT_GRANULARITY",
    "BitgetBookStream",
    "BitgetBookSync",
    "BitgetCandleStream",
    "BitgetCandles",
    "BitgetFundingRate",
    "BitgetFundingRateStream",
    "BitgetIndexCandles",
    "BitgetInstruments",
    "BitgetMarkCandles",
    "BitgetOpenInterest",
    "BitgetOpenInterestStream",
    "BitgetOrderBook",
    "BitgetTicker",
    "BitgetTickerStream",
    "BitgetTradeHistory",
    "BitgetTradeStream",
    "BitgetTrades",
    "bitget_checksum",
    "bitget_checksum_text",
    "candle_columns_bitget",
    "candle_columns_bitget_body",
    "contract_symbol_map",
    "market_kind",
    "parse_book_push",
    "parse_candles",
    "parse_contracts",
    "parse_order_book",
    "parse_spot_symbols",
    "parse_ticker",
    "parse_ticker_funding",
    "parse_ticker_open_interest",
    "parse_trades",
    "signed32",
    "spot_symbol_map",
]
