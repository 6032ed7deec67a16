"""OKX v5 payloads into models: pure functions, payload in (the envelope's ``data``), models out.

Wire facts used here (OKX API v5 docs, "Market Data" and "Public Data";
cross-checked against recorded replies in ccxt's static fixtures):

- every number is a string; candle rows are ``[ts, o, h, l, c, vol, volCcy,
  volCcyQuote, confirm]``, newest first; ``confirm`` is ``"1"`` for a closed bar;
- on spot rows ``vol`` is in base and ``volCcy`` in quote; on swap rows ``vol``
  is in contracts, ``volCcy`` in base and ``volCcyQuote`` in quote;
- book levels are ``[px, sz, "0", numOrders]``; swap book and trade sizes are in
  contracts of ``ctVal`` base each. TradeFlood's models hold base amounts, so
  swap sizes are multiplied by the instrument's ``contract_size`` (ccxt keeps
  contracts: the reference tests compare with that in mind).
"""

from __future__ import annotations

import itertools
from decimal import Decimal, InvalidOperation
from typing import Any

from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade, trusted_builder
from tradeflood.parsing import Reader, candle_models, string_columns
from tradeflood.symbols import SymbolMap

__all__ = [
    "EXCHANGE",
    "INSTRUMENTS",
    "okx_symbol_map",
    "parse_candles",
    "parse_instruments",
    "parse_order_book",
    "parse_ticker",
    "parse_trades",
    "scaled",
]

EXCHANGE = "okx"
INSTRUMENTS = "/api/v5/public/instruments"
_ONE = Decimal(1)
_candle = trusted_builder(Candle)


def okx_symbol_map(payload: Any) -> SymbolMap:
    """An instrument list (SPOT or SWAP) as a lookup table (a derivation of the listing turn)."""
    return SymbolMap(EXCHANGE, parse_instruments(payload))


def scaled(text: str, contract_size: Decimal) -> str:
    """A size in contracts as a base amount, spelled without exponent (``"14881"`` x 0.01 -> ``"148.81"``)."""
    if contract_size == _ONE:
        return text
    value = Decimal(text) * contract_size
    out = format(value.normalize(), "f") if value else "0"
    return out


def parse_instruments(payload: Any, endpoint: str = INSTRUMENTS) -> list[Instrument]:
    """Spot pairs and swaps from ``/api/v5/public/instruments``; ``live`` ones are active.

    A linear swap ``BTC-USDT-SWAP`` is ``BTC/USDT:USDT`` (base from ``ctValCcy``, quote and
    settle from ``settleCcy``), an inverse one ``BTC/USD:BTC``. Swap amounts (step,
    minimum) are given in base: ``lotSz`` and ``minSz`` times ``ctVal``.
    """
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for i, rec in enumerate(read.records(payload, "instruments")):
        r = read.at(rec, f"instrument {i}")
        kind = r.text(rec, "instType")
        inst_id = r.text(rec, "instId")
        tick = r.decimal(rec.get("tickSz"), "tickSz")
        lot = r.decimal(rec.get("lotSz"), "lotSz")
        min_sz = r.optional_decimal(rec.get("minSz"), "minSz")
        listed = r.optional_ms(rec.get("listTime"), "listTime", absent=(None, "", "0"))
        if kind == "SPOT":
            base, quote = r.text(rec, "baseCcy").upper(), r.text(rec, "quoteCcy").upper()
            out.append(r.model(
                Instrument, exchange=EXCHANGE, symbol=f"{base}/{quote}", native_symbol=inst_id,
                kind="spot", base=base, quote=quote, active=rec.get("state") == "live",
                tick_size=tick, step_size=lot, min_amount=min_sz, listed_at=listed))
            continue
        if kind != "SWAP":
            continue  # futures and options: not served
        ct_val = r.decimal(rec.get("ctVal"), "ctVal")
        settle = r.text(rec, "settleCcy").upper()
        family = r.text(rec, "instFamily" if rec.get("instFamily") else "uly").upper()
        base, sep, quote = family.partition("-")
        if not sep or not base or not quote:
            raise r.fail(f"instFamily is {family!r}, expected BASE-QUOTE")
        linear = rec.get("ctType") == "linear"
        out.append(r.model(
            Instrument, exchange=EXCHANGE, symbol=f"{base}/{quote}:{settle}", native_symbol=inst_id,
            kind="linear" if linear else "inverse", base=base, quote=quote, settle=settle,
            active=rec.get("state") == "live", tick_size=tick,
            step_size=lot * ct_val if linear else lot,
            min_amount=None if min_sz is None else (min_sz * ct_val if linear else min_sz),
            contract_size=ct_val, listed_at=listed))
    return out


