"""What a caller holds: a subscription (callback) or a stream (async iterator) of one query."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._delivery import CallbackConsumer, Consumer, Options, QueueConsumer
from ._events import StreamEvent
from ._queue import _Slot

# import cycle: types only: the hub makes feeds and subscriptions, which call back into it
if TYPE_CHECKING:
    from tradeflood.query import Query

    from ._hub import StreamHub

__all__ = ["Stream", "Subscription"]

_ids = itertools.count(1)


class Subscription:
    """One consumer of a live stream. ``await sub.ready()`` waits until it is attached (and
    raises if it cannot be, e.g. an unknown symbol); ``await sub.close()`` leaves, and the
    last consumer of a stream leaving unsubscribes it upstream."""

    def __init__(self, hub: StreamHub, query: Query, options: Options, consumer: Consumer) -> None:
        self.id = next(_ids)
        self.hub = hub
        self.query = query
        self.options = options
        self.consumer = consumer
        consumer.channel.name = query.describe()
        self.error: BaseException | None = None
        self._closed = False
        hub.prepare(query)
        self._attached: asyncio.Task[None] = hub.spawn(hub.attach(self))
        self._attached.add_done_callback(self._on_attached)

    def _on_attached(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.error = task.exception()
            self.consumer.fail(self.error)  # type: ignore[arg-type]

    async def ready(self) -> Subscription:
        """Wait until the subscription is attached upstream; raises its error if it failed."""
        await asyncio.shield(self._attached)
        return self

    @property
    def dropped(self) -> int:
        """Items this consumer lost to overflow (only with ``overflow="drop"``)."""
        return getattr(self.consumer, "dropped", 0)

    @property
    def events(self) -> Counter[str]:
        """The stream events this consumer was told of, counted by kind (``{"TradeGap": 1}``),
        whichever channel they went to (``on_event``, in line, or only the log)."""
        return self.consumer.channel.counts

    @property
    def last_event(self) -> StreamEvent | None:
        """The latest stream event of this consumer (a :class:`TradeGap`...), or None."""
        return self.consumer.channel.last

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Leave the stream; idempotent."""
        if self._closed:
            return
        self._closed = True
        if not self._attached.done():
            self._attached.cancel()
        await asyncio.gather(self._attached, return_exceptions=True)
        self.hub.detach(self)
        self.consumer.finish()
        if isinstance(self.consumer, CallbackConsumer):
            await self.consumer.stopped()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} #{self.id} {self.query.describe()}>"


class Stream(Subscription):
    """A subscription read with ``async for``; leaving the loop leaves the stream::

        async with session.stream(Trade, exchange="example", symbol="BTC/USDT") as trades:
            async for trade in trades:
                ...

    It yields its model's objects only; stream events come through ``on_event=``,
    or in line with ``events=True`` (see :class:`~tradeflood.streams.StreamEvent`).
    """

    consumer: QueueConsumer

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._items()

    async def _items(self) -> AsyncIterator[Any]:
        queue = self.consumer.queue
        slots = queue._slots
        try:
            await self.ready()
            while True:
                # Everything waiting is read off at once, then handed out one by one: the hot
                # path per item is a yield. Between batches, the queue's full get_nowait (missed
                # items, control events, the end); one await only when nothing waits at all.
                # (ConsumerQueue.take_data, in line: one generator less per item)
                while slots and not queue._missed:
                    item = slots[0]
                    if type(item) is _Slot:
                        break
                    slots.popleft()
                    queue._data -= 1
                    yield item
                if not (slots or queue._missed or queue._closed):
                    # Nothing to say yet: ConsumerQueue.wait in line, without get_nowait's
                    # QueueEmpty (an exception raised and caught) or a coroutine of its own;
                    # with small socket reads this runs once per read.
                    waiter = queue.waiter()
                    try:
                        await waiter
                    except BaseException:
                        queue.forget(waiter)
                        raise
                    continue
                try:
                    item = queue.get_nowait()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            await self.close()

    async def get(self) -> Any:
        """The next item (or event, with ``events=True``); raises the stream's error once it has failed."""
        await self.ready()
        return await self.consumer.queue.get()

    async def __aenter__(self) -> Stream:
        await self.ready()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
