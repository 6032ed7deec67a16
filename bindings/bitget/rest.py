"""Bitget REST bindings: candles, order books, trades, tickers and instruments, spot and USDT-M perpetuals.

Plans resolve the unified symbol through the venue's instrument list (one
session-cached turn per market kind), so an unknown symbol fails before any
data request. Parsing is in :mod:`.parse` (rows into models) and
:mod:`.columns` (candle rows straight into Arrow columns).

Wire facts used here (Bitget API docs, www.bitget.com/api-doc; cross-checked
against recorded replies and request URLs in ccxt's static fixtures):

- the recent ``candles`` endpoints serve up to 1000 rows, and only reach back
  30 days (1m/3m/5m; "one month"), 52 (15m), 62 (30m), 83 (1H), 120 (2H),
  240 (4H), 360 (6H); ``history-candles`` serve up to 200 rows of any age;
  mix candle requests span at most 90 days;
- day, week and month bars (and 6h/12h) open at midnight UTC+8 unless the
  ``...utc`` granularity is asked for; unified bars open on UTC edges, so
  6h/12h/1d/1w/1M map to ``6Hutc``/``12Hutc``/``1Dutc``/``1Wutc``/``1Mutc``;
- spot order books take ``limit`` 1..150 (default 150); mix ``merge-depth``
  takes the fixed levels 1/5/15/50/max (default 100);
- recent trades: spot ``limit`` default 100, at most 500; mix at most 100.
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
from tradeflood.connectors.bitget import Bitget
from tradeflood.errors import QueryError
from tradeflood.intervals import INTERVALS, interval_ms, validate_interval
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.symbols import SymbolMap, native_id, spot_or_usdt_linear

from .columns import candle_columns_bitget
from .parse import (
    EXCHANGE,
    SPOT_SYMBOLS,
    contract_symbol_map,
    parse_candles,
    parse_contracts,
    parse_order_book,
    parse_spot_symbols,
    parse_ticker,
    parse_trades,
    spot_symbol_map,
)

__all__ = [
    "DEFAULT_DEPTH",
    "MIX_GRANULARITY",
    "RECENT_LOOKBACK_DAYS",
    "SPOT_GRANULARITY",
    "BitgetCandles",
    "BitgetInstruments",
    "BitgetOrderBook",
    "BitgetTicker",
    "BitgetTrades",
    "market_kind",
]

DAY_MS = 86_400_000

SPOT_GRANULARITY = {
    "1m": "1min", "3m": "3min", "5m": "5min", "15m": "15min", "30m": "30min",
    "1h": "1h", "4h": "4h", "6h": "6Hutc", "12h": "12Hutc",
    "1d": "1Dutc", "1w": "1Wutc", "1M": "1Mutc",
}
MIX_GRANULARITY = {
    "1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "30m": "30m",
    "1h": "1H", "2h": "2H", "4h": "4H", "6h": "6Hutc", "12h": "12Hutc",
    "1d": "1Dutc", "1w": "1Wutc", "1M": "1Mutc",
}
#: How far back the recent ``candles`` endpoints reach, by interval; longer bars have no limit.
RECENT_LOOKBACK_DAYS = {
    "1m": 30, "3m": 30, "5m": 30, "15m": 52, "30m": 62,
    "1h": 83, "2h": 120, "4h": 240, "6h": 360,
}
RECENT_PAGE, HISTORY_PAGE = 1000, 200
MIX_MAX_SPAN_MS = 90 * DAY_MS

SPOT_MAX_DEPTH = 150
MIX_DEPTH_LEVELS = (1, 5, 15, 50, 100)  # 100 is the default, sent as no limit at all
DEFAULT_DEPTH = 100
TRADES_DEFAULT = 100
TRADES_MAX = {"spot": 500, "linear": 100}


def market_kind(symbol: str | None, what: str) -> str:
    """``spot`` or ``linear`` for a unified symbol Bitget serves, else a QueryError."""
    return spot_or_usdt_linear(EXCHANGE, symbol, what)


def _resolve(api: Bitget, symbol: str | None, what: str) -> tuple[str, Derived]:
    kind = market_kind(symbol, what)
    if kind == "spot":
        return kind, api.spot_symbols().derive(spot_symbol_map).derive(native_id, symbol)
    return kind, api.contracts().derive(contract_symbol_map).derive(native_id, symbol)


# -- bindings ------------------------------------------------------------------------

class BitgetInstruments(Binding, model=Instrument, connector=Bitget):
    """Bitget's spot and USDT-M perpetual instruments (one kind only when a symbol is given)."""

    api: Bitget

    @classmethod
    def check(cls, query: Query) -> None:
        if query.symbol:
            market_kind(query.symbol, "instruments")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        if not query.symbol:
            return [self.api.spot_symbols(), self.api.contracts()]
        spot = market_kind(query.symbol, "instruments") == "spot"
        return [self.api.spot_symbols() if spot else self.api.contracts()]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Instrument]:
        if turn.path == SPOT_SYMBOLS:
            return parse_spot_symbols(payload, turn.path)
        return parse_contracts(payload, turn.path)

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> list[Instrument]:
        items: list[Instrument] = [i for part in parts for i in part.items]
        return [SymbolMap(EXCHANGE, items).instrument(query.symbol)] if query.symbol else items


