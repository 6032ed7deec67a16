"""Reading the bus: ``Session(bus="redis://...", tenant="t1").stream(...)`` served from Redis.

The same models and events as a live stream (events through ``on_event=``, or in
line with ``events=True``, as for ``Session.stream``), through the same bounded queue
(books and tickers conflate, trades and candles raise on overflow or drop).
Books are rebuilt from the snapshot hash plus the deltas after it, with
sequence checks. ``st.last_id`` is the entry id of the last item handed out;
``resume=last_id`` starts after it (a restarted consumer loses and repeats
nothing). ``group="name"`` reads through a Redis consumer group (each entry
once per group; an entry is acknowledged once the next one is asked for, or
when the stream closes), and takes over entries a dead member left pending for
``claim_idle`` seconds (``XAUTOCLAIM``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import orjson

from tradeflood import registry
from tradeflood.errors import QueryError, TradeFloodError
from tradeflood.query import Query
from tradeflood.streams import BookResync, BookResynced, ConsumerQueue, EventChannel, StreamEvent

from ._book import BusBook
from ._codec import decode_event, decode_item
from ._errors import BusError
from ._keys import Topic, action_for, lease_key
from ._kinds import default_poll

if TYPE_CHECKING:
    from tradeflood.models import Model
    from tradeflood.session import Session

__all__ = ["BusConsumer", "BusStream", "BusSubscription"]

log = logging.getLogger("tradeflood.bus")
# redis-py can swallow a cancellation that lands in a blocking read, so a reader re-checks whether
# it was closed between reads: a short block bounds how long closing takes (data never waits on it).
_BLOCK_MS = 250
# Entries taken per XREAD, and handled between two yields to the event loop: a reader catching up
# on a firehose (a backlog, a resume) must not hold the loop for a whole reply, or the process's
# other tasks (the consumer itself, a gatherer's lease renewals) starve while it decodes.
_COUNT = 1000
_SLICE = 128
_CONFLATED = ("OrderBook", "Ticker", "FundingRate", "OpenInterest")


class BusConsumer:
    """The bus side of a Session: opens streams of one tenant's topics."""

    def __init__(self, session: Session, url: str, tenant: str) -> None:
        import redis.asyncio as redis

        from ._backend import connect

        connect(url)  # checks the URL
        self.session = session
        self.tenant = tenant
        self.url = url
        self.redis: Any = redis.from_url(url, decode_responses=True, socket_connect_timeout=2)
        self.streams: set[BusSubscription] = set()

    def stream(self, model: type[Model], **params: Any) -> BusStream:
        return BusStream(self, model, None, **params)

    def subscribe(self, model: type[Model], callback: Callable[[Any], Any], **params: Any) -> BusSubscription:
        if not callable(callback):
            raise QueryError(f"callback={callback!r} is not callable")
        return BusSubscription(self, model, callback, **params)

    async def aclose(self) -> None:
        for sub in list(self.streams):
            await sub.close()
        await self.redis.aclose()


