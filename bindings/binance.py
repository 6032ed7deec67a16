"""Binance bindings: instruments, candles, order books, trades and tickers for spot
(``BTC/USDT``) and USDⓈ-M perpetuals (``BTC/USDT:USDT``).

The parse functions at module level are pure (payload in, models out) and check
every value they read: a malformed payload is a :class:`PayloadError` naming
the row and field, never a bare KeyError. A unified symbol is resolved through
the session-cached ``exchangeInfo`` of its market::

    listing = api.spot_exchange_info()
    native = listing.derive(spot_symbol_map).derive(native_id, "BTC/USDT")
    api.spot_klines(native, "1h", start, end - 1, 1000)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from tradeflood.binding import Binding, ParseContext, Part
from tradeflood.candles import CandleBinding, CandleSeries
from tradeflood.columnar import candle_columns_binance
from tradeflood.connectors.binance import FUTURES_DEPTHS, SPOT_DEPTHS, Binance
from tradeflood.errors import PayloadError, QueryError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade, trusted_builder
from tradeflood.paging import PageSource
from tradeflood.symbols import SymbolMap, native_id, split_symbol
from tradeflood.turn import Derived, Turn

__all__ = [
    "BinanceCandles", "BinanceInstruments", "BinanceOrderBook", "BinanceTicker", "BinanceTrades",
    "BookTop", "futures_symbol_map", "parse_book_ticker", "parse_depth", "parse_futures_instruments",
    "parse_klines", "parse_spot_instruments", "parse_ticker", "parse_trades", "spot_symbol_map",
]

VENUE = "binance"
PAGE_SIZE = 1000
DEFAULT_DEPTH = 100
TRADES_DEFAULT, TRADES_MAX = 500, 1000  # GET /api/v3/trades and /fapi/v1/trades


_candle = trusted_builder(Candle)
_trade = trusted_builder(Trade)
_book = trusted_builder(OrderBook)


class _Bad(Exception):
    """A value failed a check; the message says which."""


def _dec(value: object, what: str) -> Decimal:
    if type(value) is not str:
        raise _Bad(f"{what} {value!r} is not a decimal string")
    try:
        out = Decimal(value)
    except ArithmeticError:
        raise _Bad(f"{what} {value!r} is not a number") from None
    if not out.is_finite():
        raise _Bad(f"{what} {value!r} is not a finite number")
    return out


def _ms(value: object, what: str) -> int:
    # Binance sends JSON integers; digit strings are accepted too (recorded fixtures).
    if type(value) is int and value >= 0:
        return value
    if type(value) is str and value.isdigit():
        return int(value)
    raise _Bad(f"{what} {value!r} is not a millisecond timestamp")


def _get(obj: Mapping[str, Any], key: str, what: str = "") -> Any:
    try:
        return obj[key]
    except (KeyError, TypeError):
        raise _Bad(f"{what}missing field {key!r}") from None


def _fail(endpoint: str, detail: str, payload: object) -> PayloadError:
    return PayloadError(VENUE, endpoint, detail, payload)


# -- klines ----------------------------------------------------------------------


def _kline_problem(row: object, i: int) -> str | None:
    """What is wrong with one kline row, or None: the slow path behind parse_klines."""
    if not isinstance(row, list):
        return f"row {i} is {type(row).__name__}, not an array"
    if len(row) < 8:
        return f"row {i} has {len(row)} fields, expected 12"
    try:
        for j, name in ((0, "open time"), (6, "close time")):
            if type(row[j]) is not int or row[j] < 0:
                raise _Bad(f"{name} {row[j]!r} is not an integer millisecond timestamp")
        for j, name in ((1, "open"), (2, "high"), (3, "low"), (4, "close"), (5, "volume"),
                        (7, "quote volume")):
            _dec(row[j], name)
    except _Bad as bad:
        return f"row {i}: {bad}"
    return None


def parse_klines(payload: Any, *, symbol: str, native_symbol: str, interval: str,
                 received_ms: int, endpoint: str = "/api/v3/klines") -> list[Candle]:
    """Candles from a klines array, in the venue's (ascending) order.

    Rows are ``[openTime, open, high, low, close, volume, closeTime, quoteVolume,
    trades, takerBase, takerQuote, ignore]``; fields after the eighth are not read,
    so rows Binance may lengthen still parse. A candle is closed when its
    ``closeTime`` (the bar's last millisecond) is before the reply arrived.
    """
    if type(payload) is not list:
        raise _fail(endpoint, "expected a JSON array of kline rows", payload)
    out: list[Candle] = []
    append, build, dec = out.append, _candle, Decimal
    try:
        for row in payload:
            if type(row) is not list or len(row) < 8:
                raise _Bad
            t, o, h, lo, c, v, ct, q = row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
            if not (type(t) is int and type(ct) is int and type(o) is str and type(h) is str
                    and type(lo) is str and type(c) is str and type(v) is str and type(q) is str):
                raise _Bad
            o, h, lo, c, v, q = dec(o), dec(h), dec(lo), dec(c), dec(v), dec(q)
            if not (o.is_finite() and h.is_finite() and lo.is_finite() and c.is_finite()
                    and v.is_finite() and q.is_finite() and t >= 0):
                raise _Bad
            append(build({
                "exchange": VENUE, "symbol": symbol, "native_symbol": native_symbol,
                "interval": interval, "open_time": t, "open": o, "high": h, "low": lo,
                "close": c, "volume": v, "quote_volume": q, "closed": ct < received_ms,
            }))
    except (_Bad, ArithmeticError, TypeError, ValueError):
        for i, row in enumerate(payload):
            problem = _kline_problem(row, i)
            if problem:
                raise _fail(endpoint, problem, row) from None
        raise _fail(endpoint, "a kline row could not be read", payload) from None
    return out


# -- order book, trades, tickers ---------------------------------------------------


def _levels(side: object, name: str) -> tuple[tuple[Decimal, Decimal], ...]:
    if not isinstance(side, list):
        raise _Bad(f"{name} is not an array")
    out = []
    for i, level in enumerate(side):
        if not isinstance(level, list) or len(level) < 2:
            raise _Bad(f"{name}[{i}] is not a [price, quantity] pair")
        out.append((_dec(level[0], f"{name}[{i}] price"), _dec(level[1], f"{name}[{i}] quantity")))
    return tuple(out)


def parse_depth(payload: Any, *, symbol: str, native_symbol: str, received_ms: int,
                endpoint: str = "/api/v3/depth") -> OrderBook:
    """An order book from ``{"lastUpdateId", "bids", "asks"}`` (futures add ``E`` and
    ``T``). The timestamp is the futures transaction time ``T``; spot depth carries
    no time, so a spot book is stamped with the moment the reply arrived."""
    try:
        if not isinstance(payload, dict):
            raise _Bad("expected a JSON object")
        sequence = _ms(_get(payload, "lastUpdateId"), "lastUpdateId")
        stamp = _ms(payload["T"], "T") if "T" in payload else received_ms
        bids = _levels(_get(payload, "bids"), "bids")
        asks = _levels(_get(payload, "asks"), "asks")
    except _Bad as bad:
        raise _fail(endpoint, str(bad), payload) from None
    return _book({"exchange": VENUE, "symbol": symbol, "native_symbol": native_symbol,
                  "timestamp": stamp, "bids": bids, "asks": asks, "sequence": sequence})


def parse_trades(payload: Any, *, symbol: str, native_symbol: str,
                 endpoint: str = "/api/v3/trades") -> list[Trade]:
    """Trades from the recent-trades array, oldest first as Binance sends them.

    ``isBuyerMaker`` true means the buyer's order rested on the book, so the taker
    sold: side ``sell``.
    """
    if not isinstance(payload, list):
        raise _fail(endpoint, "expected a JSON array of trades", payload)
    out: list[Trade] = []
    for i, row in enumerate(payload):
        try:
            trade_id = _get(row, "id")
            if type(trade_id) is not int and not (type(trade_id) is str and trade_id.isdigit()):
                raise _Bad(f"id {trade_id!r} is not a trade id")
            maker = _get(row, "isBuyerMaker")
            if type(maker) is not bool:
                raise _Bad(f"isBuyerMaker {maker!r} is not a boolean")
            out.append(_trade({
                "exchange": VENUE, "symbol": symbol, "native_symbol": native_symbol,
                "id": str(trade_id), "timestamp": _ms(_get(row, "time"), "time"),
                "price": _dec(_get(row, "price"), "price"), "amount": _dec(_get(row, "qty"), "qty"),
                "side": "sell" if maker else "buy",
            }))
        except _Bad as bad:
            raise _fail(endpoint, f"trade {i}: {bad}", row) from None
    return out


def _optional(payload: Mapping[str, Any], key: str) -> Decimal | None:
    value = payload.get(key)
    return None if value is None else _dec(value, key)


def parse_ticker(payload: Any, *, symbol: str, native_symbol: str,
                 endpoint: str = "/api/v3/ticker/24hr") -> Ticker:
    """A ticker from the 24hr statistics of one symbol; ``closeTime`` is its time.

    Spot sends ``bidPrice``/``askPrice``; the futures 24hr ticker has none, so its
    bid and ask are None here (the binding adds them from the bookTicker).
    """
    try:
        if not isinstance(payload, dict):
            raise _Bad("expected a JSON object")
        if _get(payload, "symbol") != native_symbol:
            raise _Bad(f"symbol {payload['symbol']!r} is not the {native_symbol!r} asked for")
        return Ticker(
            exchange=VENUE, symbol=symbol, native_symbol=native_symbol,
            timestamp=_ms(_get(payload, "closeTime"), "closeTime"),
            last=_dec(_get(payload, "lastPrice"), "lastPrice"),
            bid=_optional(payload, "bidPrice"), ask=_optional(payload, "askPrice"),
            high=_dec(_get(payload, "highPrice"), "highPrice"),
            low=_dec(_get(payload, "lowPrice"), "lowPrice"),
            base_volume=_dec(_get(payload, "volume"), "volume"),
            quote_volume=_dec(_get(payload, "quoteVolume"), "quoteVolume"),
        )
    except _Bad as bad:
        raise _fail(endpoint, str(bad), payload) from None


@dataclass(frozen=True, slots=True)
class BookTop:
    """Best bid and ask from the futures bookTicker, to complete a futures Ticker."""

    bid: Decimal
    ask: Decimal
    timestamp: int


def parse_book_ticker(payload: Any, *, endpoint: str = "/fapi/v1/ticker/bookTicker") -> BookTop:
    try:
        if not isinstance(payload, dict):
            raise _Bad("expected a JSON object")
        return BookTop(_dec(_get(payload, "bidPrice"), "bidPrice"),
                       _dec(_get(payload, "askPrice"), "askPrice"),
                       _ms(_get(payload, "time"), "time"))
    except _Bad as bad:
        raise _fail(endpoint, str(bad), payload) from None


# -- instruments and symbols ---------------------------------------------------------


def _filters(entry: Mapping[str, Any]) -> dict[str, Any]:
    filters = {}
    for item in _get(entry, "filters") or ():
        if isinstance(item, dict) and "filterType" in item:
            filters[item["filterType"]] = item
    price, lot = filters.get("PRICE_FILTER", {}), filters.get("LOT_SIZE", {})
    return {
        "tick_size": _optional(price, "tickSize"),
        "step_size": _optional(lot, "stepSize"),
        "min_amount": _optional(lot, "minQty"),
    }


def _instruments(payload: Any, endpoint: str,
                 read: Callable[[Mapping[str, Any]], dict[str, Any] | None]) -> list[Instrument]:
    symbols = payload.get("symbols") if isinstance(payload, dict) else None
    if not isinstance(symbols, list):
        raise _fail(endpoint, "expected an object with a 'symbols' array", payload)
    out = []
    for i, entry in enumerate(symbols):
        try:
            fields = read(entry)
            if fields is not None:
                out.append(Instrument(exchange=VENUE, native_symbol=_get(entry, "symbol"),
                                      active=entry.get("status") == "TRADING",
                                      **_filters(entry), **fields))
        except (_Bad, ValidationError, AttributeError) as bad:
            raise _fail(endpoint, f"symbols[{i}]: {bad}", entry) from None
    return out


def _spot_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    base, quote = _get(entry, "baseAsset"), _get(entry, "quoteAsset")
    return {"symbol": f"{base}/{quote}", "kind": "spot", "base": base, "quote": quote}


def _futures_entry(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    # Only perpetuals settled in their quote asset (USDT, USDC) are linear perpetuals;
    # quarterly delivery contracts (BTCUSDT_250926) are left out.
    base, quote = _get(entry, "baseAsset"), _get(entry, "quoteAsset")
    if entry.get("contractType") != "PERPETUAL" or entry.get("marginAsset") != quote:
        return None
    onboard = entry.get("onboardDate")
    return {"symbol": f"{base}/{quote}:{quote}", "kind": "linear", "base": base, "quote": quote,
            "settle": quote, "listed_at": None if onboard is None else _ms(onboard, "onboardDate")}


def parse_spot_instruments(payload: Any) -> list[Instrument]:
    """Every spot market of ``/api/v3/exchangeInfo`` (active or not) as ``BASE/QUOTE``."""
    return _instruments(payload, "/api/v3/exchangeInfo", _spot_entry)


def parse_futures_instruments(payload: Any) -> list[Instrument]:
    """The linear perpetuals of ``/fapi/v1/exchangeInfo`` as ``BASE/QUOTE:QUOTE``."""
    return _instruments(payload, "/fapi/v1/exchangeInfo", _futures_entry)


def spot_symbol_map(payload: Any) -> SymbolMap:
    """Derivation: the spot listing as a lookup table by unified symbol."""
    return SymbolMap(VENUE, parse_spot_instruments(payload))


def futures_symbol_map(payload: Any) -> SymbolMap:
    """Derivation: the USDⓈ-M perpetual listing as a lookup table by unified symbol."""
    return SymbolMap(VENUE, parse_futures_instruments(payload))


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
        if turn.path == "/api/v3/exchangeInfo":
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


class BinanceTicker(Binding, model=Ticker, connector=Binance):
    """The 24hr ticker. The futures 24hr ticker has no bid/ask, so futures plan a
    second turn, the bookTicker (weight 2), and take bid and ask from it;
    ``bid_ask=False`` skips it and leaves them None."""

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