class BitgetCandles(CandleBinding, model=Candle, connector=Bitget):
    """Candle histories: the recent endpoint's 1000-row pages inside its look-back
    window, the history endpoint's 200-row pages beyond it."""

    api: Bitget

    #: Every interval some Bitget market serves (2h: perpetuals only); spellings per kind below.
    intervals = {**SPOT_GRANULARITY, **MIX_GRANULARITY}
    granularities = {"spot": SPOT_GRANULARITY, "linear": MIX_GRANULARITY}

    @classmethod
    def check(cls, query: Query) -> None:
        kind = market_kind(query.symbol, "candles")
        served = cls.granularities[kind]
        validate_interval(query.interval, tuple(i for i in INTERVALS if i in served),
                          f"bitget {'spot' if kind == 'spot' else 'USDT-M perpetuals'}")

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        assert query.interval is not None
        interval = query.interval
        kind, native = _resolve(self.api, query.symbol, "candles")
        gran = self.granularities[kind][interval]
        api = self.api
        # Grid pages of calendar months can hold one more bar than the page size.
        extra = 1 if interval == "1M" else 0

        def recent_lookback(iv: str) -> int | None:
            days = RECENT_LOOKBACK_DAYS.get(iv)
            return None if days is None else days * DAY_MS

        # The ranges are [start, end) of open times. Bitget documents startTime as
        # "data after" and endTime as "data before" without saying whether the edges
        # count; startTime is a bar's open time and endTime is sent as end - 1, which
        # selects the same bars whether the venue reads the edge inclusively or not.
        if kind == "spot":
            return [
                PageSource("candles", RECENT_PAGE, lambda s, e, n: api.spot_candles(
                    native, gran, s, e - 1, min(RECENT_PAGE, n + extra)), recent_lookback),
                PageSource("history-candles", HISTORY_PAGE, lambda s, e, n: api.spot_history_candles(
                    native, gran, e - 1, min(HISTORY_PAGE, n + extra))),
            ]
        span_cap = max(1, MIX_MAX_SPAN_MS // interval_ms(interval))
        return [
            PageSource("candles", min(RECENT_PAGE, span_cap), lambda s, e, n: api.mix_candles(
                native, gran, s, e - 1, min(RECENT_PAGE, n + extra)), recent_lookback),
            PageSource("history-candles", min(HISTORY_PAGE, span_cap),
                       lambda s, e, n: api.mix_history_candles(
                           native, gran, s, e - 1, min(HISTORY_PAGE, n + extra))),
        ]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Candle]:
        assert query.symbol is not None and query.interval is not None
        parse = candle_columns_bitget if self.use_bulk() else parse_candles
        got = parse(payload, symbol=query.symbol, native_symbol=ctx.params["symbol"],
                    interval=query.interval, received_ms=ctx.received_ms,
                    spot=turn.path.startswith("/api/v2/spot/"), endpoint=turn.path)
        return got if isinstance(got, list) else CandleSeries.from_table(got)


