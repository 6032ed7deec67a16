"""Binance REST bindings: instruments, candles, order books, trades and tickers for spot
(``BTC/USDT``) and USDⓈ-M perpetuals (``BTC/USDT:USDT``).

A unified symbol is resolved through the session-cached ``exchangeInfo`` of its
market, so an unknown symbol fails before any data request::

    listing = api.spot_exchange_info()
    native = listing.derive(spot_symbol_map).derive(native_id, "BTC/USDT")
    api.spot_klines(native, "1h", start, end - 1, 1000)

Parsing is in :mod:`.parse` (rows into models) and :mod:`.columns` (kline rows
straight into Arrow columns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradeflood import Binding, CandleBinding, CandleSeries, Derived, PageSource, ParseContext, Part, Turn
from tradeflood.connectors.binance import FUTURES_DEPTHS, SPOT_DEPTHS, Binance
from tradeflood.errors import QueryError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.symbols import SymbolMap, native_id, split_symbol

from .columns import candle_columns_binance
from .parse import (
    SPOT_EXCHANGE_INFO,
    VENUE,
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

__all__ = [
    "BinanceCandles", "BinanceInstruments", "BinanceOrderBook", "BinanceTicker", "BinanceTrades",
    "market", "native_symbol",
]

PAGE_SIZE = 1000
DEFAULT_DEPTH = 100
TRADES_DEFAULT, TRADES_MAX = 500, 1000  # GET /api/v3/trades and /fapi/v1/trades


# -- bindings ------------------------------------------------------------------------


def market(query: Any) -> str:
    """``spot`` or ``linear`` for the query's symbol; inverse contracts are refused."""
    if not query.symbol:
        raise QueryError(f"{query.model.__name__} on binance needs a symbol, e.g. 'BTC/USDT'")
    kind = split_symbol(query.symbol).kind
    if kind == "inverse":
        raise QueryError(
            f"{query.symbol!r} is an inverse (coin-margined) contract; TradeFlood's Binance "
            "support covers spot ('BTC/USDT') and USDT-M perpetuals ('BTC/USDT:USDT')"
        )
    return kind


def native_symbol(api: Binance, query: Any) -> Derived:
    """The native id of the query's symbol, derived from its market's exchangeInfo turn."""
    spot = market(query) == "spot"
    listing: Turn = api.spot_exchange_info() if spot else api.futures_exchange_info()
    return listing.derive(spot_symbol_map if spot else futures_symbol_map).derive(
        native_id, query.symbol)


def _native(ctx: ParseContext) -> str:
    return str(ctx.params["symbol"])


