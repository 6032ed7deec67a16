"""Bybit REST bindings: candles, order books, trades, tickers and instruments, spot and USDT linear.

Plans resolve the unified symbol through the venue's instrument list (one
session-cached, cursor-paged turn per category). Wire facts (Bybit API v5
docs, "Market"): ``kline`` serves up to 1000 bars a request (default 200) of
any age, so one page source covers every segment; ``orderbook`` takes
``limit`` 1..200 (spot) or 1..500 (linear); ``recent-trade`` up to 60 (spot)
or 1000 (linear). Intervals: ``1 3 5 15 30 60 120 240 360 720 D W M``, all
opening on UTC edges (weeks on Monday).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradeflood import (
    Binding,
    CandleBinding,
    CandleSeries,
    Derived,
    PageSource,
    ParseContext,
    Part,
    Query,
    Turn,
)
from tradeflood.connectors.bybit import Bybit
from tradeflood.errors import QueryError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.symbols import SymbolMap, native_id, spot_or_usdt_linear

from .columns import candle_columns_bybit
from .parse import (
    EXCHANGE,
    bybit_symbol_map,
    find_ticker,
    parse_candles,
    parse_instruments,
    parse_order_book,
    parse_ticker,
    parse_trades,
)

__all__ = [
    "DEPTH_MAX",
    "INTERVALS",
    "TRADES_MAX",
    "BybitCandles",
    "BybitInstruments",
    "BybitOrderBook",
    "BybitTicker",
    "BybitTrades",
    "category",
    "listing",
    "resolve",
]

INTERVALS = {
    "1m": "1", "3m": "3", "5m": "5", "15m": "15", "30m": "30", "1h": "60", "2h": "120", "4h": "240",
    "6h": "360", "12h": "720", "1d": "D", "1w": "W", "1M": "M",
}
PAGE = 1000
DEPTH_MAX = {"spot": 200, "linear": 500}
DEFAULT_DEPTH = 50
TRADES_MAX = {"spot": 60, "linear": 1000}
TRADES_DEFAULT = 60


def category(symbol: str | None, what: str) -> str:
    """``spot`` or ``linear`` for a unified symbol Bybit serves here, else a QueryError."""
    return spot_or_usdt_linear(EXCHANGE, symbol, what)


def _next_cursor(turn: Turn, payload: Any) -> Turn | None:
    cursor = payload.get("nextPageCursor") if isinstance(payload, dict) else None
    return turn.with_params(cursor=cursor) if cursor else None


def listing(api: Bybit, cat: str) -> Turn:
    """The instrument list of one category, every page of it."""
    first: Turn = api.instruments(cat, 1000)
    return first.paginate(_next_cursor)


def resolve(api: Bybit, symbol: str | None, what: str) -> tuple[str, Derived]:
    cat = category(symbol, what)
    return cat, listing(api, cat).derive(bybit_symbol_map).derive(native_id, symbol)


class BybitInstruments(Binding, model=Instrument, connector=Bybit):
    """Bybit's spot pairs and USDT linear perpetuals (one category when a symbol is given)."""

    api: Bybit

    @classmethod
    def check(cls, query: Query) -> None:
        if query.symbol:
            category(query.symbol, "instruments")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        if not query.symbol:
            return [listing(self.api, "spot"), listing(self.api, "linear")]
        return [listing(self.api, category(query.symbol, "instruments"))]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Instrument]:
        return parse_instruments(payload, turn.path)

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> list[Instrument]:
        items: list[Instrument] = [i for part in parts for i in part.items]
        return [SymbolMap(EXCHANGE, items).instrument(query.symbol)] if query.symbol else items


class BybitCandles(CandleBinding, model=Candle, connector=Bybit):
    """Candle histories from ``kline``: 1000 bars a page, any age."""

    api: Bybit
    intervals = INTERVALS

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        category(query.symbol, "candles")

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        assert query.interval is not None
        cat, native = resolve(self.api, query.symbol, "candles")
        interval, api = INTERVALS[query.interval], self.api
        extra = 1 if query.interval == "1M" else 0
        # [start, end) of open times: start and end are both inclusive on the venue's side.
        return [PageSource("kline", PAGE, lambda s, e, n: api.kline(
            cat, native, interval, start=s, end=e - 1, limit=min(PAGE, n + extra)))]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Candle]:
        assert query.symbol is not None and query.interval is not None
        args: dict[str, Any] = {"symbol": query.symbol, "native_symbol": ctx.params["symbol"],
                                "interval": query.interval, "received_ms": ctx.received_ms,
                                "endpoint": turn.path}
        if self.use_bulk():
            return CandleSeries.from_table(candle_columns_bybit(payload, **args))
        return parse_candles(payload, **args)


class BybitOrderBook(Binding, model=OrderBook, connector=Bybit):
    """An order-book snapshot from ``orderbook`` (spot 1..200, linear 1..500 levels a side)."""

    api: Bybit

    @classmethod
    def check(cls, query: Query) -> None:
        cat = category(query.symbol, "order books")
        depth = query.depth or DEFAULT_DEPTH
        if depth > DEPTH_MAX[cat]:
            raise QueryError(f"depth={depth} is not available for bybit {cat} order books: choose 1 to "
                             f"{DEPTH_MAX[cat]} (default {DEFAULT_DEPTH})")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        cat, native = resolve(self.api, query.symbol, "order books")
        return [self.api.orderbook(cat, native, query.depth or DEFAULT_DEPTH)]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[OrderBook]:
        assert query.symbol is not None
        return [parse_order_book(payload, symbol=query.symbol, native_symbol=ctx.params["symbol"],
                                 depth=query.depth or DEFAULT_DEPTH, endpoint=turn.path)]

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> OrderBook:
        book: OrderBook = self.single(parts)
        return book


class BybitTrades(Binding, model=Trade, connector=Bybit):
    """The most recent public trades (spot up to 60, linear up to 1000)."""

    api: Bybit

    @classmethod
    def check(cls, query: Query) -> None:
        cat = category(query.symbol, "trades")
        if query.limit is not None and query.limit > TRADES_MAX[cat]:
            raise QueryError(f"limit={query.limit} is more than bybit serves for recent {cat} trades; "
                             f"choose 1 to {TRADES_MAX[cat]}")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        cat, native = resolve(self.api, query.symbol, "trades")
        return [self.api.recent_trades(cat, native, query.limit or TRADES_DEFAULT)]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Trade]:
        assert query.symbol is not None
        return parse_trades(payload, symbol=query.symbol, native_symbol=ctx.params["symbol"],
                            endpoint=turn.path)

    def wire_names(self, turn: Turn) -> Mapping[str, str]:
        return {"amount": "size"}


class BybitTicker(Binding, model=Ticker, connector=Bybit):
    """The latest price, best bid/ask and 24-hour statistics; timed by the reply's ``time``."""

    api: Bybit

    @classmethod
    def check(cls, query: Query) -> None:
        category(query.symbol, "tickers")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        cat, native = resolve(self.api, query.symbol, "tickers")
        return [self.api.tickers(cat, native)]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Ticker]:
        assert query.symbol is not None
        native = ctx.params["symbol"]
        record = find_ticker(payload, native, turn.path)
        return [parse_ticker(record, symbol=query.symbol, native_symbol=native,
                             timestamp=payload.get("time"), endpoint=turn.path)]

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> Ticker:
        ticker: Ticker = self.single(parts)
        return ticker