class BusSubscription:
    """One consumer of one topic on the bus; ``await ready()``, ``await close()``."""

    def __init__(self, bus: BusConsumer, model: type[Model], callback: Callable[[Any], Any] | None, *,
                 exchange: str, symbol: str, interval: str | None = None, depth: int | None = None,
                 overflow: str | None = None, maxsize: int | None = None, resume: str | None = None,
                 group: str | None = None, consumer: str | None = None, claim_idle: float = 30.0,
                 on_error: Callable[[BaseException], Any] | None = None,
                 on_event: Callable[[Any], Any] | None = None, events: bool = False,
                 **unsupported: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise TradeFloodError("bus streams run on an event loop: use them inside "
                                  "'async with Session(bus=...) as s'") from None
        if unsupported:
            raise QueryError(f"{sorted(unsupported)}: not offered by bus streams; they take exchange, "
                             "symbol, interval, depth, overflow, maxsize, resume, group, consumer, "
                             "claim_idle, on_error, on_event, events")
        query = registry.resolve(Query(model, exchange=exchange, symbol=symbol, interval=interval,
                                       depth=depth, live=default_poll(model, exchange) is None))
        assert query.symbol is not None
        self.bus = bus
        self.redis = bus.redis
        self.topic = Topic(bus.tenant, query.exchange, action_for(model, interval), query.symbol)
        self.depth = depth
        policy = overflow or ("conflate" if model.__name__ in _CONFLATED else "raise")
        if policy not in ("raise", "drop", "conflate"):
            raise QueryError(f"overflow={overflow!r}: choose one of raise, drop, conflate")
        size = maxsize if maxsize is not None else 10_000
        self.queue: ConsumerQueue[tuple[str, Any]] = ConsumerQueue(size, policy)  # type: ignore[arg-type]
        self.callback = callback
        self.on_error = on_error
        self.channel = EventChannel(on_event, events)  # events: on_event, in line, or logged and counted
        self.channel.name = str(self.topic)
        self.last_id: str | None = resume
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}"
        self.claim_idle_ms = int(claim_idle * 1000)
        self.error: BaseException | None = None
        self._unacked: str | None = None
        self._events_read: list[str] = []  # group: event entries told through on_event, to acknowledge
        is_book = self.topic.action == "orderbook"
        self._book = BusBook(self.topic.exchange, self.topic.symbol) if is_book else None
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closed = False
        bus.streams.add(self)
        self._task = asyncio.get_running_loop().create_task(self._read())
        self._calls = asyncio.get_running_loop().create_task(self._call()) if callback else None

    async def ready(self) -> BusSubscription:
        """Wait until the topic is found on the bus; raises if no gatherer publishes it."""
        await asyncio.shield(self._ready)
        return self

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    @property
    def events(self) -> Any:
        """The stream events read from the bus, counted by kind (as ``Stream.events``)."""
        return self.channel.counts

    @property
    def last_event(self) -> StreamEvent | None:
        return self.channel.last

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.bus.streams.discard(self)
        for task in (self._task, self._calls):
            if task is not None:
                task.cancel()
        await asyncio.gather(self._task, *([self._calls] if self._calls else []), return_exceptions=True)
        await self._ack()
        self.queue.close()
        self.channel.stop()

    # -- reading Redis -----------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            start = await self._start()
            if not self._ready.done():
                self._ready.set_result(None)
            if self.group is not None:
                await self._read_group()
            else:
                await self._read_plain(start)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = exc
            if not self._ready.done():
                self._ready.set_exception(exc)
            self.queue.close(exc)
            if self.on_error is not None:
                self.on_error(exc)

    async def _start(self) -> str:
        stream, lease = self.topic.stream, lease_key(self.topic)
        if not await self.redis.exists(stream, lease):
            raise BusError(f"no gatherer publishes {stream} on {self.bus.url}: configure it in an agent's "
                           "stream.config.{agent}, or read the venue with a Session without bus=")
        if self.group is not None:
            try:
                await self.redis.xgroup_create(stream, self.group, id="0", mkstream=True)
            except Exception as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            return ">"
        if self.last_id is not None:
            return self.last_id
        if self._book is not None:
            snap = await self.redis.hgetall(self.topic.snapshot)
            if snap:
                self._book.load(orjson.loads(snap["data"]))
                self.queue.put_nowait((snap["id"], self._book.model(self.depth)))
                return str(snap["id"])
        tail = await self.redis.xrevrange(stream, count=1)
        return str(tail[0][0]) if tail else "0-0"

    async def _read_plain(self, after: str) -> None:
        while not self._closed:  # redis-py may swallow a cancellation that lands mid-command
            reply = await self.redis.xread({self.topic.stream: after}, count=_COUNT, block=_BLOCK_MS)
            for _, entries in reply or ():
                await self._entries(entries)
                after = entries[-1][0]

    async def _read_group(self) -> None:
        stream, group = self.topic.stream, self.group
        # First what this member was given and did not acknowledge before it stopped.
        after = "0"
        while not self._closed:
            pending = await self.redis.xreadgroup(group, self.consumer, {stream: after}, count=_COUNT)
            entries = [e for _, es in pending or () for e in es]
            if not entries:
                break
            await self._entries(entries)
            after = entries[-1][0]
        loop = asyncio.get_running_loop()
        claim_at = loop.time() + self.claim_idle_ms / 2000
        while not self._closed:
            if loop.time() >= claim_at:
                claim_at = loop.time() + self.claim_idle_ms / 2000
                _, claimed, *_ = await self.redis.xautoclaim(stream, group, self.consumer,
                                                             self.claim_idle_ms, "0-0", count=_COUNT)
                await self._entries([(entry_id, fields) for entry_id, fields in claimed if fields])
            reply = await self.redis.xreadgroup(group, self.consumer, {stream: ">"}, count=_COUNT,
                                                block=min(_BLOCK_MS, max(50, self.claim_idle_ms // 2)))
            for _, entries in reply or ():
                await self._entries(entries)

    async def _entries(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """Hand out one reply's entries, yielding to the event loop every ``_SLICE`` of them (and
        after the last: a reply read from an already filled socket buffer does not suspend)."""
        for n, (entry_id, fields) in enumerate(entries, 1):
            await self._entry(entry_id, fields)
            if n % _SLICE == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(0)

    async def _entry(self, entry_id: str, fields: dict[str, str]) -> None:
        kind, data = fields.get("type"), fields.get("data", "")
        if kind == "item":
            self.queue.put_nowait((entry_id, decode_item(self.topic, data)))
        elif kind == "event":
            event = decode_event(self.topic, data)
            if isinstance(event, BookResync) and self._book is not None:
                self._book.ready = False
            self._event(entry_id, event)
        elif kind in ("snapshot", "delta") and self._book is not None:
            await self._book_entry(entry_id, kind, orjson.loads(data))

    async def _book_entry(self, entry_id: str, kind: str, data: dict[str, Any]) -> None:
        book = self._book
        assert book is not None
        if kind == "snapshot":
            was_ready = book.ready
            book.load(data)
            if not was_ready:
                self._event(entry_id, BookResynced(book.exchange, book.symbol, book.timestamp,
                                                   sequence=book.sequence))
        elif not book.ready:
            return  # waiting for the next snapshot
        elif not book.apply(data):
            self._event(entry_id, BookResync(book.exchange, book.symbol, int(data["timestamp"]),
                                             reason="a delta does not follow the book held"))
            return
        self.queue.put_nowait((entry_id, book.model(self.depth)))

    def _event(self, entry_id: str, event: StreamEvent) -> None:
        self.channel.note(event)
        if self.channel.in_line:
            self.queue.put_control((entry_id, event))
        elif self.group is not None:
            self._events_read.append(entry_id)

    # -- handing out ---------------------------------------------------------------------

    async def _ack(self) -> None:
        if self.group is None:
            return
        done, self._events_read = self._events_read, []
        if self._unacked is not None:
            done.append(self._unacked)
            self._unacked = None
        if done:
            try:
                await self.redis.xack(self.topic.stream, self.group, *done)
            except Exception as exc:
                log.warning("%s: could not acknowledge %s: %s", self.topic, ", ".join(done), exc)

    def _handed(self, entry_id: str) -> None:
        self.last_id = entry_id
        self._unacked = entry_id

    async def get(self) -> Any:
        """The next item, or event with ``events=True`` (acknowledging the previous one in a group)."""
        await self.ready()
        await self._ack()
        entry_id, item = await self.queue.get()
        self._handed(entry_id)
        return item

    async def _call(self) -> None:
        assert self.callback is not None
        while True:
            item = await self.get()
            try:
                result = self.callback(item)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("bus callback %r raised", self.callback)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.topic}>"


class BusStream(BusSubscription):
    """A bus subscription read with ``async for`` (or ``async with ... as st``)."""

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._items()

    async def _items(self) -> AsyncIterator[Any]:
        try:
            while True:
                try:
                    item = await self.get()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            await self.close()

    async def __aenter__(self) -> BusStream:
        await self.ready()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()



