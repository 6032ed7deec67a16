"""Topics: one library subscription per distinct live stream, shared by every client of the server.

A :class:`Topic` holds ONE ``Session.subscribe`` consumer (so the session's
StreamHub keeps one upstream subscription however many clients ask), encodes
each item once, hands it to its sinks (WebSocket subscriptions, callbacks) and
keeps the last items for long-poll cursors. The last sink leaving, and the last
poller's lease running out, closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import tradeflood.models as models
from tradeflood import Session
from tradeflood.errors import QueryError, StreamError

from ._derivs_topics import CURRENT_VALUES, DERIVATIVE_MODELS, NEEDS_INTERVAL, poll_limit, poll_period
from ._frames import encode_item, is_event

if TYPE_CHECKING:
    from ._metrics import Metrics

__all__ = ["MODELS", "Entry", "Sink", "Topic", "TopicKey", "Topics", "topic_key"]

log = logging.getLogger("tradeflood.server")

MODELS: dict[str, type[models.Model]] = {
    "trade": models.Trade, "candle": models.Candle, "book": models.OrderBook, "ticker": models.Ticker,
    **DERIVATIVE_MODELS,
}
CONFLATED = {"book", "ticker", *CURRENT_VALUES}
_seq = itertools.count(1)  # one sequence over all topics, so a cursor never repeats across restarts


@dataclass(frozen=True, slots=True)
class TopicKey:
    """What makes two subscriptions the same stream: equal keys share one topic."""

    model: str
    exchange: str
    symbol: str
    interval: str | None = None
    depth: int | None = None
    throttle: float | None = None
    partial: bool = False
    poll: float | None = None

    def describe(self) -> str:
        extra = [f"{k}={v}" for k, v in (("interval", self.interval), ("depth", self.depth),
                                         ("throttle", self.throttle), ("poll", self.poll)) if v is not None]
        if self.partial:
            extra.append("partial")
        return " ".join([self.model, self.exchange, self.symbol, *extra])

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exchange": self.exchange, "symbol": self.symbol}
        for name in ("interval", "depth", "throttle", "poll"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.partial:
            out["partial"] = True
        if self.poll is not None and self.interval is not None:
            out["limit"] = poll_limit(self.poll, self.interval)
        return out


def _positive(name: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or (
            kind is int and not isinstance(value, int)):
        raise QueryError(f"{name}={value!r}: give a positive {'integer' if kind is int else 'number'}")
    return kind(value)


def topic_key(spec: dict[str, Any]) -> TopicKey:
    """Check a subscription's fields (model, exchange, symbol, interval, depth, throttle, partial, poll)."""
    model = spec.get("model")
    if model not in MODELS:
        raise QueryError(f"model={model!r}: valid choices: {', '.join(MODELS)}")
    exchange, symbol = spec.get("exchange"), spec.get("symbol")
    if not isinstance(exchange, str) or not exchange:
        raise QueryError("exchange: give a venue name such as 'bitget'")
    if not isinstance(symbol, str) or not symbol.strip():
        raise QueryError("symbol: give a unified symbol such as 'BTC/USDT'")
    interval = spec.get("interval")
    if interval is not None and not isinstance(interval, str):
        raise QueryError(f"interval={interval!r}: give an interval such as '1m'")
    if model in NEEDS_INTERVAL and interval is None:
        raise QueryError(f"a {model} subscription needs an interval such as '1m'")
    poll = poll_period(model, MODELS[model], exchange.strip(), spec.get("poll"))
    return TopicKey(model, exchange.strip().lower(), symbol.strip().upper(), interval,
                    _positive("depth", spec.get("depth"), int),
                    _positive("throttle", spec.get("throttle"), float), _flag(spec.get("partial")), poll)


def _flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    raise QueryError(f"partial={value!r}: give true or false")


class Sink(Protocol):
    """Something a topic hands items to: a WebSocket subscription or a callback."""

    def offer(self, topic: Topic, entry: Entry) -> None: ...

    def ended(self, topic: Topic, error: BaseException) -> None: ...


@dataclass(slots=True)
class Entry:
    """One item of a topic, encoded once: its sequence, JSON key and value fragments."""

    seq: int
    key: bytes
    value: bytes
    item: Any

    @property
    def event(self) -> bool:
        return self.key == b'"event"'


