"""A bounded queue per stream consumer, so that a slow consumer never slows the upstream reader.

The reader hands items over with :meth:`ConsumerQueue.put_nowait`, which never
blocks and never awaits; what happens when the consumer falls behind is the
consumer's chosen policy:

- ``conflate`` (books, tickers): only the latest value per key waits (the key
  is ``key(item)``, or one key for all items when ``key`` is None), so a slow
  consumer always gets the freshest state and never a backlog. What waits is
  bounded by the number of keys (between control events), not by ``maxsize``.
- ``raise`` (trades, candles by default): once ``maxsize`` items wait, further
  items are not queued; the consumer's next :meth:`~ConsumerQueue.get` raises
  :class:`~tradeflood.errors.StreamOverflowError` saying how many it missed,
  ahead of the items queued before the overflow (which it can still read).
- ``drop`` (opt-in): the *oldest* waiting item makes room for the new one, so a
  slow consumer reads the most recent ``maxsize`` items; ``dropped`` counts them.

Control events (gaps, resyncs) go in with :meth:`~ConsumerQueue.put_control`:
they keep their place among the data, are never conflated or dropped, and do
not count toward ``maxsize``. :meth:`~ConsumerQueue.close` ends iteration once
everything queued has been read, or raises its error there::

    queue: ConsumerQueue[Trade | StreamEvent] = ConsumerQueue(1000, policy="raise")
    queue.put_nowait(trade)                  # from the reader
    async for item in queue:                 # in the consumer
        ...
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, Literal, TypeVar

from tradeflood.errors import StreamOverflowError

__all__ = ["ConsumerQueue", "Policy"]

T = TypeVar("T")
Policy = Literal["conflate", "raise", "drop"]
_POLICIES = ("conflate", "raise", "drop")


class _Slot(Generic[T]):
    """A place in the queue that needs more than the item: a control event, or a conflated
    value with its key. Plain data items (``raise``/``drop``) are queued as they are."""

    __slots__ = ("control", "key", "value")

    def __init__(self, value: T, control: bool, key: Hashable = None) -> None:
        self.value = value
        self.control = control
        self.key = key


class ConsumerQueue(Generic[T]):
    """What one consumer has not read yet, bounded by its overflow ``policy``; see the module doc."""

    def __init__(self, maxsize: int = 1024, policy: Policy = "raise", *,
                 key: Callable[[T], Hashable] | None = None, name: str | None = None) -> None:
        if policy not in _POLICIES:
            raise ValueError(f"unknown overflow policy {policy!r}; valid choices: {', '.join(_POLICIES)}")
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        self.maxsize = maxsize
        self.policy = policy
        self.name = name
        self._key = key
        self._slots: deque[_Slot[T] | T] = deque()
        self._conflate = policy == "conflate"
        self._data = 0                              # data slots waiting (control events excluded)
        self._latest: dict[Hashable, _Slot[T]] = {}  # conflate: the waiting slot of each key
        # Consumers waiting for something to read. A put wakes them once, then finds the list empty:
        # a burst of puts costs one wake-up, and a put nobody waits for costs one truth test.
        self._waiters: list[asyncio.Future[None]] = []
        self._missed = 0                            # raise: not yet reported to the consumer
        self._closed = False
        self._error: BaseException | None = None
        self.dropped = 0
        """Items never delivered: dropped (``drop``) or missed on overflow (``raise``)."""
        self.conflated = 0
        """Values replaced by a newer value of the same key before being read (``conflate``)."""

    # The reader's side ------------------------------------------------------------------------

    def put_nowait(self, item: T) -> None:
        """Hand over one item; never blocks. Ignored once the queue is closed."""
        if self._closed:
            return
        if not self._conflate and self._data < self.maxsize:  # the common case
            self._slots.append(item)
            self._data += 1
            if self._waiters:
                self._wake()
            return
        slot: _Slot[T] | T
        if self._conflate:
            key = self._key(item) if self._key is not None else None
            waiting = self._latest.get(key)
            if waiting is not None:
                waiting.value = item
                self.conflated += 1
                return
            slot = self._latest[key] = _Slot(item, False, key)
        elif self._data >= self.maxsize:
            if self.policy == "raise":
                self._missed += 1
                self.dropped += 1
                if self._waiters:
                    self._wake()
                return
            self._drop_oldest()
            slot = item
        else:
            slot = item
        self._slots.append(slot)
        self._data += 1
        if self._waiters:
            self._wake()

    def put_many(self, items: list[T]) -> None:
        """:meth:`put_nowait` of each of ``items``, in order: the items of one socket chunk at once,
        with one wake-up (the common case, when they all fit, is one ``extend``)."""
        if self._closed:
            return
        data = self._data + len(items)
        if not self._conflate and data <= self.maxsize:
            self._slots.extend(items)
            self._data = data
            if self._waiters:
                self._wake()
            return
        for item in items:
            self.put_nowait(item)

    def put_control(self, event: T) -> None:
        """Hand over a control event: kept in order with the data, never conflated or dropped."""
        if self._closed:
            return
        self._slots.append(_Slot(event, True))
        # A value put after the event must not replace one queued before it.
        self._latest.clear()
        if self._waiters:
            self._wake()

    def close(self, exc: BaseException | None = None) -> None:
        """No more items: the consumer reads what is queued, then iteration ends (or ``exc`` is raised)."""
        if self._closed:
            return
        self._closed = True
        self._error = exc
        if self._waiters:
            self._wake()

    # The consumer's side ----------------------------------------------------------------------

    async def get(self) -> T:
        """The next item, waiting for one if needed.

        Raises :class:`~tradeflood.errors.StreamOverflowError` first when items
        were missed (``raise`` policy); once closed and drained, raises the close
        error, or ``StopAsyncIteration`` after a plain close (prefer ``async for``).
        """
        while True:
            try:
                return self.get_nowait()
            except asyncio.QueueEmpty:
                pass
            await self.wait()

    async def wait(self) -> None:
        """Wait until :meth:`get_nowait` has something to say (an item, an error or the end)."""
        while not (self._slots or self._missed or self._closed):
            waiter = self.waiter()
            try:
                await waiter
            except BaseException:
                self.forget(waiter)
                raise

    def waiter(self) -> asyncio.Future[None]:
        """A future done at the next put, overflow or close (one wait of :meth:`wait`, for a
        reader that awaits it itself: a coroutine less per wake-up). Whoever stops waiting on it
        before it is done (cancelled) gives it to :meth:`forget`."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def forget(self, waiter: asyncio.Future[None]) -> None:
        """No longer wait on ``waiter`` (its reader was cancelled); a done one is already forgotten."""
        if not waiter.done():
            waiter.cancel()
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def get_nowait(self) -> T:
        """The next item without waiting; ``asyncio.QueueEmpty`` when none waits and the queue is open."""
        if self._missed:
            missed, self._missed = self._missed, 0
            raise StreamOverflowError(missed, self.maxsize, self.name)
        if self._slots:
            slot = self._slots.popleft()
            if type(slot) is not _Slot:  # a plain data item
                self._data -= 1
                return slot  # type: ignore[return-value]
            if not slot.control:
                self._data -= 1
                if self._latest.get(slot.key) is slot:
                    del self._latest[slot.key]
            return slot.value
        if self._closed:
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        raise asyncio.QueueEmpty

    def take_data(self) -> Iterator[T]:
        """The plain data items waiting at the front, each taken off as it is iterated (so the
        queue's bound counts what is not read yet); stops at a control event, a conflated
        value, missed items or an empty queue, which :meth:`get_nowait` then tells."""
        slots = self._slots
        while slots and not self._missed:
            item = slots[0]
            if type(item) is _Slot:
                return
            slots.popleft()
            self._data -= 1
            yield item  # type: ignore[misc]

    def __aiter__(self) -> ConsumerQueue[T]:
        return self

    async def __anext__(self) -> T:
        return await self.get()

    # State -------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def qsize(self) -> int:
        """Items waiting, control events included."""
        return len(self._slots)

    def _drop_oldest(self) -> None:
        slots = self._slots
        if not _is_control(slots[0]):
            slots.popleft()
        else:  # control events keep their place; drop the oldest data item behind them
            for i, slot in enumerate(slots):
                if not _is_control(slot):
                    del slots[i]
                    break
        self._data -= 1
        self.dropped += 1

    def __repr__(self) -> str:
        return (f"ConsumerQueue(policy={self.policy!r}, waiting={len(self._slots)}, maxsize={self.maxsize}, "
                f"dropped={self.dropped}, closed={self._closed})")


def _is_control(slot: object) -> bool:
    return type(slot) is _Slot and slot.control