# -- candles -------------------------------------------------------------------

_COLUMNS = ("ts", "open", "high", "low", "close", "vol", "volCcy", "volCcyQuote", "confirm")


def parse_candles(
    rows: Any, *, symbol: str, native_symbol: str, interval: str, spot: bool,
    endpoint: str = "candles",
) -> list[Candle]:
    """Candles from OKX rows, oldest first (the venue sends newest first).

    ``volume`` is in base (spot ``vol``, swap ``volCcy``), ``quote_volume`` is
    ``volCcyQuote``; ``closed`` is the venue's ``confirm`` flag. Every value is
    checked; a bad row raises a PayloadError naming the row and the field. The page
    is read column by column and checked as it is built
    (:func:`tradeflood.parsing.candle_models`).
    """
    if type(rows) is not list:
        raise Reader(EXCHANGE, endpoint).fail(
            f"expected a list of candle rows, got {type(rows).__name__}", rows)
    v = 5 if spot else 6
    try:
        cols = string_columns(rows, newest_first=True)
        if not set(cols[8]) <= {"0", "1"}:
            raise ValueError
        return candle_models(exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
                             interval=interval, times=list(map(int, cols[0])),
                             closed=[flag == "1" for flag in cols[8]],
                             values=(cols[1], cols[2], cols[3], cols[4], cols[v], cols[7]), sort=True)
    except (TypeError, ValueError, IndexError, InvalidOperation, OverflowError):
        return _candles_by_row(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                               v=v, endpoint=endpoint)


def _candles_by_row(rows: list[Any], *, symbol: str, native_symbol: str, interval: str, v: int,
                    endpoint: str) -> list[Candle]:
    """parse_candles one row at a time: the page the column pass did not take (an empty one,
    or one with a bad row, which this names)."""
    D, build = Decimal, _candle
    out: list[Candle] = []
    append = out.append
    try:
        for row in reversed(rows):
            joined = "".join(row)
            if type(row) is not list or "n" in joined or "N" in joined or row[8] not in ("0", "1"):
                raise ValueError
            append(build({
                "exchange": EXCHANGE, "symbol": symbol, "native_symbol": native_symbol,
                "interval": interval, "open_time": int(row[0]), "open": D(row[1]), "high": D(row[2]),
                "low": D(row[3]), "close": D(row[4]), "volume": D(row[v]), "quote_volume": D(row[7]),
                "closed": row[8] == "1",
            }))
    except (TypeError, ValueError, IndexError, InvalidOperation, OverflowError):
        raise _bad_candle(rows, len(rows) - 1 - len(out), endpoint) from None
    if any(a.open_time >= b.open_time for a, b in itertools.pairwise(out)):
        out.sort(key=lambda c: c.open_time)
    return out


def _bad_candle(rows: list[Any], index: int, endpoint: str) -> Exception:
    """The slow path behind parse_candles: what is wrong with the row that failed."""
    row = rows[index]
    read = Reader(EXCHANGE, endpoint, row, f"candle row {index}")
    if type(row) is not list:
        return read.fail(f"is {type(row).__name__}, expected an array")
    if len(row) < len(_COLUMNS):
        return read.fail(f"has {len(row)} fields, expected {len(_COLUMNS)}")
    for name, value in zip(_COLUMNS, row, strict=False):
        if type(value) is not str:
            return read.fail(f"{name} is {value!r} ({type(value).__name__}), expected a string")
        if name == "ts" and not value.isdigit():
            return read.fail(f"ts is {value!r}, not integer milliseconds")
        if name == "confirm" and value not in ("0", "1"):
            return read.fail(f"confirm is {value!r}, expected \"0\" or \"1\"")
        if name not in ("ts", "confirm"):
            read.decimal(value, name)
    return read.fail("cannot be read")


# -- order books, trades, tickers -------------------------------------------------

