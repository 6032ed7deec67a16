"""Bitget payloads into models: pure functions, payload in (what :meth:`Bitget.unwrap`
returned, i.e. the envelope's ``data``), models out, every value checked::

    candles = parse_candles(rows, symbol="BTC/USDT", native_symbol="BTCUSDT",
                            interval="1m", received_ms=now_ms, spot=True)

Wire facts used here (Bitget API docs, www.bitget.com/api-doc; cross-checked
against recorded replies): candle rows are arrays of strings (open time, open,
high, low, close, base volume, then spot: USDT volume and quote volume; mix:
quote volume); instrument, book, trade and ticker values are strings, except
the mix ``merge-depth`` book, which sends JSON numbers (read through their
shortest spelling, the text the venue wrote). Prices and sizes are never
negative.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from tradeflood.errors import PayloadError
from tradeflood.intervals import interval_end, interval_ms
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade, trusted_builder
from tradeflood.parsing import Reader, candle_models, closed_flags, string_columns
from tradeflood.symbols import SymbolMap

__all__ = [
    "EXCHANGE",
    "contract_symbol_map",
    "parse_candles",
    "parse_contracts",
    "parse_order_book",
    "parse_spot_symbols",
    "parse_ticker",
    "parse_trades",
    "spot_symbol_map",
]

EXCHANGE = "bitget"
SPOT_SYMBOLS = "/api/v2/spot/public/symbols"
CONTRACTS = "/api/v2/mix/market/contracts"

#: "Never" or "not announced" spellings of the listing times.
_NO_TIME = frozenset({None, "", "-1", -1, "0", 0})


def spot_symbol_map(payload: Any) -> SymbolMap:
    """The spot instrument list as a lookup table (a derivation of the listing turn)."""
    return SymbolMap(EXCHANGE, parse_spot_symbols(payload))


def contract_symbol_map(payload: Any) -> SymbolMap:
    """The USDT-M perpetual list as a lookup table (a derivation of the listing turn)."""
    return SymbolMap(EXCHANGE, parse_contracts(payload))


# -- instruments ---------------------------------------------------------------

def parse_spot_symbols(payload: Any, endpoint: str = SPOT_SYMBOLS) -> list[Instrument]:
    """Spot instruments from ``/api/v2/spot/public/symbols``; ``online`` ones are active."""
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for rec in read.records(payload):
        r = read.at(rec)
        base = r.text(rec, "baseCoin").upper()
        quote = r.text(rec, "quoteCoin").upper()
        out.append(r.model(
            Instrument,
            exchange=EXCHANGE, symbol=f"{base}/{quote}", native_symbol=r.text(rec, "symbol"),
            kind="spot", base=base, quote=quote, active=rec.get("status") == "online",
            tick_size=r.step(rec.get("pricePrecision"), "pricePrecision"),
            step_size=r.step(rec.get("quantityPrecision"), "quantityPrecision"),
            min_amount=r.optional_decimal(rec.get("minTradeAmount"), "minTradeAmount", numbers=True),
            listed_at=r.optional_ms(rec.get("openTime"), "openTime", absent=_NO_TIME),
        ))
    return out


def parse_contracts(payload: Any, endpoint: str = CONTRACTS) -> list[Instrument]:
    """USDT-M perpetuals from ``/api/v2/mix/market/contracts`` (delivery contracts are
    skipped: unified symbols for them are not settled yet); ``normal`` ones are active.

    The price tick is ``priceEndStep x 10^-pricePlace``; the amount step is
    ``sizeMultiplier`` (``10^-volumePlace`` if absent), in base-coin units.
    """
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for rec in read.records(payload):
        if rec.get("symbolType", "perpetual") != "perpetual":
            continue
        r = read.at(rec)
        base = r.text(rec, "baseCoin").upper()
        quote = r.text(rec, "quoteCoin").upper()
        tick = r.step(rec.get("pricePlace"), "pricePlace")
        end_step = r.optional_decimal(rec.get("priceEndStep"), "priceEndStep", numbers=True)
        if end_step is not None:
            tick *= end_step
        step = r.optional_decimal(rec.get("sizeMultiplier"), "sizeMultiplier", numbers=True)
        if step is None:
            step = r.step(rec.get("volumePlace"), "volumePlace")
        out.append(r.model(
            Instrument,
            exchange=EXCHANGE, symbol=f"{base}/{quote}:{quote}",
            native_symbol=r.text(rec, "symbol"), kind="linear", base=base, quote=quote,
            settle=quote, active=rec.get("symbolStatus") == "normal", tick_size=tick, step_size=step,
            min_amount=r.optional_decimal(rec.get("minTradeNum"), "minTradeNum", numbers=True),
            listed_at=r.optional_ms(rec.get("launchTime"), "launchTime", absent=_NO_TIME),
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
    PayloadError naming the row and the field. The page is read column by
    column and checked as it is built (:func:`tradeflood.parsing.candle_models`).
    """
    if type(rows) is not list:
        raise Reader(EXCHANGE, endpoint).fail(
            f"expected a list of candle rows, got {type(rows).__name__}", rows)
    q = 7 if spot else 6
    try:
        cols = string_columns(rows)
        times = list(map(int, cols[0]))
        closed = closed_flags(times, interval, received_ms)
        return candle_models(exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
                             interval=interval, times=times, closed=closed,
                             values=(cols[1], cols[2], cols[3], cols[4], cols[5], cols[q]))
    except (TypeError, ValueError, IndexError, InvalidOperation, OverflowError):
        return _candles_by_row(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                               received_ms=received_ms, q=q, endpoint=endpoint)


