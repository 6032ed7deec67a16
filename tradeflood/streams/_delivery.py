"""Deliveries and consumers: the level-3 clusters of the stream graph and their members.

A :class:`Delivery` serves every consumer of one feed that asked for the same
options (book depth, throttle, open candles): what it hands out is rendered
once for all of them. A consumer is a bounded queue read by an async
iterator, or a callback. Nothing a consumer does can slow the feed: queue
puts never wait (books and tickers conflate to the latest value; trades and
candles raise on overflow or drop with a counter, as the consumer chose), and
a callback that raises is logged and counted, never propagated upstream.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from tradeflood.clock import Clock

from ._events import StreamEvent
from ._queue import ConsumerQueue

__all__ = ["CallbackConsumer", "Consumer", "Delivery", "Options", "QueueConsumer"]

log = logging.getLogger("tradeflood.streams")

Overflow = Literal["raise", "drop", "conflate"]


@dataclass(frozen=True, slots=True)
class Options:
    """What a consumer asked for beyond the stream itself; equal options share one delivery.

    ``depth`` cuts books to that many levels a side; ``throttle`` (seconds)
    hands out at most one value per period, the latest; ``partial`` also hands
    out the updates of the candle still forming (``closed=False``).
    """

    depth: int | None = None
    throttle: float | None = None
    partial: bool = False


class Consumer:
    """One subscriber of a stream. ``sink`` takes data items (never events) on the hot path."""

    sink: Callable[[Any], None]

    def deliver(self, item: Any) -> None:
        raise NotImplementedError

    def sink_failed(self, exc: Exception) -> None:
        """``sink`` raised ``exc`` (a callback's bug): note it; the stream goes on."""

    def fail(self, exc: BaseException) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError


class QueueConsumer(Consumer):
    """A consumer read through a bounded queue (``async for`` over a stream)."""

    def __init__(self, maxsize: int, overflow: Overflow) -> None:
        self.queue: ConsumerQueue[Any] = ConsumerQueue(maxsize, policy=overflow)
        self.sink = self.queue.put_nowait

    def deliver(self, item: Any) -> None:
        if isinstance(item, StreamEvent):
            self.queue.put_control(item)
        else:
            self.sink(item)

    def fail(self, exc: BaseException) -> None:
        self.queue.close(exc)

    def finish(self) -> None:
        self.queue.close()

    @property
    def dropped(self) -> int:
        return self.queue.dropped


class CallbackConsumer(Consumer):
    """A consumer called for each item. A plain function is called in line and must be
    quick; a coroutine function gets its own task and queue, so a slow one only waits itself."""

    def __init__(self, callback: Callable[[Any], Any], maxsize: int, overflow: Overflow,
                 on_error: Callable[[BaseException], Any] | None = None) -> None:
        self.callback = callback
        self.on_error = on_error
        self.errors = 0
        self._queue: QueueConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.sink = callback
        if inspect.iscoroutinefunction(callback):
            self._queue = QueueConsumer(maxsize, overflow)
            self.sink = self._queue.sink
            self._task = asyncio.get_running_loop().create_task(self._drain())

    def deliver(self, item: Any) -> None:
        if self._queue is not None:
            self._queue.deliver(item)
            return
        try:
            self.callback(item)
        except Exception as exc:
            self.sink_failed(exc)

    def sink_failed(self, exc: Exception) -> None:
        # A consumer's bug must not stop the stream for the others.
        self.errors += 1
        log.error("stream callback %r raised %r", self.callback, exc, exc_info=exc)
        if self.on_error is not None:
            self.on_error(exc)

    async def _drain(self) -> None:
        assert self._queue is not None
        try:
            async for item in self._queue.queue:
                try:
                    await self.callback(item)
                except Exception:
                    self.errors += 1
                    log.exception("stream callback %r raised", self.callback)
        except Exception as exc:
            if self.on_error is not None:
                self.on_error(exc)

    def fail(self, exc: BaseException) -> None:
        if self._queue is not None:
            self._queue.fail(exc)
        elif self.on_error is not None:
            self.on_error(exc)

    def finish(self) -> None:
        if self._queue is not None:
            self._queue.finish()

    async def stopped(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def dropped(self) -> int:
        return self._queue.dropped if self._queue is not None else 0


class Delivery:
    """The consumers of one feed that share options, and the one rendering they share."""

    def __init__(self, options: Options, clock: Clock,
                 spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]) -> None:
        self.options = options
        self.consumers: list[Consumer] = []
        self._clock = clock
        self._spawn = spawn
        self._pending: Any = None
        self._next_at = 0.0
        self._timer: asyncio.Task[Any] | None = None
        self.delivered = 0
        self._throttle = options.throttle
        self._sinks: list[Callable[[Any], None]] = []

    def add(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)
        self._sinks.append(consumer.sink)

    def remove(self, consumer: Consumer) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)
            self._sinks = [c.sink for c in self.consumers]

    def deliver(self, item: Any) -> None:
        if item is None:
            return
        throttle = self._throttle
        if not throttle:  # the hot path
            self._fan_out(item)
            return
        if throttle:
            now = self._clock.monotonic()
            if now < self._next_at:
                self._pending = item
                if self._timer is None:
                    self._timer = self._spawn(self._flush_later(self._next_at - now))
                return
            self._next_at = now + throttle
            self._pending = None  # superseded by this newer value
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self._hand_out(item)

    def event(self, event: StreamEvent) -> None:
        if self._pending is not None:  # keep data and events in order
            pending, self._pending = self._pending, None
            self._hand_out(pending)
        self._hand_out(event)

    def _hand_out(self, item: Any) -> None:
        if isinstance(item, StreamEvent):
            self.delivered += 1
            for consumer in self.consumers:
                consumer.deliver(item)
        else:
            self._fan_out(item)

    def _fan_out(self, item: Any) -> None:
        # One plain call per consumer; a sink that raises is reported and skipped.
        self.delivered += 1
        sinks = self._sinks
        i = -1
        try:
            for i, sink in enumerate(sinks):  # noqa: B007 (i names the sink that raised)
                sink(item)
        except Exception as exc:
            self.consumers[i].sink_failed(exc)
            for j in range(i + 1, len(sinks)):  # the rest still get the item
                try:
                    sinks[j](item)
                except Exception as later:
                    self.consumers[j].sink_failed(later)

    async def _flush_later(self, delay: float) -> None:
        try:
            await self._clock.sleep(delay)
        finally:
            self._timer = None
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._next_at = self._clock.monotonic() + (self.options.throttle or 0)
            self._hand_out(pending)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
