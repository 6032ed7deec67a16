"""Bybit v5 payloads into models: pure functions, payload in (the envelope's ``result`` with the
envelope's ``time`` added, see :meth:`Bybit.unwrap`), models out.

Wire facts used here (Bybit API v5 docs, "Market"; cross-checked against
recorded replies in ccxt's static fixtures): every number is a string; kline
rows are ``[startTime, open, high, low, close, volume, turnover]``, newest
first, volume in base and turnover in quote (linear sizes are in base too);
books are ``{"s", "b", "a", "ts", "u", "seq"}`` with ``[price, size]`` levels;
trades ``{"execId", "price", "size", "side": "Buy"|"Sell", "time"}``; tickers
carry no time of their own (the reply's ``time`` stands for it).
"""

from __future__ import annotations

import itertools
from decimal import Decimal, InvalidOperation
from typing import Any

from tradeflood.intervals import interval_end
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade, trusted_builder
from tradeflood.parsing import Reader, candle_models, closed_flags, string_columns
from tradeflood.symbols import SymbolMap

__all__ = [
    "EXCHANGE",
    "INSTRUMENTS",
    "bybit_symbol_map",
    "parse_candles",
    "parse_instruments",
    "parse_order_book",
    "parse_ticker",
    "parse_trades",
]

EXCHANGE = "bybit"
INSTRUMENTS = "/v5/market/instruments-info"
_candle = trusted_builder(Candle)


def bybit_symbol_map(payload: Any) -> SymbolMap:
    """An instrument list (spot or linear) as a lookup table (a derivation of the listing turn)."""
    return SymbolMap(EXCHANGE, parse_instruments(payload))


def _list(read: Reader, result: Any) -> list[dict[str, Any]]:
    rec = read.record(result, "a result object with a list")
    return read.records(rec.get("list"), "list entries")


def parse_instruments(payload: Any, endpoint: str = INSTRUMENTS) -> list[Instrument]:
    """Spot pairs and linear perpetuals from ``instruments-info`` (one result, or the pages of a
    cursor-paged one); ``Trading`` ones are active; delivery futures are skipped."""
    read = Reader(EXCHANGE, endpoint, payload)
    pages = payload if type(payload) is list else [payload]
    out = []
    for page in pages:
        for i, rec in enumerate(_list(read, page)):
            r = read.at(rec, f"instrument {i}")
            contract = rec.get("contractType")
            if contract is not None and contract != "LinearPerpetual":
                continue
            base, quote = r.text(rec, "baseCoin").upper(), r.text(rec, "quoteCoin").upper()
            lot = rec.get("lotSizeFilter") or {}
            price = rec.get("priceFilter") or {}
            if type(lot) is not dict or type(price) is not dict:
                raise r.fail("lotSizeFilter and priceFilter must be objects")
            common = dict(exchange=EXCHANGE, native_symbol=r.text(rec, "symbol"), base=base, quote=quote,
                          active=rec.get("status") == "Trading",
                          tick_size=r.optional_decimal(price.get("tickSize"), "tickSize"),
                          min_amount=r.optional_decimal(lot.get("minOrderQty"), "minOrderQty"))
            if contract is None:
                out.append(r.model(Instrument, symbol=f"{base}/{quote}", kind="spot",
                                   step_size=r.optional_decimal(lot.get("basePrecision"), "basePrecision"),
                                   **common))
            else:
                settle = r.text(rec, "settleCoin").upper()
                out.append(r.model(
                    Instrument, symbol=f"{base}/{quote}:{settle}", kind="linear", settle=settle,
                    step_size=r.optional_decimal(lot.get("qtyStep"), "qtyStep"),
                    listed_at=r.optional_ms(rec.get("launchTime"), "launchTime", absent=(None, "", "0")),
                    **common))
    return out


_COLUMNS = ("startTime", "open", "high", "low", "close", "volume", "turnover")


def parse_candles(
    payload: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int,
    closes: int | None = None, endpoint: str = "kline",
) -> list[Candle]:
    """Candles from a ``kline`` result (or its ``list``), oldest first.

    REST rows do not say whether a bar has closed: a bar is closed when its end
    (``closes``, the interval's length after its open, or the next open) is at
    or before ``received_ms``.
    """
    rows = payload.get("list") if type(payload) is dict else payload
    if type(rows) is not list:
        raise Reader(EXCHANGE, endpoint).fail("expected a list of kline rows", payload)
    try:
        cols = string_columns(rows, newest_first=True)
        times = list(map(int, cols[0]))
        closed = closed_flags(times, interval, received_ms)
        return candle_models(exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
                             interval=interval, times=times, closed=closed,
                             values=(cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]), sort=True)
    except (TypeError, ValueError, IndexError, InvalidOperation, OverflowError):
        return _candles_by_row(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                               received_ms=received_ms, endpoint=endpoint)


