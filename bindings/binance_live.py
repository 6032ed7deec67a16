"""Binance market streams: which stream serves each model, and how its events parse.

Streams (Binance WebSocket Streams, spot and USD-M futures): ``<s>@kline_<i>``,
``<s>@trade`` (spot) / ``<s>@aggTrade`` (futures, which has no raw trade
stream), ``<s>@ticker`` and ``<s>@depth@100ms`` (diff depth: ``U``/``u``, plus
``pu`` on futures; synced against a REST snapshot's ``lastUpdateId``). Symbols
are lower case in stream names. Spot streams are on ``ws``, futures on
``ws.futures``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from tradeflood.connectors.binance import Binance
from tradeflood.errors import PayloadError
from tradeflood.intervals import INTERVALS, validate_interval
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.query import Query
from tradeflood.streams._binding import StreamBinding
from tradeflood.streams._booksync import BinanceFuturesBookSync, BinanceSpotBookSync, BookDelta, BookSync
from tradeflood.streams._protocol import Frame, Topic

from .binance import _Bad, _candle, _dec, _get, _ms, _trade, market

__all__ = [
    "BinanceBookStream",
    "BinanceCandleStream",
    "BinanceTickerStream",
    "BinanceTradeStream",
    "parse_depth_update",
    "parse_kline_event",
    "parse_trade_event",
]

VENUE = "binance"
_HUGE = Decimal("1e30")
_STREAM_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w", "1M")


def _topic(instrument: Instrument, stream: str, every: float | None) -> Topic:
    endpoint = "ws" if instrument.kind == "spot" else "ws.futures"
    return Topic(VENUE, endpoint, f"{instrument.native_symbol.lower()}@{stream}", expected_every=every)


def _fail(frame: Frame, detail: str) -> PayloadError:
    return PayloadError(VENUE, f"ws {frame.topic}", detail, frame.payload)


def _event(frame: Frame) -> dict[str, Any]:
    data = frame.payload
    if type(data) is not dict:
        raise _fail(frame, f"expected an event object, got {type(data).__name__}")
    return data


class _BinanceStream(StreamBinding):
    @classmethod
    def check(cls, query: Query) -> None:
        market(query)  # refuses inverse contracts with a clear QueryError


class BinanceCandleStream(_BinanceStream, model=Candle, connector=Binance):
    """Live candles from ``<s>@kline_<interval>`` (pushed about every 2 s; ``x`` marks the close)."""

    expected_every = 5.0
    closes_explicitly = True

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        validate_interval(query.interval, tuple(i for i in INTERVALS if i in _STREAM_INTERVALS),
                          "binance kline streams")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, f"kline_{query.interval}", self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Candle]:
        assert query.symbol is not None and query.interval is not None
        return [parse_kline_event(frame, query.symbol, query.interval)]


def parse_kline_event(frame: Frame, symbol: str, interval: str) -> Candle:
    """One candle from a ``kline`` event; ``closed`` is the event's ``x`` flag."""
    data = _event(frame)
    try:
        k = _get(data, "k")
        closed = _get(k, "x", "k.")
        if type(closed) is not bool:
            raise _Bad(f"k.x {closed!r} is not a boolean")
        return _candle({
            "exchange": VENUE, "symbol": symbol, "native_symbol": _get(data, "s"), "interval": interval,
            "open_time": _ms(_get(k, "t", "k."), "k.t"), "open": _dec(_get(k, "o", "k."), "k.o"),
            "high": _dec(_get(k, "h", "k."), "k.h"), "low": _dec(_get(k, "l", "k."), "k.l"),
            "close": _dec(_get(k, "c", "k."), "k.c"), "volume": _dec(_get(k, "v", "k."), "k.v"),
            "quote_volume": _dec(_get(k, "q", "k."), "k.q"), "closed": closed,
        })
    except _Bad as bad:
        raise _fail(frame, str(bad)) from None


