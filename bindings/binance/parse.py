"""Binance payloads into models: pure functions (payload in, models out) that check every
value they read; a malformed payload is a :class:`PayloadError` naming the row and field,
never a bare KeyError.

Binance sends prices and sizes as decimal strings (a JSON number there is
refused: it may already have lost digits) and times as JSON integers (digit
strings are taken too: recorded fixtures have them). Signs are left to the
models, as Binance sends signed values beside the ones read here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeflood.errors import PayloadError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade, trusted_builder
from tradeflood.parsing import Reader, candle_models
from tradeflood.symbols import SymbolMap

__all__ = [
    "VENUE",
    "BookTop",
    "futures_symbol_map",
    "parse_book_ticker",
    "parse_depth",
    "parse_futures_instruments",
    "parse_klines",
    "parse_spot_instruments",
    "parse_ticker",
    "parse_trades",
    "spot_symbol_map",
]

VENUE = "binance"
SPOT_EXCHANGE_INFO = "/api/v3/exchangeInfo"
FUTURES_EXCHANGE_INFO = "/fapi/v1/exchangeInfo"

candle = trusted_builder(Candle)
"""A Candle from values already checked (no re-validation): the hot path of klines."""
trade = trusted_builder(Trade)
"""A Trade from values already checked (no re-validation)."""
_book = trusted_builder(OrderBook)


def decimal(read: Reader, value: Any, field: str) -> Decimal:
    """Binance's decimal policy: strings only, signed values allowed."""
    return read.decimal(value, field, negative=True)


def optional_decimal(read: Reader, record: Mapping[str, Any], key: str) -> Decimal | None:
    """``record[key]`` by Binance's decimal policy, None when absent or null."""
    value = record.get(key)
    return None if value is None else decimal(read, value, key)


# -- klines ----------------------------------------------------------------------


def _kline_problem(read: Reader, row: object, i: int) -> PayloadError | None:
    """What is wrong with one kline row, or None: the slow path behind parse_klines."""
    if not isinstance(row, list):
        return read.fail(f"row {i} is {type(row).__name__}, not an array", row)
    if len(row) < 8:
        return read.fail(f"row {i} has {len(row)} fields, expected 12", row)
    r = read.at(row, f"row {i}")
    for j, name in ((0, "open time"), (6, "close time")):
        if type(row[j]) is not int or row[j] < 0:
            return r.fail(f"{name} {row[j]!r} is not an integer millisecond timestamp")
    try:
        for j, name in ((1, "open"), (2, "high"), (3, "low"), (4, "close"), (5, "volume"),
                        (7, "quote volume")):
            decimal(r, row[j], name)
    except PayloadError as err:
        return err
    return None


def parse_klines(payload: Any, *, symbol: str, native_symbol: str, interval: str,
                 received_ms: int, endpoint: str = "/api/v3/klines") -> list[Candle]:
    """Candles from a klines array, in the venue's (ascending) order.

    Rows are ``[openTime, open, high, low, close, volume, closeTime, quoteVolume,
    trades, takerBase, takerQuote, ignore]``; fields after the eighth are not read,
    so rows Binance may lengthen still parse. A candle is closed when its
    ``closeTime`` (the bar's last millisecond) is before the reply arrived. The
    page is read column by column and checked as it is built
    (:func:`tradeflood.parsing.candle_models`); a page that pass refuses is read
    row by row, which names the bad row.
    """
    if type(payload) is not list:
        raise Reader(VENUE, endpoint).fail("expected a JSON array of kline rows", payload)
    try:
        if not payload or set(map(type, payload)) != {list}:
            raise ValueError
        cols = list(zip(*payload, strict=False))  # as many as the shortest row has fields
        times, ends = cols[0], cols[6]
        values = (cols[1], cols[2], cols[3], cols[4], cols[5], cols[7])
        # Times exactly int (not bool, not float), values strings (join refuses anything else:
        # JSON numbers would lose exactness), and every spelling Decimal takes for NaN or
        # Infinity holds an "n" or "N".
        joined = "".join(map("".join, values))
        if (set(map(type, times)) != {int} or set(map(type, ends)) != {int} or min(times) < 0
                or "n" in joined or "N" in joined):
            raise ValueError
        return candle_models(exchange=VENUE, symbol=symbol, native_symbol=native_symbol,
                             interval=interval, times=times, values=values,
                             closed=list(map(received_ms.__gt__, ends)))
    except (ArithmeticError, TypeError, ValueError, IndexError):
        return _klines_by_row(payload, symbol=symbol, native_symbol=native_symbol, interval=interval,
                              received_ms=received_ms, endpoint=endpoint)


