"""Deliveries and consumers: the level-3 clusters of the stream graph and their members.

A :class:`Delivery` serves every consumer of one feed that asked for the same
options (book depth, throttle, open candles): what it hands out is rendered
once for all of them. A consumer is a bounded queue read by an async
iterator, or a callback. Nothing a consumer does can slow the feed: queue
puts never wait (books and tickers conflate to the latest value; trades and
candles raise on overflow or drop with a counter, as the consumer chose), and
a callback that raises is logged and counted, never propagated upstream.

Data and events travel apart: ``sink`` takes the model's items only, and
:meth:`Consumer.event` takes :class:`StreamEvent` s. Where an event goes is the
consumer's choice (see :class:`EventChannel`): to its ``on_event`` callback,
in line with the data (``events=True``), or, with neither, to the log (once per
kind, WARNING) and the consumer's counters; it is never silently lost.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from tradeflood.clock import Clock

from ._events import StreamEvent
from ._queue import ConsumerQueue

__all__ = ["CallbackConsumer", "Consumer", "Delivery", "EventChannel", "Options", "QueueConsumer"]

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


class EventChannel:
    """Where one consumer's stream events go, and what it has been told so far.

    ``on_event(event)`` is called as each event happens (a plain function in
    line, a coroutine function as a task of its own); ``events=True`` also puts
    each event in line with the data, in order (the iterator yields it, the
    callback is called with it). With neither, the first event of each kind is
    logged at WARNING (the rest at DEBUG): every event is still counted in
    ``counts`` (by class name) and kept as ``last``.
    """

    __slots__ = ("_tasks", "counts", "in_line", "last", "name", "on_event")

    def __init__(self, on_event: Callable[[Any], Any] | None = None, in_line: bool = False) -> None:
        if on_event is not None and not callable(on_event):
            from tradeflood.errors import QueryError

            raise QueryError(f"on_event={on_event!r} is not callable")
        self.on_event = on_event
        self.in_line = bool(in_line)
        self.counts: Counter[str] = Counter()
        self.last: StreamEvent | None = None
        self.name = "stream"  # what the log calls the stream (its owner names it)
        self._tasks: set[asyncio.Task[Any]] = set()

    def note(self, event: StreamEvent) -> None:
        """Count ``event``, hand it to ``on_event``, or log it when nothing else will see it."""
        kind = type(event).__name__
        self.counts[kind] += 1
        self.last = event
        on_event = self.on_event
        if on_event is not None:
            try:
                result = on_event(event)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._called)
            except Exception:
                log.exception("on_event callback %r raised on %s", on_event, event)
        elif not self.in_line:
            level = logging.WARNING if self.counts[kind] == 1 else logging.DEBUG
            log.log(level, "%s: stream event %s: %s (pass on_event= or events=True to handle "
                    "stream events; each is counted in .events)", self.name, kind, event)

    def _called(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("on_event callback %r raised", self.on_event, exc_info=task.exception())

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()


class Consumer:
    """One subscriber of a stream. ``sink`` takes data items (never events) on the hot path;
    :meth:`event` takes events, handed on as its :class:`EventChannel` says."""

    sink: Callable[[Any], None]
    #: ``sink`` of each item of a list, in order, at once (a queue's put_many); None: call ``sink``.
    sink_many: Callable[[list[Any]], None] | None = None
    channel: EventChannel

    def deliver(self, item: Any) -> None:
        """Hand over one data item off the hot path (a joining consumer's first book)."""
        try:
            self.sink(item)
        except Exception as exc:
            self.sink_failed(exc)

    def event(self, event: StreamEvent) -> None:
        self.channel.note(event)
        if self.channel.in_line:
            self.in_line(event)

    def in_line(self, event: StreamEvent) -> None:
        """Put ``event`` among the data (``events=True``)."""
        raise NotImplementedError

    def sink_failed(self, exc: Exception) -> None:
        """``sink`` raised ``exc`` (a callback's bug): note it; the stream goes on."""

    def fail(self, exc: BaseException) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError


class QueueConsumer(Consumer):
    """A consumer read through a bounded queue (``async for`` over a stream)."""

    def __init__(self, maxsize: int, overflow: Overflow, channel: EventChannel | None = None) -> None:
        self.queue: ConsumerQueue[Any] = ConsumerQueue(maxsize, policy=overflow)
        self.sink = self.queue.put_nowait
        self.sink_many = self.queue.put_many
        self.channel = channel if channel is not None else EventChannel()

    def in_line(self, event: StreamEvent) -> None:
        self.queue.put_control(event)

    def fail(self, exc: BaseException) -> None:
        self.queue.close(exc)

    def finish(self) -> None:
        self.queue.close()
        self.channel.stop()

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def __repr__(self) -> str:
        return f"<stream consumer {self.queue!r}>"


class CallbackConsumer(Consumer):
    """A consumer called for each item. A plain function is called in line and must be
    quick; a coroutine function gets its own task and queue, so a slow one only waits itself."""

    def __init__(self, callback: Callable[[Any], Any], maxsize: int, overflow: Overflow,
                 on_error: Callable[[BaseException], Any] | None = None,
                 channel: EventChannel | None = None) -> None:
        self.callback = callback
        self.on_error = on_error
        self.errors = 0
        self.channel = channel if channel is not None else EventChannel()
        self._queue: QueueConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.sink = callback
        if inspect.iscoroutinefunction(callback):
            self._queue = QueueConsumer(maxsize, overflow, self.channel)
            self.sink = self._queue.sink
            self.sink_many = self._queue.sink_many
            self._task = asyncio.get_running_loop().create_task(self._drain())

    def in_line(self, event: StreamEvent) -> None:
        if self._queue is not None:
            self._queue.in_line(event)
            return
        try:
            self.callback(event)
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
        self.channel.stop()

    async def stopped(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def dropped(self) -> int:
        return self._queue.dropped if self._queue is not None else 0

    def __repr__(self) -> str:
        return f"<stream callback {self.callback!r}>"


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
        self._throttle = options.throttle
        self._sinks: list[Callable[[Any], None]] = []
        self.changed: Callable[[], None] | None = None  # told when consumers come or go (the feed)

    def add(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)
        self._sinks.append(consumer.sink)
        if self.changed is not None:
            self.changed()

    def remove(self, consumer: Consumer) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)
            self._sinks = [c.sink for c in self.consumers]
            if self.changed is not None:
                self.changed()

    def only_consumer(self) -> Consumer | None:
        """The consumer an item goes to as it is, when there is one and nothing is throttled."""
        if self._throttle or len(self.consumers) != 1:
            return None
        return self.consumers[0]

    def deliver(self, item: Any) -> None:
        if item is None:
            return
        throttle = self._throttle
        if not throttle:  # the hot path
            self._fan_out(item)
            return
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
        self._fan_out(item)

    def event(self, event: StreamEvent) -> None:
        if self._pending is not None:  # keep data and events in order
            pending, self._pending = self._pending, None
            self._fan_out(pending)
        for consumer in list(self.consumers):
            consumer.event(event)

    def _fan_out(self, item: Any) -> None:
        # One plain call per consumer; a sink that raises is reported and skipped.
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
            self._fan_out(pending)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