class BitgetOrderBook(Binding, model=OrderBook, connector=Bitget):
    """An order-book snapshot: spot ``orderbook`` (1..150 levels), perpetual
    ``merge-depth`` (fetched at the next fixed level, 1/5/15/50/100, and cut)."""

    api: Bitget

    @classmethod
    def check(cls, query: Query) -> None:
        kind = market_kind(query.symbol, "order books")
        depth = query.depth or DEFAULT_DEPTH
        if kind == "spot" and depth > SPOT_MAX_DEPTH:
            raise QueryError(f"depth={depth} is not available for bitget spot order books: "
                             f"choose 1 to {SPOT_MAX_DEPTH} (default {DEFAULT_DEPTH})")
        if kind == "linear" and depth > MIX_DEPTH_LEVELS[-1]:
            raise QueryError(
                f"depth={depth} is not available for bitget perpetual order books: choose 1 to "
                f"{MIX_DEPTH_LEVELS[-1]} (the venue serves the fixed levels "
                f"{', '.join(map(str, MIX_DEPTH_LEVELS))}; other depths are cut from the next one)"
            )

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        kind, native = _resolve(self.api, query.symbol, "order books")
        depth = query.depth or DEFAULT_DEPTH
        if kind == "spot":
            return [self.api.spot_orderbook(native, limit=depth)]
        level = next(lv for lv in MIX_DEPTH_LEVELS if lv >= depth)
        return [self.api.mix_merge_depth(native, limit=None if level == 100 else str(level))]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[OrderBook]:
        assert query.symbol is not None
        return [parse_order_book(payload, symbol=query.symbol, native_symbol=ctx.params["symbol"],
                                 depth=query.depth or DEFAULT_DEPTH, endpoint=turn.path)]

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> OrderBook:
        book: OrderBook = self.single(parts)
        return book


class BitgetTrades(Binding, model=Trade, connector=Bitget):
    """The most recent public trades (``limit``: spot up to 500, perpetuals up to 100)."""

    api: Bitget

    @classmethod
    def check(cls, query: Query) -> None:
        kind = market_kind(query.symbol, "trades")
        most = TRADES_MAX[kind]
        if query.limit is not None and query.limit > most:
            raise QueryError(f"limit={query.limit} is more than bitget serves for recent "
                             f"{'spot' if kind == 'spot' else 'perpetual'} trades; "
                             f"choose 1 to {most} (default {TRADES_DEFAULT})")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        kind, native = _resolve(self.api, query.symbol, "trades")
        limit = query.limit or TRADES_DEFAULT
        if kind == "spot":
            return [self.api.spot_trades(native, limit)]
        return [self.api.mix_trades(native, limit)]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Trade]:
        assert query.symbol is not None
        return parse_trades(payload, symbol=query.symbol, native_symbol=ctx.params["symbol"],
                            endpoint=turn.path)

    def wire_names(self, turn: Turn) -> Mapping[str, str]:
        return {"amount": "size"}  # recent trades and the history alike


class BitgetTicker(Binding, model=Ticker, connector=Bitget):
    """The latest price, best bid/ask and 24-hour statistics of one symbol."""

    api: Bitget

    @classmethod
    def check(cls, query: Query) -> None:
        market_kind(query.symbol, "tickers")

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        kind, native = _resolve(self.api, query.symbol, "tickers")
        return [self.api.spot_tickers(native) if kind == "spot" else self.api.mix_ticker(native)]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Ticker]:
        assert query.symbol is not None
        return [parse_ticker(payload, symbol=query.symbol, native_symbol=ctx.params["symbol"],
                             endpoint=turn.path)]

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> Ticker:
        ticker: Ticker = self.single(parts)
        return ticker
