"""Bitget bindings: candles, order books, trades, tickers and instruments, spot and USDT-M perpetuals.

Plans resolve the unified symbol through the venue's instrument list (one
session-cached turn per market kind), so an unknown symbol fails before any
data request. Parse functions are module-level and pure: a payload (what
:meth:`Bitget.unwrap` returned, i.e. the envelope's ``data``) in, models out::

    candles = parse_candles(rows, symbol="BTC/USDT", native_symbol="BTCUSDT",
                            interval="1m", received_ms=now_ms, spot=True)

Wire facts used here (Bitget API docs, www.bitget.com/api-doc; cross-checked
against recorded replies and request URLs in ccxt's static fixtures):

- candle rows are arrays of strings: open time, open, high, low, close, base
  volume, then spot: USDT volume and quote volume; mix: quote volume;
- the recent ``candles`` endpoints serve up to 1000 rows, and only reach back
  30 days (1m/3m/5m; "one month"), 52 (15m), 62 (30m), 83 (1H), 120 (2H),
  240 (4H), 360 (6H); ``history-candles`` serve up to 200 rows of any age;
  mix candle requests span at most 90 days;
- day, week and month bars (and 6h/12h) open at midnight UTC+8 unless the
  ``...utc`` granularity is asked for; unified bars open on UTC edges, so
  6h/12h/1d/1w/1M map to ``6Hutc``/``12Hutc``/``1Dutc``/``1Wutc``/``1Mutc``;
- spot order books take ``limit`` 1..150 (default 150); mix ``merge-depth``
  takes the fixed levels 1/5/15/50/max (default 100) and sends numbers, not
  strings;
- recent trades: spot ``limit`` default 100, at most 500; mix at most 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from tradeflood.binding import Binding, ParseContext, Part
from tradeflood.candles import CandleBinding, CandleSeries
from tradeflood.columnar import candle_columns_bitget
from tradeflood.connectors.bitget import Bitget
from tradeflood.errors import PayloadError, QueryError, UnknownSymbolError
from tradeflood.intervals import INTERVALS, interval_end, interval_ms, validate_interval
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade, trusted_builder
from tradeflood.paging import PageSource
from tradeflood.query import Query
from tradeflood.symbols import SymbolMap, native_id, split_symbol
from tradeflood.turn import Derived, Turn

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
    "contract_symbol_map",
    "market_kind",
    "parse_candles",
    "parse_contracts",
    "parse_order_book",
    "parse_spot_symbols",
    "parse_ticker",
    "parse_trades",
    "spot_symbol_map",
]

EXCHANGE = "bitget"
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

_SPOT_SYMBOLS = "/api/v2/spot/public/symbols"
_CONTRACTS = "/api/v2/mix/market/contracts"


# -- symbols -----------------------------------------------------------------

def market_kind(symbol: str | None, what: str) -> str:
    """``spot`` or ``linear`` for a unified symbol Bitget serves, else a QueryError."""
    if not symbol:
        raise QueryError(f"bitget {what} need a symbol, e.g. symbol='BTC/USDT' or 'BTC/USDT:USDT'")
    unified = split_symbol(symbol)
    if unified.kind == "spot":
        return "spot"
    if unified.kind == "linear" and unified.settle == "USDT":
        return "linear"
    raise QueryError(
        f"bitget {what} for {symbol!r} are not supported yet: only spot (BASE/QUOTE) and "
        "USDT-margined perpetuals (BASE/USDT:USDT) are; coin-margined (inverse) and "
        "USDC-margined markets are not"
    )


def spot_symbol_map(payload: Any) -> SymbolMap:
    """The spot instrument list as a lookup table (a derivation of the listing turn)."""
    return SymbolMap(EXCHANGE, parse_spot_symbols(payload))


def contract_symbol_map(payload: Any) -> SymbolMap:
    """The USDT-M perpetual list as a lookup table (a derivation of the listing turn)."""
    return SymbolMap(EXCHANGE, parse_contracts(payload))


def _resolve(api: Bitget, symbol: str | None, what: str) -> tuple[str, Derived]:
    kind = market_kind(symbol, what)
    if kind == "spot":
        return kind, api.spot_symbols().derive(spot_symbol_map).derive(native_id, symbol)
    return kind, api.contracts().derive(contract_symbol_map).derive(native_id, symbol)


# -- small checked conversions (instrument, book, trade and ticker payloads) --

def _fail(endpoint: str, detail: str, body: Any) -> PayloadError:
    return PayloadError(EXCHANGE, endpoint, detail, body)


def _dec(value: Any, what: str, endpoint: str, body: Any) -> Decimal:
    """A finite, non-negative decimal from a string (or a JSON number, via its shortest repr)."""
    kind = type(value)
    try:
        if kind is str or kind is int:
            d = Decimal(value)
        elif kind is float:
            d = Decimal(repr(value))
        else:
            raise InvalidOperation
    except InvalidOperation:
        raise _fail(endpoint, f"{what} is {value!r}, not a decimal number", body) from None
    if not d.is_finite() or d < 0:
        raise _fail(endpoint, f"{what} is {value!r}, not a finite non-negative number", body)
    return d


def _opt_dec(value: Any, what: str, endpoint: str, body: Any) -> Decimal | None:
    return None if value is None or value == "" else _dec(value, what, endpoint, body)


def _ms(value: Any, what: str, endpoint: str, body: Any) -> int:
    if type(value) is int and value >= 0:
        return value
    if type(value) is str and value.isdigit():
        return int(value)
    raise _fail(endpoint, f"{what} is {value!r}, not a millisecond timestamp", body)


def _opt_ms(value: Any, what: str, endpoint: str, body: Any) -> int | None:
    if value is None or value in ("", "-1", -1, "0", 0):
        return None
    return _ms(value, what, endpoint, body)


def _text(record: dict[str, Any], key: str, endpoint: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(endpoint, f"field {key!r} is {value!r}, expected a non-empty string", record)
    return value


def _records(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
        raise _fail(endpoint, "expected a list of objects", payload)
    return payload


def _step(places: Any, what: str, endpoint: str, body: Any) -> Decimal:
    """``10^-places`` from a count of decimal places."""
    if type(places) is str and places.isdigit():
        places = int(places)
    if type(places) is not int or not 0 <= places <= 30:
        raise _fail(endpoint, f"{what} is {places!r}, not a number of decimal places", body)
    return Decimal(1).scaleb(-places)


def _model(cls: Any, endpoint: str, body: Any, **fields: Any) -> Any:
    try:
        return cls(**fields)
    except ValidationError as err:
        raise _fail(endpoint, f"cannot build {cls.__name__}: {err.errors()[0]['msg']}", body) from None


# -- instruments ---------------------------------------------------------------

def parse_spot_symbols(payload: Any, endpoint: str = _SPOT_SYMBOLS) -> list[Instrument]:
    """Spot instruments from ``/api/v2/spot/public/symbols``; ``online`` ones are active."""
    out = []
    for rec in _records(payload, endpoint):
        base = _text(rec, "baseCoin", endpoint).upper()
        quote = _text(rec, "quoteCoin", endpoint).upper()
        out.append(_model(
            Instrument, endpoint, rec,
            exchange=EXCHANGE, symbol=f"{base}/{quote}", native_symbol=_text(rec, "symbol", endpoint),
            kind="spot", base=base, quote=quote, active=rec.get("status") == "online",
            tick_size=_step(rec.get("pricePrecision"), "pricePrecision", endpoint, rec),
            step_size=_step(rec.get("quantityPrecision"), "quantityPrecision", endpoint, rec),
            min_amount=_opt_dec(rec.get("minTradeAmount"), "minTradeAmount", endpoint, rec),
            listed_at=_opt_ms(rec.get("openTime"), "openTime", endpoint, rec),
        ))
    return out


def parse_contracts(payload: Any, endpoint: str = _CONTRACTS) -> list[Instrument]:
    """USDT-M perpetuals from ``/api/v2/mix/market/contracts`` (delivery contracts are
    skipped: unified symbols for them are not settled yet); ``normal`` ones are active.

    The price tick is ``priceEndStep x 10^-pricePlace``; the amount step is
    ``sizeMultiplier`` (``10^-volumePlace`` if absent), in base-coin units.
    """
    out = []
    for rec in _records(payload, endpoint):
        if rec.get("symbolType", "perpetual") != "perpetual":
            continue
        base = _text(rec, "baseCoin", endpoint).upper()
        quote = _text(rec, "quoteCoin", endpoint).upper()
        tick = _step(rec.get("pricePlace"), "pricePlace", endpoint, rec)
        end_step = rec.get("priceEndStep")
        if end_step not in (None, ""):
            tick *= _dec(end_step, "priceEndStep", endpoint, rec)
        step = _opt_dec(rec.get("sizeMultiplier"), "sizeMultiplier", endpoint, rec)
        if step is None:
            step = _step(rec.get("volumePlace"), "volumePlace", endpoint, rec)
        out.append(_model(
            Instrument, endpoint, rec,
            exchange=EXCHANGE, symbol=f"{base}/{quote}:{quote}",
            native_symbol=_text(rec, "symbol", endpoint), kind="linear", base=base, quote=quote,
            settle=quote, active=rec.get("symbolStatus") == "normal", tick_size=tick,
            step_size=step, min_amount=_opt_dec(rec.get("minTradeNum"), "minTradeNum", endpoint, rec),
            listed_at=_opt_ms(rec.get("launchTime"), "launchTime", endpoint, rec),
        ))
    return out


# -- candles -------------------------------------------------------------------

_MIX_COLUMNS = ("open time", "open", "high", "low", "close", "base volume", "quote volume")
_SPOT_COLUMNS = (*_MIX_COLUMNS[:6], "USDT volume", "quote volume")
# Candles are built without re-validation: every value is checked here.
_candle = trusted_builder(Candle)


def parse_candles(
    rows: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int,
    spot: bool, endpoint: str = "candles",
) -> list[Candle]:
    """Candles from Bitget candle rows, in the order sent.

    ``closed`` is True once the bar's end is at or before ``received_ms``. The
    quote volume is column 7 on spot rows (column 6 is the USDT volume) and
    column 6 on mix rows. Every value is checked; a bad row raises a
    PayloadError naming the row and the field.
    """
    if type(rows) is not list:
        raise _fail(endpoint, f"expected a list of candle rows, got {type(rows).__name__}", rows)
    q = 7 if spot else 6
    monthly = interval == "1M"
    # A fixed-length bar has closed when it opened at or before this instant.
    cutoff = received_ms - interval_ms(interval)
    D, build = Decimal, _candle
    out: list[Candle] = []
    append = out.append
    try:
        for row in rows:
            # One pass of cheap checks stands in for a check per field: join refuses
            # anything but strings (JSON numbers would lose exactness), and every
            # spelling Decimal accepts for NaN or Infinity holds an "n" or "N".
            joined = "".join(row)
            if type(row) is not list or "n" in joined or "N" in joined:
                raise ValueError
            t = int(row[0])
            append(build({
                "exchange": EXCHANGE, "symbol": symbol, "native_symbol": native_symbol,
                "interval": interval, "open_time": t, "open": D(row[1]), "high": D(row[2]),
                "low": D(row[3]), "close": D(row[4]), "volume": D(row[5]),
                "quote_volume": D(row[q]),
                "closed": interval_end(t, interval) <= received_ms if monthly else t <= cutoff,
            }))
    except (TypeError, ValueError, IndexError, InvalidOperation, OverflowError):
        raise _bad_candle(rows, len(out), q + 1, endpoint) from None
    return out


def _bad_candle(rows: list[Any], index: int, width: int, endpoint: str) -> PayloadError:
    row = rows[index]
    where = f"candle row {index}"
    if type(row) is not list:
        return _fail(endpoint, f"{where} is {type(row).__name__}, expected an array", row)
    if len(row) < width:
        return _fail(endpoint, f"{where} has {len(row)} fields, expected at least {width}", row)
    names = _SPOT_COLUMNS if width == len(_SPOT_COLUMNS) else _MIX_COLUMNS
    for name, value in zip(names, row, strict=False):
        if type(value) is not str:
            return _fail(endpoint, f"{where}: {name} is {value!r} ({type(value).__name__}), "
                         "expected a decimal string", row)
        try:
            finite = Decimal(value).is_finite()
        except InvalidOperation:
            finite = False
        if not finite or (name == "open time" and not value.strip().isdigit()):
            return _fail(endpoint, f"{where}: {name} is {value!r}, not a finite number"
                         if name != "open time" else
                         f"{where}: open time is {value!r}, not integer milliseconds", row)
    return _fail(endpoint, f"{where} cannot be read", row)


# -- order books, trades, tickers -------------------------------------------------

def _levels(raw: Any, side: str, endpoint: str, body: Any) -> list[tuple[Decimal, Decimal]]:
    if not isinstance(raw, list):
        raise _fail(endpoint, f"{side} is {type(raw).__name__}, expected a list of levels", body)
    out = []
    for i, level in enumerate(raw):
        if not isinstance(level, list) or len(level) < 2:
            raise _fail(endpoint, f"{side}[{i}] is {level!r}, expected [price, size]", body)
        out.append((_dec(level[0], f"{side}[{i}] price", endpoint, body),
                    _dec(level[1], f"{side}[{i}] size", endpoint, body)))
    return out


def parse_order_book(
    payload: Any, *, symbol: str, native_symbol: str, depth: int | None = None,
    endpoint: str = "orderbook",
) -> OrderBook:
    """An order book from spot ``orderbook`` or mix ``merge-depth`` data, best levels
    first, cut to ``depth`` levels a side. Mix sends JSON numbers; their shortest
    decimal spelling is taken, which is the text the venue wrote."""
    if not isinstance(payload, dict):
        raise _fail(endpoint, "expected an object with bids, asks and ts", payload)
    bids = sorted(_levels(payload.get("bids"), "bids", endpoint, payload), key=lambda lv: -lv[0])
    asks = sorted(_levels(payload.get("asks"), "asks", endpoint, payload), key=lambda lv: lv[0])
    seq = payload.get("seq")
    return _model(
        OrderBook, endpoint, payload,
        exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
        timestamp=_ms(payload.get("ts"), "ts", endpoint, payload),
        bids=tuple(bids[:depth]), asks=tuple(asks[:depth]),
        sequence=None if seq in (None, "") else _ms(seq, "seq", endpoint, payload),
    )


def parse_trades(
    payload: Any, *, symbol: str, native_symbol: str, endpoint: str = "fills",
) -> list[Trade]:
    """Public trades from spot or mix ``fills``, oldest first (then by id); ``side`` is
    the taker's, lower case."""
    out = []
    for rec in _records(payload, endpoint):
        side = rec.get("side")
        side = side.lower() if isinstance(side, str) else side
        if side not in ("buy", "sell"):
            raise _fail(endpoint, f"side is {rec.get('side')!r}, expected Buy or Sell", rec)
        out.append(_model(
            Trade, endpoint, rec,
            exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
            id=_text(rec, "tradeId", endpoint),
            timestamp=_ms(rec.get("ts"), "ts", endpoint, rec),
            price=_dec(rec.get("price"), "price", endpoint, rec),
            amount=_dec(rec.get("size"), "size", endpoint, rec), side=side,
        ))
    out.sort(key=lambda t: (t.timestamp, len(t.id), t.id))
    return out


