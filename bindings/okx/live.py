"""OKX's public v5 WebSocket: which channel serves each model, and how its pushes parse.

Channels (OKX WebSocket API): ``trades``, ``tickers`` and ``books`` on the
public endpoint; ``candle<bar>`` on the business endpoint (``ws.business``),
rows like REST's with ``confirm`` marking a bar's final push. A topic is
``{"channel": ..., "instId": "BTC-USDT"}``. Swap sizes are in contracts: the
topic keeps the instrument's ``ctVal`` (never sent) so parses give base amounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tradeflood import Query
from tradeflood.connectors.okx import Okx, topic_name
from tradeflood.errors import QueryError
from tradeflood.intervals import INTERVALS, validate_interval
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.parsing import Reader
from tradeflood.streams import BookDelta, BookSync, Frame, StreamBinding, Topic

from .book import OkxBookSync
from .parse import EXCHANGE, parse_candles, parse_ticker, parse_trades, scaled
from .rest import BARS, MAX_DEPTH

__all__ = [
    "CANDLE_CHANNELS",
    "OkxBookStream",
    "OkxCandleStream",
    "OkxTickerStream",
    "OkxTradeStream",
    "parse_book_push",
]

#: Interval -> business-endpoint candle channel.
CANDLE_CHANNELS = {interval: f"candle{bar}" for interval, bar in BARS.items()}


def _topic(instrument: Instrument, channel: str, every: float | None, endpoint: str = "ws") -> Topic:
    arg = {"channel": channel, "instId": instrument.native_symbol}
    return Topic(EXCHANGE, endpoint, topic_name(arg),
                 (*arg.items(), ("ctVal", str(instrument.contract_size))), expected_every=every)


def _contract_size(topic: Topic) -> Decimal:
    return Decimal(dict(topic.args).get("ctVal", "1"))


def _check_market(query: Query, what: str) -> None:
    if query.symbol is not None and ":" in query.symbol and not query.symbol.endswith(":USDT"):
        raise QueryError(f"okx {what} streams serve spot pairs and USDT-margined swaps "
                         f"(BASE/USDT:USDT), not {query.symbol}")


class OkxCandleStream(StreamBinding, model=Candle, connector=Okx):
    """Live candles from ``candle<bar>`` (business endpoint; ``confirm`` closes a bar)."""

    expected_every = 5.0
    closes_explicitly = True

    @classmethod
    def check(cls, query: Query) -> None:
        _check_market(query, "candle")
        validate_interval(query.interval, tuple(i for i in INTERVALS if i in CANDLE_CHANNELS),
                          "okx candle streams")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        assert query.interval is not None
        return _topic(instrument, CANDLE_CHANNELS[query.interval], self.expected_every, "ws.business")

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Candle]:
        assert query.symbol is not None and query.interval is not None
        native = topic.arg("instId")
        return parse_candles(frame.payload, symbol=query.symbol, native_symbol=native,
                             interval=query.interval, spot=not native.endswith("-SWAP"),
                             endpoint=f"ws {topic.name}")


class OkxTradeStream(StreamBinding, model=Trade, connector=Okx):
    """Live public trades from ``trades`` (amounts in base)."""

    @classmethod
    def check(cls, query: Query) -> None:
        _check_market(query, "trade")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "trades", None)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Trade]:
        assert query.symbol is not None
        return parse_trades(frame.payload, symbol=query.symbol, native_symbol=topic.arg("instId"),
                            contract_size=_contract_size(topic), endpoint=f"ws {topic.name}")


class OkxTickerStream(StreamBinding, model=Ticker, connector=Okx):
    """Live tickers from ``tickers`` (pushed on change, at most every 100 ms)."""

    # OKX: "There will be no update if the event is not triggered" (a trade or a change of the
    # best bid or ask), so a quiet instrument's ticker is silent by right, as its trades are.
    expected_every = None

    @classmethod
    def check(cls, query: Query) -> None:
        _check_market(query, "ticker")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "tickers", self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Ticker]:
        assert query.symbol is not None
        return [parse_ticker(frame.payload, symbol=query.symbol, native_symbol=topic.arg("instId"),
                             endpoint=f"ws {topic.name}")]


class OkxBookStream(StreamBinding, model=OrderBook, connector=Okx):
    """Live books from ``books`` (400 levels): a pushed snapshot when the venue sends one,
    else a REST snapshot bridged by ``seqId``; updates checked by ``prevSeqId``."""

    snapshot_depth = MAX_DEPTH

    @classmethod
    def check(cls, query: Query) -> None:
        _check_market(query, "order book")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "books", None)

    def book_sync(self, topic: Topic) -> BookSync:
        return OkxBookSync()

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[BookDelta]:
        return parse_book_push(frame, _contract_size(topic))


def parse_book_push(frame: Frame, contract_size: Decimal = Decimal(1)) -> list[BookDelta]:
    """Book deltas from one ``books`` push (sizes in base); every level and id is checked.

    ``first_id`` is ``prevSeqId + 1``, so an update straddling a REST snapshot bridges it.
    """
    read = Reader(EXCHANGE, f"ws {frame.topic}", frame.payload)
    out = []
    for i, rec in enumerate(read.records(frame.payload, "books")):
        r = read.at(rec, f"book {i}")
        seq = r.field(rec, "seqId")
        prev = r.field(rec, "prevSeqId")
        if type(seq) is not int or seq < 0:
            raise r.fail(f"seqId is {seq!r}, not a non-negative integer")
        if type(prev) is not int or prev < -1:
            raise r.fail(f"prevSeqId is {prev!r}, not an integer >= -1")
        snapshot = frame.action == "snapshot"
        out.append(BookDelta(
            last_id=seq, prev_id=None if prev < 0 else prev,
            first_id=None if snapshot or prev < 0 else min(prev + 1, seq),
            bids=_levels(r, rec.get("bids", ()), "bids", contract_size),
            asks=_levels(r, rec.get("asks", ()), "asks", contract_size),
            timestamp=r.ms(r.field(rec, "ts"), "ts"), is_snapshot=snapshot))
    return out


def _levels(read: Reader, raw: Any, side: str, contract_size: Decimal) -> list[tuple[str, str]]:
    if type(raw) is not list:
        raise read.fail(f"{side} is {type(raw).__name__}, expected a list of levels")
    out = []
    for i, level in enumerate(raw):
        if type(level) is not list or len(level) < 2:
            raise read.fail(f"{side}[{i}] is {level!r}, expected [px, sz, \"0\", numOrders]")
        read.decimal(level[0], f"{side}[{i}] px")
        read.decimal(level[1], f"{side}[{i}] sz")
        out.append((level[0], scaled(level[1], contract_size)))
    return out
