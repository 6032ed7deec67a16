"""Quill: a small venue added as a plugin, from TradeFlood's public names only.

It is what the README's "Add a venue in one package" walks through: a
connector (endpoints, limits, the reply envelope, the WebSocket protocol),
parse functions written with :mod:`tradeflood.parsing`, fetch bindings for
instruments and candles (paged on a grid, parsed into models or straight into
columns), and stream bindings for trades and order books, the book with
Quill's own sequence rule. ``tests/plugin_venue/server.py`` serves the venue
on 127.0.0.1.

Quill's wire format: replies are ``{"code": 0, "msg": "", "data": ...}``;
markets ``{"id": "BTC-USD", "base": "BTC", "quote": "USD", "tick": "0.1",
"lot": "0.001"}``; candle rows ``[open_ms, "open", "high", "low", "close",
"volume"]``, at most 100 a page. On the WebSocket, ``{"op": "sub", "ch":
"trades", "market": "BTC-USD"}`` subscribes; data comes as ``{"ch":
"trades:BTC-USD", "data": [...]}``; a book sends ``{"ch": "book:BTC-USD",
"type": "snapshot" | "delta", "seq": n, "bids": [...], "asks": [...]}``, and
every delta's ``seq`` is the previous one plus one.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import chain
from typing import Any, ClassVar, Literal

import orjson

from tradeflood import (
    Binding,
    CandleBinding,
    CandleSeries,
    Connector,
    Limit,
    PageSource,
    Param,
    Params,
    ParseContext,
    Part,
    Query,
    Reply,
    Turn,
    turn,
)
from tradeflood.columnar import (
    Refused,
    candle_table,
    columns_or_models,
    decimal_columns,
    require,
    row_columns,
)
from tradeflood.errors import UnknownSymbolError
from tradeflood.models import Candle, Instrument, OrderBook, Trade
from tradeflood.parsing import Reader
from tradeflood.streams import BookDelta, BookSync, Frame, SequenceGap, StreamBinding, StreamProtocol, Topic
from tradeflood.symbols import SymbolMap, native_id

VENUE = "quill"
PAGE = 100
MARKETS = "/v1/markets"


# -- the connector: endpoints, limits, replies, the WebSocket protocol ------------------------

class QuillStream(StreamProtocol):
    """Quill's WebSocket: one ``sub``/``unsub`` frame per topic list, data named by channel."""

    max_topics = 20
    max_messages_per_second = 20.0

    def subscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        return orjson.dumps({"op": "sub", "topics": [dict(t.args) for t in topics]}).decode()

    def unsubscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        return orjson.dumps({"op": "unsub", "topics": [dict(t.args) for t in topics]}).decode()

    def decode(self, raw: str | bytes) -> Frame:
        message = orjson.loads(raw)
        if type(message) is not dict:
            raise ValueError("a Quill frame must be a JSON object")
        if message.get("event") == "sub":
            return Frame("ack", message.get("ch"))
        if message.get("event") == "error":
            return Frame("error", message.get("ch"), detail=str(message.get("msg")))
        if "ch" in message and "data" in message:
            return Frame("data", message["ch"], message["data"], action=message["data"].get("type")
                         if type(message["data"]) is dict else None)
        return Frame("ignore")


class Quill(Connector, name=VENUE):
    """Quill's public market data."""

    urls = {"rest": "https://api.quill.example", "ws": "wss://ws.quill.example"}
    streams = {"ws": QuillStream()}
    limits = {"market": Limit(50, 1.0)}

    @turn(MARKETS, group="market", cache="session")
    def markets(self) -> Params:
        return {}

    @turn("/v1/candles", group="market")
    def candles(self, market: Param, interval: str, start: int, end: int, limit: int) -> Params:
        return {"market": market, "interval": interval, "start": start, "end": end, "limit": limit}

    def unwrap(self, turn: Turn, reply: Reply) -> Any:
        return self.unwrap_envelope(turn, reply, success="0")