def _candles_by_row(rows: list[Any], *, symbol: str, native_symbol: str, interval: str,
                    received_ms: int, endpoint: str) -> list[Candle]:
    """parse_candles one row at a time: the page the column pass did not take (an empty one,
    or one with a bad row, which this names)."""
    D, build = Decimal, _candle
    out: list[Candle] = []
    try:
        for row in reversed(rows):
            joined = "".join(row)
            if type(row) is not list or len(row) < 7 or "n" in joined or "N" in joined:
                raise ValueError
            t = int(row[0])
            out.append(build({
                "exchange": EXCHANGE, "symbol": symbol, "native_symbol": native_symbol, "interval": interval,
                "open_time": t, "open": D(row[1]), "high": D(row[2]), "low": D(row[3]), "close": D(row[4]),
                "volume": D(row[5]), "quote_volume": D(row[6]),
                "closed": interval_end(t, interval) <= received_ms,
            }))
    except (TypeError, ValueError, IndexError, InvalidOperation, OverflowError):
        index = len(rows) - 1 - len(out)
        read = Reader(EXCHANGE, endpoint, rows[index], f"kline row {index}")
        row = rows[index]
        if type(row) is not list or len(row) < 7:
            raise read.fail(f"is {row!r}, expected 7 strings") from None
        for name, value in zip(_COLUMNS, row, strict=False):
            if name == "startTime":
                read.ms(value, name)
            else:
                read.decimal(value, name)
        raise read.fail("cannot be read") from None
    if any(a.open_time >= b.open_time for a, b in itertools.pairwise(out)):
        out.sort(key=lambda c: c.open_time)
    return out


def _levels(read: Reader, raw: Any, side: str) -> list[tuple[Decimal, Decimal]]:
    if type(raw) is not list:
        raise read.fail(f"{side} is {type(raw).__name__}, expected a list of levels")
    out = []
    for i, level in enumerate(raw):
        if type(level) is not list or len(level) < 2:
            raise read.fail(f"{side}[{i}] is {level!r}, expected [price, size]")
        # Signs are left to the value checks (tradeflood.checks): a book with a negative level
        # is refused like every venue's, or has no result under invalid="drop".
        out.append((read.decimal(level[0], f"{side}[{i}] price", negative=True),
                    read.decimal(level[1], f"{side}[{i}] size", negative=True)))
    return out


def parse_order_book(payload: Any, *, symbol: str, native_symbol: str, depth: int | None = None,
                     endpoint: str = "orderbook") -> OrderBook:
    """An order book from an ``orderbook`` result, best first; ``sequence`` is its update id ``u``."""
    read = Reader(EXCHANGE, endpoint, payload)
    book = read.record(payload, "an orderbook result")
    bids = sorted(_levels(read, book.get("b"), "b"), key=lambda lv: -lv[0])
    asks = sorted(_levels(read, book.get("a"), "a"), key=lambda lv: lv[0])
    return read.model(OrderBook, exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
                      timestamp=read.ms(book.get("ts"), "ts"), bids=tuple(bids[:depth]),
                      asks=tuple(asks[:depth]),
                      sequence=None if book.get("u") is None else read.integer(book["u"], "u", strings=True))


def parse_trades(payload: Any, *, symbol: str, native_symbol: str,
                 endpoint: str = "recent-trade") -> list[Trade]:
    """Public trades from a ``recent-trade`` result, oldest first (then by id); side lower case."""
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for i, rec in enumerate(_list(read, payload)):
        r = read.at(rec, f"trade {i}")
        side = rec.get("side")
        if side not in ("Buy", "Sell"):
            raise r.fail(f"side is {side!r}, expected Buy or Sell")
        # Signs are left to the value checks (tradeflood.checks): a trade at a negative price
        # or size is refused like every venue's, or dropped alone under invalid="drop".
        out.append(r.model(Trade, exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
                           id=r.text(rec, "execId"), timestamp=r.ms(rec.get("time"), "time"),
                           price=r.decimal(rec.get("price"), "price", negative=True),
                           amount=r.decimal(rec.get("size"), "size", negative=True),
                           side=side.lower()))
    out.sort(key=lambda t: (t.timestamp, len(t.id), t.id))
    return out


def parse_ticker(record: dict[str, Any], *, symbol: str, native_symbol: str, timestamp: Any,
                 endpoint: str = "tickers") -> Ticker:
    """A ticker from one ``tickers`` entry (REST or stream); ``timestamp`` is the reply's or push's."""
    r = Reader(EXCHANGE, endpoint, record)

    # A sign is left to the value checks (tradeflood.checks), which refuse a negative price
    # or volume like every venue's, or drop the ticker under invalid="drop".
    def num(key: str) -> Decimal | None:
        return r.optional_decimal(record.get(key), key, negative=True)

    return r.model(Ticker, exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
                   timestamp=r.ms(timestamp, "time"), last=num("lastPrice"), bid=num("bid1Price"),
                   ask=num("ask1Price"), high=num("highPrice24h"), low=num("lowPrice24h"),
                   base_volume=num("volume24h"), quote_volume=num("turnover24h"))


def find_ticker(payload: Any, native_symbol: str, endpoint: str = "tickers") -> dict[str, Any]:
    """The ``tickers`` entry of ``native_symbol`` in a REST result."""
    read = Reader(EXCHANGE, endpoint, payload)
    records = _list(read, payload)
    rec = next((r for r in records if r.get("symbol") == native_symbol), None)
    if rec is None:
        raise read.fail(f"no ticker for {native_symbol} among {len(records)}")
    return rec
