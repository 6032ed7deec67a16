"""Bitget's public v2 WebSocket: which channel serves each model, and how its pushes parse.

Channels (Bitget WebSocket API, public channels): ``candle<granularity>``,
``trade``, ``ticker`` and ``books`` (full depth: a snapshot, then updates with
``seq``/``pseq`` and a CRC32 ``checksum`` of the top 25 levels). A topic is
``{"instType": "SPOT" | "USDT-FUTURES", "channel": ..., "instId": "BTCUSDT"}``.
Candle rows on the WebSocket are ``[ts, open, high, low, close, baseVolume,
quoteVolume, usdtVolume]``: unlike REST spot rows, the quote volume is column 6
for spot and perpetuals alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeflood import Query
from tradeflood.connectors.bitget import USDT_FUTURES, Bitget, topic_name
from tradeflood.errors import QueryError
from tradeflood.intervals import INTERVALS, validate_interval
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.parsing import Reader
from tradeflood.streams import BookDelta, BookSync, Frame, StreamBinding, Topic

from .book import BitgetBookSync
from .parse import EXCHANGE, parse_candles, parse_ticker, parse_trades

__all__ = [
    "CANDLE_CHANNELS",
    "BitgetBookStream",
    "BitgetCandleStream",
    "BitgetTickerStream",
    "BitgetTradeStream",
    "parse_book_push",
]

#: Interval -> WebSocket candle channel (UTC-aligned variants for 6h and longer).
CANDLE_CHANNELS = {
    "1m": "candle1m", "5m": "candle5m", "15m": "candle15m", "30m": "candle30m",
    "1h": "candle1H", "4h": "candle4H", "6h": "candle6Hutc", "12h": "candle12Hutc",
    "1d": "candle1Dutc", "1w": "candle1Wutc", "1M": "candle1Mutc",
}


def _topic(instrument: Instrument, channel: str, every: float | None) -> Topic:
    arg = {"instType": "SPOT" if instrument.kind == "spot" else USDT_FUTURES,
           "channel": channel, "instId": instrument.native_symbol}
    return Topic(EXCHANGE, "ws", topic_name(arg), tuple(arg.items()), expected_every=every)


def _check_market(query: Query, what: str) -> None:
    if query.symbol is not None and ":" in query.symbol and not query.symbol.endswith(":USDT"):
        raise QueryError(f"bitget {what} streams serve spot pairs and USDT-M perpetuals "
                         f"(BASE/USDT:USDT), not {query.symbol}")


def _reader(frame: Frame) -> Reader:
    return Reader(EXCHANGE, f"ws {frame.topic}", frame.payload)


class BitgetCandleStream(StreamBinding, model=Candle, connector=Bitget):
    """Live candles from ``candle<granularity>`` (the forming bar, pushed as it changes)."""

    expected_every = 5.0

    @classmethod
    def check(cls, query: Query) -> None:
        _check_market(query, "candle")
        validate_interval(query.interval, tuple(i for i in INTERVALS if i in CANDLE_CHANNELS),
                          "bitget candle streams")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        assert query.interval is not None
        return _topic(instrument, CANDLE_CHANNELS[query.interval], self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Candle]:
        assert query.symbol is not None and query.interval is not None
        return parse_candles(frame.payload, symbol=query.symbol, native_symbol=topic.arg("instId"),
                             interval=query.interval, received_ms=received_ms, spot=False,
                             endpoint=f"ws {topic.name}")


class BitgetTradeStream(StreamBinding, model=Trade, connector=Bitget):
    """Live public trades from ``trade`` (the first push is a snapshot of recent ones)."""

    @classmethod
    def check(cls, query: Query) -> None:
        _check_market(query, "trade")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "trade", None)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Trade]:
        assert query.symbol is not None
        return parse_trades(frame.payload, symbol=query.symbol, native_symbol=topic.arg("instId"),
                            endpoint=f"ws {topic.name}")


class BitgetTickerStream(StreamBinding, model=Ticker, connector=Bitget):
    """Live tickers from ``ticker`` (about one push a second)."""

    expected_every = 10.0

    @classmethod
    def check(cls, query: Query) -> None:
        _check_market(query, "ticker")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "ticker", self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Ticker]:
        assert query.symbol is not None
        records = _reader(frame).rows(frame.payload, "tickers")
        native = topic.arg("instId")
        # The WebSocket names the market instId where REST says symbol.
        renamed = [{**r, "symbol": r.get("instId")} for r in records if isinstance(r, dict)]
        return [parse_ticker(renamed, symbol=query.symbol, native_symbol=native,
                             endpoint=f"ws {topic.name}")]


class BitgetBookStream(StreamBinding, model=OrderBook, connector=Bitget):
    """Live books from ``books``: Bitget's own snapshot, then checked updates."""

    expected_every = None  # snapshot_depth stays None: Bitget sends the snapshot on the stream

    @classmethod
    def check(cls, query: Query) -> None:
        _check_market(query, "order book")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "books", None)

    def book_sync(self, topic: Topic) -> BookSync:
        return BitgetBookSync()

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[BookDelta]:
        return parse_book_push(frame)


def parse_book_push(frame: Frame) -> list[BookDelta]:
    """Book deltas from one ``books`` push; every level and number is checked."""
    read = _reader(frame)
    out = []
    for i, rec in enumerate(read.records(frame.payload, "books")):
        r = read.at(rec, f"book {i}")
        checksum = rec.get("checksum")
        if checksum is not None and type(checksum) is not int:
            raise r.fail(f"checksum is {checksum!r}, not an integer")
        out.append(BookDelta(
            last_id=r.integer(r.field(rec, "seq"), "seq", strings=True),
            prev_id=None if rec.get("pseq") is None else r.integer(rec["pseq"], "pseq", strings=True),
            bids=_levels(r, rec.get("bids", ()), "bids"), asks=_levels(r, rec.get("asks", ()), "asks"),
            checksum=checksum, timestamp=r.ms(r.field(rec, "ts"), "ts"),
            is_snapshot=frame.action == "snapshot"))
    return out


def _levels(read: Reader, raw: Any, side: str) -> list[tuple[str, str]]:
    """Levels as the venue spelled them (the checksum is computed over that text), each checked."""
    if type(raw) is not list:
        raise read.fail(f"{side} is {type(raw).__name__}, expected a list of levels")
    for i, level in enumerate(raw):
        if type(level) is not list or len(level) < 2:
            raise read.fail(f"{side}[{i}] is {level!r}, expected [price, size]")
        read.decimal(level[0], f"{side}[{i}] price")
        read.decimal(level[1], f"{side}[{i}] size")
    return [(level[0], level[1]) for level in raw]
