"""A socket's queue: books and tickers conflate to the latest, trades close on overflow, events stay."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from tradeflood.server import ServerSettings
from tradeflood.server._metrics import Metrics
from tradeflood.server._topics import Entry, TopicKey
from tradeflood.server._ws import ClientSubscription, Connection


class _Gate:
    """A socket whose sends wait until the test opens it: a client that does not read."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.sent: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        await self.open.wait()
        self.sent.append(orjson.loads(message["text"]))


class _Topics:
    def __init__(self) -> None:
        self.left: list[Any] = []

    def leave(self, topic: Any, sub: Any) -> None:
        self.left.append(sub)


class _State:
    def __init__(self, size: int) -> None:
        self.settings = ServerSettings(client_queue_size=size)
        self.metrics = Metrics()
        self.topics = _Topics()
        self.subscriptions: dict[str, int] = {}

    def leave_key(self, key: str, n: int) -> None:
        pass

    def track(self, task: Any) -> None:
        pass


class _Topic:
    def __init__(self, model: str) -> None:
        self.key = TopicKey(model, "bitget", "BTC/USDT")
        self.conflate = model in ("book", "ticker")


def _entry(seq: int, event: bool = False) -> Entry:
    if event:
        return Entry(seq, b'"event"', b'"gap","start_ms":1,"end_ms":2', None)
    return Entry(seq, b'"data"', orjson.dumps({"n": seq}), None)


def _connection(size: int) -> tuple[Connection, _Gate, _State]:
    state = _State(size)
    gate = _Gate()
    conn = Connection(state, gate, "k")  # type: ignore[arg-type]
    return conn, gate, state


def _sub(conn: Connection, sub_id: str, model: str) -> ClientSubscription:
    sub = conn.subs[sub_id] = ClientSubscription(conn, sub_id)
    sub.topic = _Topic(model)  # type: ignore[assignment]
    sub.started = True
    return sub


async def _flush(conn: Connection, gate: _Gate) -> list[dict[str, Any]]:
    writer = asyncio.ensure_future(conn.writer())
    gate.open.set()
    while conn.out:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)
    writer.cancel()
    return gate.sent


async def test_books_conflate_to_the_latest_and_events_are_kept() -> None:
    conn, gate, state = _connection(size=10)
    book = _sub(conn, "b", "book")
    for seq in range(1, 101):
        book.offer(None, _entry(seq))  # type: ignore[arg-type]
        if seq == 50:
            book.offer(None, _entry(1000, event=True))  # type: ignore[arg-type]
    sent = await _flush(conn, gate)
    # one pending book (the latest) and the event, in the order they were queued
    assert sent == [{"id": "b", "data": {"n": 100}}, {"id": "b", "event": "gap", "start_ms": 1, "end_ms": 2}]
    assert state.metrics.queue_drops._value.get() == 99
    assert "b" in conn.subs


async def test_trades_that_overflow_close_the_subscription_with_an_error_frame() -> None:
    conn, gate, state = _connection(size=10)
    trades = _sub(conn, "t", "trade")
    other = _sub(conn, "x", "ticker")
    for seq in range(1, 16):
        trades.offer(None, _entry(seq))  # type: ignore[arg-type]
    other.offer(None, _entry(99))  # type: ignore[arg-type]
    sent = await _flush(conn, gate)
    data = [f["data"]["n"] for f in sent if f.get("id") == "t" and "data" in f]
    assert data == list(range(1, 11))  # every trade that fitted, in order, none thinned out
    (error,) = [f for f in sent if f.get("op") == "error"]
    assert error["id"] == "t" and error["error"] == "StreamOverflowError" and "'t'" in error["message"]
    assert "t" not in conn.subs and state.topics.left == [trades]
    assert {"id": "x", "data": {"n": 99}} in sent  # the other subscription goes on
    assert state.metrics.queue_closes._value.get() == 1