def _klines_by_row(payload: list[Any], *, symbol: str, native_symbol: str, interval: str,
                   received_ms: int, endpoint: str) -> list[Candle]:
    """parse_klines one row at a time: the page the column pass did not take (an empty one, or
    one with a bad row, which this names)."""
    out: list[Candle] = []
    append, build, dec = out.append, candle, Decimal
    try:
        for row in payload:
            if type(row) is not list or len(row) < 8:
                raise ValueError
            t, o, h, lo, c, v, ct, q = row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
            if not (type(t) is int and type(ct) is int and type(o) is str and type(h) is str
                    and type(lo) is str and type(c) is str and type(v) is str and type(q) is str):
                raise ValueError
            o, h, lo, c, v, q = dec(o), dec(h), dec(lo), dec(c), dec(v), dec(q)
            if not (o.is_finite() and h.is_finite() and lo.is_finite() and c.is_finite()
                    and v.is_finite() and q.is_finite() and t >= 0):
                raise ValueError
            append(build({
                "exchange": VENUE, "symbol": symbol, "native_symbol": native_symbol,
                "interval": interval, "open_time": t, "open": o, "high": h, "low": lo,
                "close": c, "volume": v, "quote_volume": q, "closed": ct < received_ms,
            }))
    except (ArithmeticError, TypeError, ValueError):
        read = Reader(VENUE, endpoint, payload)
        for i, row in enumerate(payload):
            problem = _kline_problem(read, row, i)
            if problem:
                raise problem from None
        raise read.fail("a kline row could not be read") from None
    return out


# -- order book, trades, tickers ---------------------------------------------------


def _levels(read: Reader, side: object, name: str) -> tuple[tuple[Decimal, Decimal], ...]:
    """``[[price, quantity], ...]`` as Decimal pairs, each value checked."""
    if not isinstance(side, list):
        raise read.fail(f"{name} is not an array")
    out = []
    for i, level in enumerate(side):
        if not isinstance(level, list) or len(level) < 2:
            raise read.fail(f"{name}[{i}] is not a [price, quantity] pair")
        out.append((decimal(read, level[0], f"{name}[{i}] price"),
                    decimal(read, level[1], f"{name}[{i}] quantity")))
    return tuple(out)


def parse_depth(payload: Any, *, symbol: str, native_symbol: str, received_ms: int,
                endpoint: str = "/api/v3/depth") -> OrderBook:
    """An order book from ``{"lastUpdateId", "bids", "asks"}`` (futures add ``E`` and
    ``T``). The timestamp is the futures transaction time ``T``; spot depth carries
    no time, so a spot book is stamped with the moment the reply arrived."""
    read = Reader(VENUE, endpoint, payload)
    book = read.record(payload)
    sequence = read.ms(read.field(book, "lastUpdateId"), "lastUpdateId")
    stamp = read.ms(book["T"], "T") if "T" in book else received_ms
    bids = _levels(read, read.field(book, "bids"), "bids")
    asks = _levels(read, read.field(book, "asks"), "asks")
    return _book({"exchange": VENUE, "symbol": symbol, "native_symbol": native_symbol,
                  "timestamp": stamp, "bids": bids, "asks": asks, "sequence": sequence})


def parse_trades(payload: Any, *, symbol: str, native_symbol: str,
                 endpoint: str = "/api/v3/trades") -> list[Trade]:
    """Trades from the recent-trades array, oldest first as Binance sends them.

    ``isBuyerMaker`` true means the buyer's order rested on the book, so the taker
    sold: side ``sell``.
    """
    read = Reader(VENUE, endpoint, payload)
    out: list[Trade] = []
    for i, row in enumerate(read.rows(payload, "trades")):
        r = read.at(row, f"trade {i}")
        trade_id = r.field(row, "id")
        if type(trade_id) is not int and not (type(trade_id) is str and trade_id.isdigit()):
            raise r.fail(f"id {trade_id!r} is not a trade id")
        maker = r.flag(r.field(row, "isBuyerMaker"), "isBuyerMaker")
        out.append(trade({
            "exchange": VENUE, "symbol": symbol, "native_symbol": native_symbol,
            "id": str(trade_id), "timestamp": r.ms(r.field(row, "time"), "time"),
            "price": decimal(r, r.field(row, "price"), "price"),
            "amount": decimal(r, r.field(row, "qty"), "qty"),
            "side": "sell" if maker else "buy",
        }))
    return out