def _levels(read: Reader, raw: Any, side: str, contract_size: Decimal) -> list[tuple[Decimal, Decimal]]:
    if type(raw) is not list:
        raise read.fail(f"{side} is {type(raw).__name__}, expected a list of levels")
    out = []
    for i, level in enumerate(raw):
        if type(level) is not list or len(level) < 2:
            raise read.fail(f"{side}[{i}] is {level!r}, expected [px, sz, \"0\", numOrders]")
        # Signs are left to the value checks (tradeflood.checks): a book with a negative level
        # is refused like every venue's, or has no result under invalid="drop".
        out.append((read.decimal(level[0], f"{side}[{i}] px", negative=True),
                    read.decimal(level[1], f"{side}[{i}] sz", negative=True) * contract_size))
    return out


def parse_order_book(
    payload: Any, *, symbol: str, native_symbol: str, depth: int | None = None,
    contract_size: Decimal = _ONE, endpoint: str = "books",
) -> OrderBook:
    """An order book from ``/api/v5/market/books`` data (a list of one book), best first,
    sizes in base; ``sequence`` is the book's ``seqId`` when the reply carries one."""
    read = Reader(EXCHANGE, endpoint, payload)
    books = read.records(payload, "books")
    if len(books) != 1:
        raise read.fail(f"expected one book, got {len(books)}")
    book = books[0]
    bids = sorted(_levels(read, book.get("bids"), "bids", contract_size), key=lambda lv: -lv[0])
    asks = sorted(_levels(read, book.get("asks"), "asks", contract_size), key=lambda lv: lv[0])
    seq = book.get("seqId")
    return read.model(
        OrderBook, exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
        timestamp=read.ms(book.get("ts"), "ts"), bids=tuple(bids[:depth]), asks=tuple(asks[:depth]),
        sequence=None if seq is None else read.integer(seq, "seqId", strings=True))


def parse_trades(
    payload: Any, *, symbol: str, native_symbol: str, contract_size: Decimal = _ONE,
    endpoint: str = "trades",
) -> list[Trade]:
    """Public trades from ``/api/v5/market/trades`` (or the ``trades`` channel), oldest first
    (then by id); amounts in base; ``side`` is the taker's."""
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for i, rec in enumerate(read.records(payload, "trades")):
        r = read.at(rec, f"trade {i}")
        side = rec.get("side")
        if side not in ("buy", "sell"):
            raise r.fail(f"side is {side!r}, expected buy or sell")
        # Signs are left to the value checks (tradeflood.checks): a trade at a negative price
        # or size is refused like every venue's, or dropped alone under invalid="drop".
        out.append(r.model(
            Trade, exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
            id=r.text(rec, "tradeId"), timestamp=r.ms(rec.get("ts"), "ts"),
            price=r.decimal(rec.get("px"), "px", negative=True),
            amount=r.decimal(rec.get("sz"), "sz", negative=True) * contract_size, side=side))
    out.sort(key=lambda t: (t.timestamp, len(t.id), t.id))
    return out


def parse_ticker(payload: Any, *, symbol: str, native_symbol: str, endpoint: str = "ticker") -> Ticker:
    """The ticker of ``native_symbol`` from ``/api/v5/market/ticker`` data (or the ``tickers``
    channel). Spot: ``vol24h`` base, ``volCcy24h`` quote. Swap: ``volCcy24h`` is the base
    volume and the venue gives no quote volume (None)."""
    read = Reader(EXCHANGE, endpoint, payload)
    records = read.records(payload, "tickers")
    rec = next((r for r in records if r.get("instId") == native_symbol), None)
    if rec is None:
        raise read.fail(f"no ticker for {native_symbol} among {len(records)}")
    r = read.at(rec)

    # A sign is left to the value checks (tradeflood.checks), which refuse a negative price
    # or volume like every venue's, or drop the ticker under invalid="drop".
    def num(key: str) -> Decimal | None:
        return r.optional_decimal(rec.get(key), key, negative=True)

    spot = rec.get("instType") == "SPOT" or not native_symbol.endswith("-SWAP")
    return r.model(
        Ticker, exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
        timestamp=r.ms(rec.get("ts"), "ts"), last=num("last"), bid=num("bidPx"), ask=num("askPx"),
        high=num("high24h"), low=num("low24h"),
        base_volume=num("vol24h") if spot else num("volCcy24h"),
        quote_volume=num("volCcy24h") if spot else None)