# -- parse functions: payload in, models out, every value checked -----------------------------

def parse_markets(payload: Any, endpoint: str = MARKETS) -> list[Instrument]:
    read = Reader(VENUE, endpoint, payload)
    out = []
    for i, rec in enumerate(read.records(payload, "markets")):
        r = read.at(rec, f"markets[{i}]")
        base, quote = r.text(rec, "base"), r.text(rec, "quote")
        out.append(r.model(Instrument, exchange=VENUE, symbol=f"{base}/{quote}",
                           native_symbol=r.text(rec, "id"), kind="spot", base=base, quote=quote,
                           tick_size=r.decimal(rec.get("tick"), "tick"),
                           step_size=r.decimal(rec.get("lot"), "lot")))
    return out


def market_map(payload: Any) -> SymbolMap:
    return SymbolMap(VENUE, parse_markets(payload))


def parse_candles(rows: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int,
                  interval_ms: int, endpoint: str = "/v1/candles") -> list[Candle]:
    read = Reader(VENUE, endpoint, rows)
    out = []
    for i, row in enumerate(read.rows(rows, "candle rows")):
        r = read.at(row, f"row {i}")
        if type(row) is not list or len(row) < 6:
            raise r.fail("expected [open_ms, open, high, low, close, volume]")
        t = r.ms(row[0], "open time", strings=False)
        o, h, lo, c, v = (r.decimal(row[j], name) for j, name in
                          enumerate(("open", "high", "low", "close", "volume"), start=1))
        out.append(r.model(Candle, exchange=VENUE, symbol=symbol, native_symbol=native_symbol,
                           interval=interval, open_time=t, open=o, high=h, low=lo, close=c, volume=v,
                           closed=t + interval_ms <= received_ms))
    return out


def candle_columns(rows: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int,
                   interval_ms: int, endpoint: str = "/v1/candles") -> Any:
    """The same candles straight into an Arrow table, from the public column pieces."""

    def fast() -> Any:
        pa, pc = require("pyarrow"), require("pyarrow.compute")
        cols = row_columns(rows, 6)
        n = len(rows)
        try:
            open_ms = pa.array(cols[0], pa.int64())
            strings = pa.array(list(chain(*cols[1:6])), pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise Refused from None
        prices = decimal_columns(strings, n, 5, "exact")
        quote = pa.nulls(n, prices[0].type)  # Quill sends no quote volume
        closed = pc.less_equal(pc.add(open_ms, interval_ms), received_ms)
        return candle_table(open_ms, [*prices, quote], closed, exchange=VENUE, symbol=symbol,
                            native_symbol=native_symbol, interval=interval)

    return columns_or_models(fast, lambda: parse_candles(
        rows, symbol=symbol, native_symbol=native_symbol, interval=interval, received_ms=received_ms,
        interval_ms=interval_ms, endpoint=endpoint), exchange=VENUE)


# -- fetch bindings ----------------------------------------------------------------------------

class QuillInstruments(Binding, model=Instrument, connector=Quill):
    """Every market Quill lists; ``symbol=`` picks one."""

    api: Quill

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        return [self.api.markets()]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Instrument]:
        return parse_markets(payload, turn.path)

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> list[Instrument]:
        items: list[Instrument] = [i for part in parts for i in part.items]
        if query.symbol is None:
            return items
        found = [i for i in items if i.symbol == query.symbol]
        if not found:
            raise UnknownSymbolError(VENUE, query.symbol, [i.symbol for i in items])
        return found


INTERVAL_MS = {"1m": 60_000, "1h": 3_600_000}