class Topic:
    """One live stream of the server, fed by one session subscription."""

    def __init__(self, topics: Topics, key: TopicKey) -> None:
        self.topics = topics
        self.key = key
        self.conflate = key.model in CONFLATED
        self.sinks: set[Sink] = set()
        self.history: deque[Entry] = deque(maxlen=topics.poll_buffer)
        self.poll_until = 0.0
        self.error: BaseException | None = None
        self.received = 0
        self._arrived = asyncio.Event()
        # Events go through the same callback as the data (in order with it): _frames tells them apart.
        self._sub = topics.session.subscribe(MODELS[key.model], self._on_item, on_error=self._on_error,
                                             events=True, **key.params())
        self.ready: asyncio.Task[None] = asyncio.ensure_future(self._ready())

    async def _ready(self) -> None:
        await self._sub.ready()

    def _on_item(self, item: Any) -> None:
        key, value = encode_item(item)
        entry = Entry(next(_seq), key, value, item)
        self.received += 1
        if self.topics.metrics is not None:
            self.topics.metrics.messages_in.labels(self.key.exchange, self.key.model).inc()
            if is_event(item):
                log.info("stream event", extra={"topic": self.key.describe(), "event": value[:80].decode()})
        self.history.append(entry)
        for sink in list(self.sinks):
            sink.offer(self, entry)
        self._arrived.set()
        self._arrived = asyncio.Event()

    def _on_error(self, exc: BaseException) -> None:
        self.error = exc
        log.warning("stream %s failed: %s", self.key.describe(), exc)
        for sink in list(self.sinks):
            sink.ended(self, exc)
        self.sinks.clear()
        self._arrived.set()
        self.topics._forget(self)

    def after(self, cursor: int) -> list[Entry]:
        return [e for e in self.history if e.seq > cursor]

    async def wait(self, timeout: float) -> None:
        """Until the next item arrives (or the stream fails), at most ``timeout`` seconds."""
        arrived = self._arrived
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), timeout)

    @property
    def idle(self) -> bool:
        return not self.sinks and time.monotonic() >= self.poll_until

    async def close(self) -> None:
        self.ready.cancel()
        await asyncio.gather(self.ready, return_exceptions=True)
        await self._sub.close()


class Topics:
    """Every live topic of the server, by key; makes them on first use and ends idle ones."""

    def __init__(self, session: Session, *, poll_buffer: int, poll_linger: float,
                 metrics: Metrics | None = None) -> None:
        self.session = session
        self.poll_buffer = poll_buffer
        self.poll_linger = poll_linger
        self.metrics = metrics
        self.live: dict[TopicKey, Topic] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def join(self, key: TopicKey, sink: Sink | None = None) -> Topic:
        """The topic of ``key`` (subscribed upstream on first use), with ``sink`` added.

        Raises the subscription's error (unknown symbol, refused stream) if it cannot start.
        """
        topic = self.live.get(key)
        if topic is None:
            topic = self.live[key] = Topic(self, key)
        if sink is not None:
            topic.sinks.add(sink)
        else:
            topic.poll_until = time.monotonic() + self.poll_linger
        try:
            await asyncio.shield(topic.ready)
        except BaseException as exc:
            if sink is not None:
                topic.sinks.discard(sink)
            if isinstance(exc, asyncio.CancelledError) and not topic.ready.done():
                raise
            self._forget(topic)
            if isinstance(exc, StreamError | QueryError):
                raise
            if isinstance(exc, asyncio.CancelledError):
                raise StreamError(f"{key.describe()}: the stream was closed while starting") from None
            raise
        if topic.error is not None:
            raise topic.error
        self._ensure_reaper()
        return topic

    def leave(self, topic: Topic, sink: Sink) -> None:
        topic.sinks.discard(sink)
        if topic.idle:
            self._forget(topic)

    def _forget(self, topic: Topic) -> None:
        if self.live.get(topic.key) is topic:
            del self.live[topic.key]
            task = asyncio.ensure_future(topic.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.ensure_future(self._reap())

    async def _reap(self) -> None:
        # Long-poll topics end a while after their last poller stopped asking.
        while self.live:
            await asyncio.sleep(min(1.0, max(0.05, self.poll_linger / 4)))
            for topic in list(self.live.values()):
                if topic.idle:
                    self._forget(topic)

    def counts(self) -> dict[str, int]:
        return {"topics": len(self.live), "sinks": sum(len(t.sinks) for t in self.live.values())}

    def describe(self) -> list[dict[str, Any]]:
        return [{"topic": t.key.describe(), "model": t.key.model, "exchange": t.key.exchange,
                 "symbol": t.key.symbol, "consumers": len(t.sinks), "received": t.received,
                 "polled": t.poll_until > time.monotonic()} for t in self.live.values()]

    async def aclose(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for topic in list(self.live.values()):
            self._forget(topic)
        await asyncio.gather(*self._closing, return_exceptions=True)


