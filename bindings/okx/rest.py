"""OKX REST bindings: candles, order books, trades, tickers and instruments, spot and USDT swaps.

Plans resolve the unified symbol through the venue's instrument list (one
session-cached turn per instType), so an unknown symbol fails before any data
request. Swap books and trades come in contracts: their plans also name the
listing (no extra request: it is cached) so that ``assemble`` can turn
contracts into base amounts with the instrument's ``ctVal``.

Wire facts used here (OKX API v5 docs, "Market Data"; request URLs
cross-checked against ccxt's recorded ones):

- ``market/candles`` serves only the latest 1,440 bars of a bar size;
  ``market/history-candles`` any age; both take ``limit`` up to 300 and page
  with ``after`` (rows older than, exclusive) and ``before`` (newer than, exclusive);
- bar sizes: ``1m 3m 5m 15m 30m 1H 2H 4H``; 6h and longer open at UTC+8 unless
  the ``...utc`` spelling is asked for (``6Hutc 12Hutc 1Dutc 1Wutc 1Mutc``);
- ``market/books`` takes ``sz`` 1..400 (default 1); ``market/trades`` ``limit``
  up to 500 (default 100).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
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
from tradeflood.connectors.okx import Okx
from tradeflood.errors import QueryError
from tradeflood.intervals import interval_ms
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.symbols import SymbolMap, native_id, spot_or_usdt_linear

from .columns import candle_columns_okx
from .parse import (
    EXCHANGE,
    INSTRUMENTS,
    okx_symbol_map,
    parse_candles,
    parse_instruments,
    parse_order_book,
    parse_ticker,
    parse_trades,
)

__all__ = [
    "BARS",
    "DEFAULT_DEPTH",
    "MAX_DEPTH",
    "RECENT_BARS",
    "OkxCandles",
    "OkxInstruments",
    "OkxOrderBook",
    "OkxTicker",
    "OkxTrades",
    "inst_type",
    "resolve",
]

#: Unified interval -> OKX bar (UTC-aligned spellings for 6h and longer).
BARS = {
    "1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1H", "2h": "2H",
    "4h": "4H", "6h": "6Hutc", "12h": "12Hutc", "1d": "1Dutc", "1w": "1Wutc", "1M": "1Mutc",
}
#: How many of the latest bars ``market/candles`` serves.
RECENT_BARS = 1440
PAGE = 300
MAX_DEPTH = 400
DEFAULT_DEPTH = 100
TRADES_DEFAULT, TRADES_MAX = 100, 500


def inst_type(symbol: str | None, what: str) -> str:
    """``SPOT`` or ``SWAP`` for a unified symbol OKX serves here, else a QueryError."""
    return "SPOT" if spot_or_usdt_linear(EXCHANGE, symbol, what) == "spot" else "SWAP"


def resolve(api: Okx, symbol: str | None, what: str) -> tuple[str, Turn, Derived]:
    """The instType, its listing turn and the derived native id of ``symbol``."""
    kind = inst_type(symbol, what)
    listing = api.instruments(kind)
    return kind, listing, listing.derive(okx_symbol_map).derive(native_id, symbol)


def _contract_size(query: Query, parts: Sequence[Part]) -> Decimal:
    for part in parts:
        for item in part.items:
            if isinstance(item, Instrument) and item.symbol == query.symbol:
                size: Decimal = item.contract_size
                return size
    return Decimal(1)


def _data_parts(parts: Sequence[Part]) -> list[Part]:
    return [p for p in parts if p.turn.path != INSTRUMENTS]


class OkxInstruments(Binding, model=Instrument, connector=Okx):
    """OKX's spot pairs and swaps (one instType only when a symbol is given)."""

    api: Okx

    @classmethod
    def check(cls, query: Query) -> None:
        if query.symbol:
            inst_type(query.symbol, "instruments")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        if not query.symbol:
            return [self.api.instruments("SPOT"), self.api.instruments("SWAP")]
        return [self.api.instruments(inst_type(query.symbol, "instruments"))]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Instrument]:
        return parse_instruments(payload, turn.path)

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> list[Instrument]:
        items: list[Instrument] = [i for part in parts for i in part.items]
        return [SymbolMap(EXCHANGE, items).instrument(query.symbol)] if query.symbol else items