class BinanceTradeStream(_BinanceStream, model=Trade, connector=Binance):
    """Live trades: ``<s>@trade`` on spot, ``<s>@aggTrade`` on futures (ids are the aggregate ids)."""

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "trade" if instrument.kind == "spot" else "aggTrade", None)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Trade]:
        assert query.symbol is not None
        return [parse_trade_event(frame, query.symbol)]


def parse_trade_event(frame: Frame, symbol: str) -> Trade:
    """One trade from a ``trade`` or ``aggTrade`` event; ``m`` (buyer is maker) means a sell."""
    data = frame.payload
    try:
        ident = data["t"] if "t" in data else data["a"]
        maker, when, price, amount = data["m"], data["T"], Decimal(data["p"]), Decimal(data["q"])
        # One check for all: ints where ints belong, strings were given (Decimal takes ints and
        # floats too), and finite positive numbers (NaN compares False; Infinity is caught too).
        if (type(ident) is not int or type(maker) is not bool or type(when) is not int
                or type(data["p"]) is not str or type(data["q"]) is not str
                or not (0 < price < _HUGE and 0 <= amount < _HUGE)):
            raise _Bad(f"a field of trade {ident!r} has the wrong type or value")
        return _trade({
            "exchange": VENUE, "symbol": symbol, "native_symbol": data["s"], "id": str(ident),
            "timestamp": when, "price": price, "amount": amount, "side": "sell" if maker else "buy",
        })
    except (_Bad, KeyError, TypeError, ArithmeticError) as bad:
        raise _fail(frame, f"{type(bad).__name__}: {bad}") from None


class BinanceTickerStream(_BinanceStream, model=Ticker, connector=Binance):
    """Live 24-hour tickers from ``<s>@ticker`` (about one a second; futures carry no bid/ask)."""

    expected_every = 10.0

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "ticker", self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Ticker]:
        assert query.symbol is not None
        data = _event(frame)

        def num(key: str) -> Any:
            return _dec(data[key], key) if data.get(key) is not None else None

        try:
            return [Ticker(exchange=VENUE, symbol=query.symbol, native_symbol=_get(data, "s"),
                           timestamp=_ms(_get(data, "E"), "E"), last=num("c"), bid=num("b"), ask=num("a"),
                           high=num("h"), low=num("l"), base_volume=num("v"), quote_volume=num("q"))]
        except _Bad as bad:
            raise _fail(frame, str(bad)) from None


class BinanceBookStream(_BinanceStream, model=OrderBook, connector=Binance):
    """Live books from ``<s>@depth@100ms`` synced against a REST snapshot of 1000 levels."""

    snapshot_depth: ClassVar[int] = 1000

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "depth@100ms", None)

    def book_sync(self, topic: Topic) -> BookSync:
        return BinanceSpotBookSync() if topic.endpoint == "ws" else BinanceFuturesBookSync()

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[BookDelta]:
        return [parse_depth_update(frame)]


def parse_depth_update(frame: Frame) -> BookDelta:
    """A book delta from a ``depthUpdate`` event (``pu`` present on futures)."""
    data = _event(frame)
    try:
        first, last = data["U"], data["u"]
        prev = data.get("pu")
        if type(first) is not int or type(last) is not int or (prev is not None and type(prev) is not int):
            raise _Bad("U, u and pu must be integers")
        return BookDelta(first_id=first, last_id=last, prev_id=prev, bids=_levels(data["b"], "b"),
                         asks=_levels(data["a"], "a"), timestamp=_ms(data["E"], "E"))
    except (_Bad, KeyError, TypeError) as bad:
        raise _fail(frame, f"{type(bad).__name__}: {bad}") from None


def _levels(raw: Any, side: str) -> list[tuple[str, str]]:
    if type(raw) is not list:
        raise _Bad(f"{side} must be a list of levels")
    out = []
    for level in raw:
        if type(level) is not list or len(level) < 2:
            raise _Bad(f"{side} level {level!r} must be [price, size]")
        _dec(level[0], f"{side} price")
        _dec(level[1], f"{side} size")
        out.append((level[0], level[1]))
    return out
