"""Bybit's public v5 WebSocket: which topic serves each model, and how its pushes parse.

Topics (Bybit WebSocket "Public"): ``kline.<interval>.<symbol>`` (``confirm``
marks a bar's final push), ``publicTrade.<symbol>``, ``tickers.<symbol>`` and
``orderbook.200.<symbol>`` (snapshot, then deltas by update id ``u``). Spot
topics are on ``ws.spot``, linear ones on ``ws.linear``. Linear tickers send a
snapshot, then deltas holding only the fields that changed: each topic's last full
record is kept with every delta laid over it (:class:`.tickers_live.TickerRecords`,
shared with the funding-rate and open-interest streams of the same topic).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeflood import Query
from tradeflood.connectors.bybit import Bybit
from tradeflood.intervals import INTERVALS as UNIFIED
from tradeflood.intervals import validate_interval
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.parsing import Reader
from tradeflood.streams import BookDelta, BookSync, Frame, StreamBinding, Topic

from .book import BybitBookSync
from .parse import EXCHANGE, parse_ticker
from .rest import INTERVALS, category
from .tickers_live import ticker_records

__all__ = [
    "BOOK_DEPTH",
    "BybitBookStream",
    "BybitCandleStream",
    "BybitTickerStream",
    "BybitTradeStream",
    "parse_book_push",
    "parse_kline_push",
    "parse_trade_push",
]

BOOK_DEPTH = 200


def _topic(instrument: Instrument, name: str, every: float | None) -> Topic:
    endpoint = "ws.spot" if instrument.kind == "spot" else "ws.linear"
    return Topic(EXCHANGE, endpoint, name, (("symbol", instrument.native_symbol),), expected_every=every)


def _reader(frame: Frame) -> Reader:
    return Reader(EXCHANGE, f"ws {frame.topic}", frame.payload)


class _BybitStream(StreamBinding):
    @classmethod
    def check(cls, query: Query) -> None:
        category(query.symbol, "streams")


class BybitCandleStream(_BybitStream, model=Candle, connector=Bybit):
    """Live candles from ``kline.<interval>.<symbol>``."""

    expected_every = 5.0
    closes_explicitly = True

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        validate_interval(query.interval, tuple(i for i in UNIFIED if i in INTERVALS), "bybit kline streams")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        assert query.interval is not None
        name = f"kline.{INTERVALS[query.interval]}.{instrument.native_symbol}"
        return _topic(instrument, name, self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Candle]:
        assert query.symbol is not None and query.interval is not None
        return parse_kline_push(frame, query.symbol, topic.arg("symbol"), query.interval)


def parse_kline_push(frame: Frame, symbol: str, native: str, interval: str) -> list[Candle]:
    read = _reader(frame)
    out = []
    for i, rec in enumerate(read.records(frame.payload, "klines")):
        r = read.at(rec, f"kline {i}")

        def num(key: str, r: Reader = r, rec: dict[str, Any] = rec) -> Any:
            return r.decimal(rec.get(key), key)

        out.append(r.model(Candle, exchange=EXCHANGE, symbol=symbol, native_symbol=native, interval=interval,
                           open_time=r.ms(rec.get("start"), "start"), open=num("open"), high=num("high"),
                           low=num("low"), close=num("close"), volume=num("volume"),
                           quote_volume=num("turnover"), closed=r.flag(rec.get("confirm"), "confirm")))
    return out


class BybitTradeStream(_BybitStream, model=Trade, connector=Bybit):
    """Live public trades from ``publicTrade.<symbol>``."""

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, f"publicTrade.{instrument.native_symbol}", None)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Trade]:
        assert query.symbol is not None
        return parse_trade_push(frame, query.symbol, topic.arg("symbol"))


def parse_trade_push(frame: Frame, symbol: str, native: str) -> list[Trade]:
    """Trades from one ``publicTrade`` push (``T`` time, ``S`` side, ``v`` size, ``p`` price, ``i`` id)."""
    read = _reader(frame)
    out = []
    for i, rec in enumerate(read.records(frame.payload, "trades")):
        r = read.at(rec, f"trade {i}")
        side = rec.get("S")
        if side not in ("Buy", "Sell"):
            raise r.fail(f"S is {side!r}, expected Buy or Sell")
        out.append(r.model(Trade, exchange=EXCHANGE, symbol=symbol, native_symbol=native,
                           id=r.text(rec, "i"), timestamp=r.ms(rec.get("T"), "T"),
                           price=r.decimal(rec.get("p"), "p"), amount=r.decimal(rec.get("v"), "v"),
                           side=side.lower()))
    return out


class BybitTickerStream(_BybitStream, model=Ticker, connector=Bybit):
    """Live tickers from ``tickers.<symbol>`` (spot: snapshots; linear: a snapshot, then deltas)."""

    expected_every = 10.0

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, f"tickers.{instrument.native_symbol}", self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Ticker]:
        assert query.symbol is not None
        # The records are shared with the funding-rate and open-interest streams of the topic.
        ts = (frame.extra or {}).get("ts")
        stamp = ts if ts is not None else received_ms
        key = f"{topic.endpoint}:{topic.name}"
        record = ticker_records(self.api).apply(key, frame, _reader(frame), stamp)
        if record is None:
            return []  # a delta before any snapshot: nothing to lay it over
        return [parse_ticker(record, symbol=query.symbol, native_symbol=topic.arg("symbol"),
                             timestamp=stamp, endpoint=f"ws {topic.name}")]

    def current(self, query: Query, topic: Topic) -> Sequence[Ticker]:
        # A linear topic joined while carried for its funding or open interest: its merged record.
        found = ticker_records(self.api).current(f"{topic.endpoint}:{topic.name}")
        if found is None or query.symbol is None:
            return []
        record, stamp = found
        return [parse_ticker(record, symbol=query.symbol, native_symbol=topic.arg("symbol"),
                             timestamp=stamp, endpoint=f"ws {topic.name}")]


class BybitBookStream(_BybitStream, model=OrderBook, connector=Bybit):
    """Live books from ``orderbook.200.<symbol>``: the venue's snapshot, then deltas by ``u``."""

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, f"orderbook.{BOOK_DEPTH}.{instrument.native_symbol}", None)

    def book_sync(self, topic: Topic) -> BookSync:
        return BybitBookSync()

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[BookDelta]:
        return [parse_book_push(frame)]


def parse_book_push(frame: Frame) -> BookDelta:
    """A book delta from one ``orderbook`` push; a snapshot, or ``u`` = 1, is a full book."""
    read = _reader(frame)
    rec = read.record(frame.payload, "an orderbook object")
    u = read.integer(read.field(rec, "u"), "u")
    ts = (frame.extra or {}).get("ts")
    return BookDelta(last_id=u, bids=_levels(read, rec.get("b", ()), "b"),
                     asks=_levels(read, rec.get("a", ()), "a"),
                     timestamp=None if ts is None else read.ms(ts, "ts"),
                     is_snapshot=frame.action == "snapshot" or u == 1)


def _levels(read: Reader, raw: Any, side: str) -> list[tuple[str, str]]:
    if type(raw) is not list:
        raise read.fail(f"{side} is {type(raw).__name__}, expected a list of levels")
    for i, level in enumerate(raw):
        if type(level) is not list or len(level) < 2:
            raise read.fail(f"{side}[{i}] is {level!r}, expected [price, size]")
        read.decimal(level[0], f"{side}[{i}] price")
        read.decimal(level[1], f"{side}[{i}] size")
    return [(level[0], level[1]) for level in raw]
