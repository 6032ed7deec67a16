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

from tradeflood import Query
from tradeflood.connectors.binance import Binance
from tradeflood.intervals import INTERVALS, validate_interval
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade, trusted_setters
from tradeflood.parsing import CheckedDecimals, Reader
from tradeflood.streams import BookDelta, BookSync, Frame, StreamBinding, Topic

from .book import BinanceFuturesBookSync, BinanceSpotBookSync
from .parse import VENUE, candle, decimal
from .rest import market

__all__ = [
    "BinanceBookStream",
    "BinanceCandleStream",
    "BinanceTickerStream",
    "BinanceTradeStream",
    "parse_depth_update",
    "parse_kline_event",
    "parse_trade_event",
]

_STREAM_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w", "1M")


def _topic(instrument: Instrument, stream: str, every: float | None) -> Topic:
    endpoint = "ws" if instrument.kind == "spot" else "ws.futures"
    return Topic(VENUE, endpoint, f"{instrument.native_symbol.lower()}@{stream}", expected_every=every)


def _reader(frame: Frame) -> Reader:
    return Reader(VENUE, f"ws {frame.topic}", frame.payload)


def _event(frame: Frame) -> dict[str, Any]:
    return _reader(frame).record(frame.payload, "an event object")


class _BinanceStream(StreamBinding):
    """What every Binance stream shares: inverse contracts are refused."""

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
    read = _reader(frame)
    k = read.record(read.field(data, "k"), "k to be an object")
    k_read = read.at(frame.payload, "k")

    def value(key: str) -> Decimal:
        return decimal(k_read, k_read.field(k, key), key)

    return candle({
        "exchange": VENUE, "symbol": symbol, "native_symbol": read.field(data, "s"), "interval": interval,
        "open_time": k_read.ms(k_read.field(k, "t"), "t"), "open": value("o"), "high": value("h"),
        "low": value("l"), "close": value("c"), "volume": value("v"), "quote_volume": value("q"),
        "closed": k_read.flag(k_read.field(k, "x"), "x"),
    })


class BinanceTradeStream(_BinanceStream, model=Trade, connector=Binance):
    """Live trades: ``<s>@trade`` on spot, ``<s>@aggTrade`` on futures (ids are the aggregate ids)."""

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "trade" if instrument.kind == "spot" else "aggTrade", None)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Trade]:
        assert query.symbol is not None
        return [parse_trade_event(frame, query.symbol)]


_PRICES = CheckedDecimals()
_AMOUNTS = CheckedDecimals(zero=True)  # a zero size passes here; the trade rule refuses it by name
# The caches' dicts themselves (never replaced, only cleared), looked up once per module.
_KNOWN_PRICES, _KNOWN_AMOUNTS = _PRICES.known, _AMOUNTS.known


# A trade built in line (what trusted_builder(Trade) does, without its call per trade).
if Trade.__private_attributes__:  # pragma: no cover (they would need their own slot value)
    raise TypeError("Trade gained private attributes: build it with trusted_builder(Trade)")
_new = object.__new__
_set_dict, _set_fields, _set_extra, _set_private = trusted_setters()
_FIELDS = set(Trade.model_fields)


def parse_trade_event(frame: Frame, symbol: str) -> Trade:
    """One trade from a ``trade`` or ``aggTrade`` event; ``m`` (buyer is maker) means a sell."""
    data = frame.payload
    try:
        ident = data["t"] if "t" in data else data["a"]
        maker, when, p, q, native = data["m"], data["T"], data["p"], data["q"], data["s"]
        # Price and size texts repeat: a text seen before is known valid (a string of a finite
        # number, the price positive, the size not negative, both below 1e30) and its Decimal
        # is reused; a new one is checked once.
        price = _KNOWN_PRICES.get(p)
        if price is None:
            price = _PRICES.read(p)
        amount = _KNOWN_AMOUNTS.get(q)
        if amount is None:
            amount = _AMOUNTS.read(q)
    except (KeyError, TypeError) as bad:
        raise _reader(frame).fail(f"{type(bad).__name__}: {bad}") from None
    if (type(ident) is not int or type(maker) is not bool or type(when) is not int
            or price is None or amount is None):
        raise _reader(frame).fail(f"a field of trade {ident!r} has the wrong type or value")
    obj = _new(Trade)
    _set_dict(obj, {
        "exchange": VENUE, "symbol": symbol, "native_symbol": native, "id": str(ident),
        "timestamp": when, "price": price, "amount": amount, "side": "sell" if maker else "buy",
    })
    _set_fields(obj, _FIELDS)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


class BinanceTickerStream(_BinanceStream, model=Ticker, connector=Binance):
    """Live 24-hour tickers from ``<s>@ticker`` (about one a second; futures carry no bid/ask)."""

    expected_every = 10.0

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "ticker", self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Ticker]:
        assert query.symbol is not None
        data = _event(frame)
        read = _reader(frame)

        def num(key: str) -> Decimal | None:
            value = data.get(key)
            return None if value is None else decimal(read, value, key)

        return [read.model(Ticker, exchange=VENUE, symbol=query.symbol, native_symbol=read.field(data, "s"),
                           timestamp=read.ms(read.field(data, "E"), "E"), last=num("c"), bid=num("b"),
                           ask=num("a"), high=num("h"), low=num("l"), base_volume=num("v"),
                           quote_volume=num("q"))]


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
    read = _reader(frame)
    prev = data.get("pu")
    return BookDelta(first_id=read.integer(read.field(data, "U"), "U"),
                     last_id=read.integer(read.field(data, "u"), "u"),
                     prev_id=None if prev is None else read.integer(prev, "pu"),
                     bids=_levels(read, read.field(data, "b"), "b"),
                     asks=_levels(read, read.field(data, "a"), "a"),
                     timestamp=read.ms(read.field(data, "E"), "E"))


def _levels(read: Reader, raw: Any, side: str) -> list[tuple[str, str]]:
    """Levels as the venue spelled them, each value checked."""
    if type(raw) is not list:
        raise read.fail(f"{side} must be a list of levels")
    out = []
    for level in raw:
        if type(level) is not list or len(level) < 2:
            raise read.fail(f"{side} level {level!r} must be [price, size]")
        decimal(read, level[0], f"{side} price")
        decimal(read, level[1], f"{side} size")
        out.append((level[0], level[1]))
    return out