def parse_ticker(payload: Any, *, symbol: str, native_symbol: str,
                 endpoint: str = "/api/v3/ticker/24hr") -> Ticker:
    """A ticker from the 24hr statistics of one symbol; ``closeTime`` is its time.

    Spot sends ``bidPrice``/``askPrice``; the futures 24hr ticker has none, so its
    bid and ask are None here (the binding adds them from the bookTicker).
    """
    read = Reader(VENUE, endpoint, payload)
    stats = read.record(payload)
    if read.field(stats, "symbol") != native_symbol:
        raise read.fail(f"symbol {stats['symbol']!r} is not the {native_symbol!r} asked for")

    def required(key: str) -> Decimal:
        return decimal(read, read.field(stats, key), key)

    return read.model(
        Ticker,
        exchange=VENUE, symbol=symbol, native_symbol=native_symbol,
        timestamp=read.ms(read.field(stats, "closeTime"), "closeTime"),
        last=required("lastPrice"), bid=optional_decimal(read, stats, "bidPrice"),
        ask=optional_decimal(read, stats, "askPrice"), high=required("highPrice"),
        low=required("lowPrice"), base_volume=required("volume"), quote_volume=required("quoteVolume"),
    )


@dataclass(frozen=True, slots=True)
class BookTop:
    """Best bid and ask from the futures bookTicker, to complete a futures Ticker."""

    bid: Decimal
    ask: Decimal
    timestamp: int


def parse_book_ticker(payload: Any, *, endpoint: str = "/fapi/v1/ticker/bookTicker") -> BookTop:
    """The best bid and ask of a futures ``bookTicker`` reply."""
    read = Reader(VENUE, endpoint, payload)
    top = read.record(payload)
    return BookTop(decimal(read, read.field(top, "bidPrice"), "bidPrice"),
                   decimal(read, read.field(top, "askPrice"), "askPrice"),
                   read.ms(read.field(top, "time"), "time"))


# -- instruments and symbols ---------------------------------------------------------


def _filters(read: Reader, entry: Mapping[str, Any]) -> dict[str, Any]:
    filters = {}
    for item in read.field(entry, "filters") or ():
        if isinstance(item, dict) and "filterType" in item:
            filters[item["filterType"]] = item
    price, lot = filters.get("PRICE_FILTER", {}), filters.get("LOT_SIZE", {})
    return {
        "tick_size": optional_decimal(read, price, "tickSize"),
        "step_size": optional_decimal(read, lot, "stepSize"),
        "min_amount": optional_decimal(read, lot, "minQty"),
    }


EntryReader = Callable[[Reader, Mapping[str, Any]], "dict[str, Any] | None"]


def _instruments(payload: Any, endpoint: str, read_entry: EntryReader) -> list[Instrument]:
    read = Reader(VENUE, endpoint, payload)
    symbols = payload.get("symbols") if isinstance(payload, dict) else None
    if not isinstance(symbols, list):
        raise read.fail("expected an object with a 'symbols' array")
    out = []
    for i, entry in enumerate(symbols):
        r = read.at(entry, f"symbols[{i}]")
        if not isinstance(entry, dict):
            raise r.fail(f"{type(entry).__name__}, not an object")
        fields = read_entry(r, entry)
        if fields is not None:
            out.append(r.model(Instrument, exchange=VENUE, native_symbol=r.field(entry, "symbol"),
                               active=entry.get("status") == "TRADING", **_filters(r, entry), **fields))
    return out


def _spot_entry(read: Reader, entry: Mapping[str, Any]) -> dict[str, Any]:
    base, quote = read.field(entry, "baseAsset"), read.field(entry, "quoteAsset")
    return {"symbol": f"{base}/{quote}", "kind": "spot", "base": base, "quote": quote}


def _futures_entry(read: Reader, entry: Mapping[str, Any]) -> dict[str, Any] | None:
    # Only perpetuals settled in their quote asset (USDT, USDC) are linear perpetuals;
    # quarterly delivery contracts (BTCUSDT_250926) are left out.
    base, quote = read.field(entry, "baseAsset"), read.field(entry, "quoteAsset")
    if entry.get("contractType") != "PERPETUAL" or entry.get("marginAsset") != quote:
        return None
    return {"symbol": f"{base}/{quote}:{quote}", "kind": "linear", "base": base, "quote": quote,
            "settle": quote, "listed_at": read.optional_ms(entry.get("onboardDate"), "onboardDate")}


def parse_spot_instruments(payload: Any) -> list[Instrument]:
    """Every spot market of ``/api/v3/exchangeInfo`` (active or not) as ``BASE/QUOTE``."""
    return _instruments(payload, SPOT_EXCHANGE_INFO, _spot_entry)


def parse_futures_instruments(payload: Any) -> list[Instrument]:
    """The linear perpetuals of ``/fapi/v1/exchangeInfo`` as ``BASE/QUOTE:QUOTE``."""
    return _instruments(payload, FUTURES_EXCHANGE_INFO, _futures_entry)


def spot_symbol_map(payload: Any) -> SymbolMap:
    """Derivation: the spot listing as a lookup table by unified symbol."""
    return SymbolMap(VENUE, parse_spot_instruments(payload))


def futures_symbol_map(payload: Any) -> SymbolMap:
    """Derivation: the USDⓈ-M perpetual listing as a lookup table by unified symbol."""
    return SymbolMap(VENUE, parse_futures_instruments(payload))