def _candles_by_row(rows: list[Any], *, symbol: str, native_symbol: str, interval: str,
                    received_ms: int, q: int, endpoint: str) -> list[Candle]:
    """parse_candles one row at a time: the page the column pass did not take (an empty one,
    or one with a bad row, which this names)."""
    monthly = interval == "1M"
    cutoff = received_ms - interval_ms(interval)
    D, build = Decimal, _candle
    out: list[Candle] = []
    append = out.append
    try:
        for row in rows:
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
    """The slow path behind parse_candles: what is wrong with the row that failed."""
    row = rows[index]
    read = Reader(EXCHANGE, endpoint, row, f"candle row {index}")
    if type(row) is not list:
        return Reader(EXCHANGE, endpoint, row).fail(
            f"candle row {index} is {type(row).__name__}, expected an array")
    if len(row) < width:
        return Reader(EXCHANGE, endpoint, row).fail(
            f"candle row {index} has {len(row)} fields, expected at least {width}")
    names = _SPOT_COLUMNS if width == len(_SPOT_COLUMNS) else _MIX_COLUMNS
    for name, value in zip(names, row, strict=False):
        if type(value) is not str:
            return read.fail(f"{name} is {value!r} ({type(value).__name__}), expected a decimal string")
        if name == "open time":
            if not value.strip().isdigit():
                return read.fail(f"open time is {value!r}, not integer milliseconds")
            continue
        try:
            finite = Decimal(value).is_finite()
        except InvalidOperation:
            finite = False
        if not finite:
            return read.fail(f"{name} is {value!r}, not a finite number")
    return read.fail("cannot be read")


# -- order books, trades, tickers -------------------------------------------------

def _levels(read: Reader, raw: Any, side: str) -> list[tuple[Decimal, Decimal]]:
    if type(raw) is not list:
        raise read.fail(f"{side} is {type(raw).__name__}, expected a list of levels")
    out = []
    for i, level in enumerate(raw):
        if type(level) is not list or len(level) < 2:
            raise read.fail(f"{side}[{i}] is {level!r}, expected [price, size]")
        # Signs are left to the value checks (tradeflood.checks): a book with a negative level
        # is refused like every venue's, or has no result under invalid="drop".
        out.append((read.decimal(level[0], f"{side}[{i}] price", numbers=True, negative=True),
                    read.decimal(level[1], f"{side}[{i}] size", numbers=True, negative=True)))
    return out


def parse_order_book(
    payload: Any, *, symbol: str, native_symbol: str, depth: int | None = None,
    endpoint: str = "orderbook",
) -> OrderBook:
    """An order book from spot ``orderbook`` or mix ``merge-depth`` data, best levels
    first, cut to ``depth`` levels a side. Mix sends JSON numbers; their shortest
    decimal spelling is taken, which is the text the venue wrote."""
    read = Reader(EXCHANGE, endpoint, payload)
    book = read.record(payload, "an object with bids, asks and ts")
    bids = sorted(_levels(read, book.get("bids"), "bids"), key=lambda lv: -lv[0])
    asks = sorted(_levels(read, book.get("asks"), "asks"), key=lambda lv: lv[0])
    return read.model(
        OrderBook,
        exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
        timestamp=read.ms(book.get("ts"), "ts"),
        bids=tuple(bids[:depth]), asks=tuple(asks[:depth]),
        sequence=read.optional_ms(book.get("seq"), "seq"),
    )


def parse_trades(
    payload: Any, *, symbol: str, native_symbol: str, endpoint: str = "fills",
) -> list[Trade]:
    """Public trades from spot or mix ``fills``, oldest first (then by id); ``side`` is
    the taker's, lower case."""
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for rec in read.records(payload):
        r = read.at(rec)
        side = rec.get("side")
        side = side.lower() if type(side) is str else side
        if side not in ("buy", "sell"):
            raise r.fail(f"side is {rec.get('side')!r}, expected Buy or Sell")
        # Signs are left to the value checks (tradeflood.checks): a trade at a negative price
        # or size is refused like every venue's, or dropped alone under invalid="drop".
        out.append(r.model(
            Trade,
            exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
            id=r.text(rec, "tradeId"), timestamp=r.ms(rec.get("ts"), "ts"),
            price=r.decimal(rec.get("price"), "price", numbers=True, negative=True),
            amount=r.decimal(rec.get("size"), "size", numbers=True, negative=True), side=side,
        ))
    out.sort(key=lambda t: (t.timestamp, len(t.id), t.id))
    return out


def parse_ticker(
    payload: Any, *, symbol: str, native_symbol: str, endpoint: str = "ticker",
) -> Ticker:
    """The ticker of ``native_symbol`` from spot ``tickers`` or mix ``ticker`` data (a list).
    Fields the venue leaves empty are None."""
    read = Reader(EXCHANGE, endpoint, payload)
    records = read.records(payload)
    rec = next((r for r in records if r.get("symbol") == native_symbol), None)
    if rec is None:
        raise read.fail(f"no ticker for {native_symbol} among {len(records)}")
    r = read.at(rec)

    # A sign is left to the value checks (tradeflood.checks), which refuse a negative price
    # or volume like every venue's, or drop the ticker under invalid="drop".
    def num(key: str) -> Decimal | None:
        return r.optional_decimal(rec.get(key), key, numbers=True, negative=True)

    return r.model(
        Ticker,
        exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
        timestamp=r.ms(rec.get("ts"), "ts"),
        last=num("lastPr"), bid=num("bidPr"), ask=num("askPr"), high=num("high24h"),
        low=num("low24h"), base_volume=num("baseVolume"), quote_volume=num("quoteVolume"),
    )