class QuillCandles(CandleBinding, model=Candle, connector=Quill):
    """Candles on a 100-bar grid from one endpoint."""

    api: Quill
    intervals = {"1m": "1m", "1h": "1h"}

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        assert query.interval is not None
        market = self.api.markets().derive(market_map).derive(native_id, query.symbol)
        interval = query.interval
        return [PageSource("candles", PAGE, lambda start, end, n: self.api.candles(
            market, interval, start, end - 1, n))]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Candle]:
        assert query.symbol is not None and query.interval is not None
        args: dict[str, Any] = {"symbol": query.symbol, "native_symbol": ctx.params["market"],
                                "interval": query.interval, "received_ms": ctx.received_ms,
                                "interval_ms": INTERVAL_MS[query.interval], "endpoint": turn.path}
        if self.use_bulk():
            return CandleSeries.from_table(candle_columns(payload, **args))
        return parse_candles(payload, **args)


# -- stream bindings ---------------------------------------------------------------------------

def _topic(channel: str, instrument: Instrument) -> Topic:
    return Topic(VENUE, "ws", f"{channel}:{instrument.native_symbol}",
                 (("ch", channel), ("market", instrument.native_symbol)))


class QuillTradeStream(StreamBinding, model=Trade, connector=Quill):
    """Live trades: ``{"id": 7, "px": "100.5", "qty": "0.2", "side": "buy", "ts": ms}``."""

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic("trades", instrument)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Trade]:
        assert query.symbol is not None
        read = Reader(VENUE, f"ws {topic.name}", frame.payload)
        out = []
        for rec in read.records(frame.payload, "trades"):
            r = read.at(rec)
            side = rec.get("side")
            if side not in ("buy", "sell"):
                raise r.fail(f"side is {side!r}, expected buy or sell")
            out.append(r.model(Trade, exchange=VENUE, symbol=query.symbol, native_symbol=topic.arg("market"),
                               id=str(r.integer(r.field(rec, "id"), "id")),
                               timestamp=r.ms(r.field(rec, "ts"), "ts"),
                               price=r.decimal(r.field(rec, "px"), "px"),
                               amount=r.decimal(r.field(rec, "qty"), "qty"), side=side))
        return out


class QuillBookSync(BookSync):
    """Quill's book rule: the venue pushes a snapshot on subscribing, then deltas whose ``seq``
    is the previous one plus one; anything else is a gap (a resubscription brings a new snapshot)."""

    snapshot_source: ClassVar[Literal["rest", "stream"]] = "stream"
    buffers_deltas: ClassVar[bool] = False

    def gap(self, delta: BookDelta, last_id: int) -> SequenceGap | None:
        return None if delta.last_id == last_id + 1 else SequenceGap(last_id + 1, delta.last_id)


class QuillBookStream(StreamBinding, model=OrderBook, connector=Quill):
    """Live books: the stream's own snapshot, then deltas checked by :class:`QuillBookSync`."""

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic("book", instrument)

    def book_sync(self, topic: Topic) -> BookSync:
        return QuillBookSync()

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[BookDelta]:
        read = Reader(VENUE, f"ws {topic.name}", frame.payload)
        book = read.record(frame.payload, "a book message")
        kind = read.field(book, "type")
        if kind not in ("snapshot", "delta"):
            raise read.fail(f"type is {kind!r}, expected snapshot or delta")
        return [BookDelta(last_id=read.integer(read.field(book, "seq"), "seq"),
                          bids=_levels(read, book.get("bids", []), "bids"),
                          asks=_levels(read, book.get("asks", []), "asks"),
                          timestamp=read.ms(read.field(book, "ts"), "ts"), is_snapshot=kind == "snapshot")]


def _levels(read: Reader, raw: Any, side: str) -> list[tuple[Decimal, Decimal]]:
    out = []
    for level in read.rows(raw, f"{side} levels"):
        if type(level) is not list or len(level) != 2:
            raise read.fail(f"{side} level {level!r} is not [price, size]")
        out.append((read.decimal(level[0], f"{side} price"), read.decimal(level[1], f"{side} size")))
    return out