class OkxCandles(CandleBinding, model=Candle, connector=Okx):
    """Candle histories: ``market/candles`` for the latest 1,440 bars, ``history-candles``
    beyond; both 300 rows a page."""

    api: Okx
    intervals = BARS

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        inst_type(query.symbol, "candles")

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        assert query.interval is not None
        _, _, native = resolve(self.api, query.symbol, "candles")
        bar, api = BARS[query.interval], self.api
        # Grid pages of calendar months can hold one more bar than the page size.
        extra = 1 if query.interval == "1M" else 0

        def recent(iv: str) -> int:
            return RECENT_BARS * interval_ms(iv)

        # [start, end) of open times: after=end (older than, exclusive), before=start-1.
        return [
            PageSource("candles", PAGE, lambda s, e, n: api.candles(
                native, bar, after=e, before=s - 1, limit=min(PAGE, n + extra)), recent),
            PageSource("history-candles", PAGE, lambda s, e, n: api.history_candles(
                native, bar, after=e, before=s - 1, limit=min(PAGE, n + extra))),
        ]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Candle]:
        assert query.symbol is not None and query.interval is not None
        native = ctx.params["instId"]
        args: dict[str, Any] = {"symbol": query.symbol, "native_symbol": native, "interval": query.interval,
                "spot": not native.endswith("-SWAP"), "endpoint": turn.path}
        if self.use_bulk():
            return CandleSeries.from_table(candle_columns_okx(payload, **args))
        return parse_candles(payload, **args)


class _SizedBinding(Binding):
    """A fetch whose swap sizes come in contracts: the listing is part of the plan (it is
    cached, so it costs no request) and ``assemble`` scales to base amounts."""

    api: Okx

    def plan_with_listing(self, query: Query, what: str, data: Any) -> list[Turn]:
        kind, listing, native = resolve(self.api, query.symbol, what)
        return [listing, data(native)] if kind == "SWAP" else [data(native)]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Any]:
        if turn.path == INSTRUMENTS:
            return parse_instruments(payload, turn.path)
        return self.parse_data(query, turn, payload, ctx)

    def parse_data(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Any]:
        """Models from a data reply (the instrument listing is parsed by :meth:`parse`)."""
        raise NotImplementedError(f"{type(self).__name__} must define parse_data()")


class OkxOrderBook(_SizedBinding, model=OrderBook, connector=Okx):
    """An order-book snapshot from ``market/books`` (1..400 levels a side), sizes in base."""

    @classmethod
    def check(cls, query: Query) -> None:
        inst_type(query.symbol, "order books")
        depth = query.depth or DEFAULT_DEPTH
        if depth > MAX_DEPTH:
            raise QueryError(f"depth={depth} is not available for okx order books: choose 1 to "
                             f"{MAX_DEPTH} (default {DEFAULT_DEPTH})")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        depth = query.depth or DEFAULT_DEPTH
        return self.plan_with_listing(query, "order books", lambda native: self.api.books(native, depth))

    def parse_data(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Any]:
        assert query.symbol is not None
        return [parse_order_book(payload, symbol=query.symbol, native_symbol=ctx.params["instId"],
                                 depth=query.depth or DEFAULT_DEPTH, endpoint=turn.path)]

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> OrderBook:
        book: OrderBook = self.single(_data_parts(parts))
        size = _contract_size(query, parts)
        if size == 1:
            return book
        return book.model_copy(update={
            "bids": tuple((p, s * size) for p, s in book.bids),
            "asks": tuple((p, s * size) for p, s in book.asks)})


class OkxTrades(_SizedBinding, model=Trade, connector=Okx):
    """The most recent public trades (``limit`` up to 500), amounts in base."""

    @classmethod
    def check(cls, query: Query) -> None:
        inst_type(query.symbol, "trades")
        if query.limit is not None and query.limit > TRADES_MAX:
            raise QueryError(f"limit={query.limit} is more than okx serves for recent trades; "
                             f"choose 1 to {TRADES_MAX} (default {TRADES_DEFAULT})")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        limit = query.limit or TRADES_DEFAULT
        return self.plan_with_listing(query, "trades", lambda native: self.api.trades(native, limit))

    def parse_data(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Any]:
        assert query.symbol is not None
        return parse_trades(payload, symbol=query.symbol, native_symbol=ctx.params["instId"],
                            endpoint=turn.path)

    def wire_names(self, turn: Turn) -> Mapping[str, str]:
        return {"price": "px", "amount": "sz"}  # recent trades and the history alike

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> list[Trade]:
        size = _contract_size(query, parts)
        trades: list[Trade] = [t for part in _data_parts(parts) for t in part.items]
        if size == 1:
            return trades
        return [t.model_copy(update={"amount": t.amount * size}) for t in trades]


class OkxTicker(Binding, model=Ticker, connector=Okx):
    """The latest price, best bid/ask and 24-hour statistics of one instrument."""

    api: Okx

    @classmethod
    def check(cls, query: Query) -> None:
        inst_type(query.symbol, "tickers")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        _, _, native = resolve(self.api, query.symbol, "tickers")
        return [self.api.ticker(native)]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Ticker]:
        assert query.symbol is not None
        return [parse_ticker(payload, symbol=query.symbol, native_symbol=ctx.params["instId"],
                             endpoint=turn.path)]

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> Ticker:
        ticker: Ticker = self.single(parts)
        return ticker