class BinanceInstruments(Binding, model=Instrument, connector=Binance):
    """Spot markets and USDⓈ-M linear perpetuals; ``symbol=`` or ``kind=`` narrows the list."""

    options = frozenset({"kind"})  # "spot" or "linear": one market's list

    api: Binance

    @classmethod
    def check(cls, query: Any) -> None:
        if query.symbol:
            market(query)
        kind = query.options.get("kind")
        if kind not in (None, "spot", "linear"):
            raise QueryError(f"kind={kind!r}: Binance lists 'spot' and 'linear' instruments")

    def plan(self, query: Any, now_ms: int) -> Sequence[Turn]:
        kind = market(query) if query.symbol else query.options.get("kind")
        turns = []
        if kind in (None, "spot"):
            turns.append(self.api.spot_exchange_info())
        if kind in (None, "linear"):
            turns.append(self.api.futures_exchange_info())
        return turns

    def parse(self, query: Any, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        if turn.path == SPOT_EXCHANGE_INFO:
            return parse_spot_instruments(payload)
        return parse_futures_instruments(payload)

    def assemble(self, query: Any, parts: Sequence[Part], now_ms: int) -> Any:
        items = [item for part in parts for item in part.items]
        if query.symbol:
            return [SymbolMap(VENUE, items).instrument(query.symbol)]
        return items


class BinanceCandles(CandleBinding, model=Candle, connector=Binance):
    """Klines of spot and USDⓈ-M perpetuals on a 1000-bar grid."""

    api: Binance

    intervals = {i: i for i in ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h",
                                "1d", "1w", "1M")}

    @classmethod
    def check(cls, query: Any) -> None:
        super().check(query)
        market(query)

    def page_sources(self, query: Any) -> Sequence[PageSource]:
        native = native_symbol(self.api, query)
        interval = self.intervals[query.interval]
        # Futures serve up to 1500 bars, but a 1500-bar page weighs 10 and a 1000-bar
        # page 5: 1000 is the cheaper page per candle. Spot's maximum is 1000.
        klines = self.api.spot_klines if market(query) == "spot" else self.api.futures_klines

        def declare(start_ms: int, end_ms: int, limit: int) -> Turn:
            page: Turn = klines(native, interval, start_ms, end_ms - 1, limit)
            return page

        return [PageSource("klines", PAGE_SIZE, declare)]

    def parse(self, query: Any, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        parse = candle_columns_binance if self.use_bulk() else parse_klines
        got = parse(payload, symbol=query.symbol, native_symbol=_native(ctx), interval=query.interval,
                    received_ms=ctx.received_ms, endpoint=turn.path)
        return got if isinstance(got, list) else CandleSeries.from_table(got)


class BinanceOrderBook(Binding, model=OrderBook, connector=Binance):
    """One depth snapshot; ``depth`` defaults to 100 levels a side."""

    api: Binance

    @classmethod
    def check(cls, query: Any) -> None:
        allowed = SPOT_DEPTHS if market(query) == "spot" else FUTURES_DEPTHS
        if query.depth is not None and query.depth not in allowed:
            where = "spot" if allowed is SPOT_DEPTHS else "USDT-M futures"
            raise QueryError(f"depth={query.depth} on binance {where}; valid choices: "
                             f"{', '.join(map(str, allowed))}")

    def plan(self, query: Any, now_ms: int) -> Sequence[Turn]:
        depth = self.api.spot_depth if market(query) == "spot" else self.api.futures_depth
        return [depth(native_symbol(self.api, query), query.depth or DEFAULT_DEPTH)]

    def parse(self, query: Any, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        return [parse_depth(payload, symbol=query.symbol, native_symbol=_native(ctx),
                            received_ms=ctx.received_ms, endpoint=turn.path)]

    def assemble(self, query: Any, parts: Sequence[Part], now_ms: int) -> Any:
        return self.single(parts)


class BinanceTrades(Binding, model=Trade, connector=Binance):
    """The most recent trades (``limit``: default 500, at most 1000), oldest first."""

    api: Binance

    @classmethod
    def check(cls, query: Any) -> None:
        market(query)
        if query.limit is not None and query.limit > TRADES_MAX:
            raise QueryError(f"limit={query.limit}: Binance serves at most {TRADES_MAX} "
                             "recent trades")

    def plan(self, query: Any, now_ms: int) -> Sequence[Turn]:
        trades = self.api.spot_trades if market(query) == "spot" else self.api.futures_trades
        return [trades(native_symbol(self.api, query), query.limit or TRADES_DEFAULT)]

    def parse(self, query: Any, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        return parse_trades(payload, symbol=query.symbol, native_symbol=_native(ctx),
                            endpoint=turn.path)

    def wire_names(self, turn: Turn) -> Mapping[str, str]:
        return {"amount": "qty"}


class BinanceTicker(Binding, model=Ticker, connector=Binance):
    """The 24hr ticker. The futures 24hr ticker has no bid/ask, so futures plan a
    second turn, the bookTicker (weight 2), and take bid and ask from it;
    ``bid_ask=False`` skips it and leaves them None."""

    options = frozenset({"bid_ask"})

    api: Binance

    @classmethod
    def check(cls, query: Any) -> None:
        market(query)
        if not isinstance(query.options.get("bid_ask", True), bool):
            raise QueryError(f"bid_ask={query.options['bid_ask']!r}: give True or False")

    def plan(self, query: Any, now_ms: int) -> Sequence[Turn]:
        native = native_symbol(self.api, query)
        if market(query) == "spot":
            return [self.api.spot_ticker_24hr(native)]
        if not query.options.get("bid_ask", True):
            return [self.api.futures_ticker_24hr(native)]
        return [self.api.futures_ticker_24hr(native), self.api.futures_book_ticker(native)]

    def parse(self, query: Any, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        if turn.path == "/fapi/v1/ticker/bookTicker":
            return [parse_book_ticker(payload, endpoint=turn.path)]
        return [parse_ticker(payload, symbol=query.symbol, native_symbol=_native(ctx),
                             endpoint=turn.path)]

    def assemble(self, query: Any, parts: Sequence[Part], now_ms: int) -> Any:
        items = [item for part in parts for item in part.items]
        ticker = next(item for item in items if isinstance(item, Ticker))
        for top in (item for item in items if isinstance(item, BookTop)):
            ticker = ticker.model_copy(update={"bid": top.bid, "ask": top.ask})
        return ticker