def parse_ticker(
    payload: Any, *, symbol: str, native_symbol: str, endpoint: str = "ticker",
) -> Ticker:
    """The ticker of ``native_symbol`` from spot ``tickers`` or mix ``ticker`` data (a list).
    Fields the venue leaves empty are None."""
    records = _records(payload, endpoint)
    rec = next((r for r in records if r.get("symbol") == native_symbol), None)
    if rec is None:
        raise _fail(endpoint, f"no ticker for {native_symbol} among {len(records)}", payload)

    def num(key: str) -> Decimal | None:
        return _opt_dec(rec.get(key), key, endpoint, rec)

    return _model(
        Ticker, endpoint, rec,
        exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
        timestamp=_ms(rec.get("ts"), "ts", endpoint, rec),
        last=num("lastPr"), bid=num("bidPr"), ask=num("askPr"), high=num("high24h"),
        low=num("low24h"), base_volume=num("baseVolume"), quote_volume=num("quoteVolume"),
    )


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
        if turn.path == _SPOT_SYMBOLS:
            return parse_spot_symbols(payload, turn.path)
        return parse_contracts(payload, turn.path)

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> list[Instrument]:
        items: list[Instrument] = [i for part in parts for i in part.items]
        if not query.symbol:
            return items
        found = [i for i in items if i.symbol == query.symbol]
        if not found:
            raise UnknownSymbolError(EXCHANGE, query.symbol, {i.symbol for i in items})
        return found


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
        return self.single(parts)


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
        return self.single(parts)
