"""ConsumerQueue: each overflow policy, order with control events, close semantics, async iteration."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from tradeflood.errors import StreamError, StreamOverflowError
from tradeflood.streams._queue import ConsumerQueue


@dataclass(frozen=True)
class Event:
    what: str


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: int


def drain(queue: ConsumerQueue[object]) -> list[object]:
    out: list[object] = []
    while True:
        try:
            out.append(queue.get_nowait())
        except (asyncio.QueueEmpty, StopAsyncIteration):
            return out


# raise ---------------------------------------------------------------------------------------------

async def test_raise_reports_how_many_were_missed_then_delivers_what_was_queued() -> None:
    queue: ConsumerQueue[int] = ConsumerQueue(3, policy="raise", name="binance BTC/USDT trades")
    for i in range(7):
        queue.put_nowait(i)
    assert (queue.qsize(), queue.dropped) == (3, 4)
    with pytest.raises(StreamOverflowError) as info:
        await queue.get()
    assert info.value.missed == 4 and info.value.maxsize == 3
    assert isinstance(info.value, StreamError)
    assert "binance BTC/USDT trades" in str(info.value) and "4 item(s)" in str(info.value)
    assert [await queue.get() for _ in range(3)] == [0, 1, 2]
    queue.put_nowait(7)                        # room again: the queue goes on
    assert await queue.get() == 7
    assert queue.dropped == 4


async def test_raise_reports_each_overflow_once() -> None:
    queue: ConsumerQueue[int] = ConsumerQueue(1, policy="raise")
    queue.put_nowait(0)
    queue.put_nowait(1)
    with pytest.raises(StreamOverflowError):
        queue.get_nowait()
    assert queue.get_nowait() == 0
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


# drop ----------------------------------------------------------------------------------------------

def test_drop_discards_the_oldest_and_counts() -> None:
    queue: ConsumerQueue[int] = ConsumerQueue(3, policy="drop")
    for i in range(10):
        queue.put_nowait(i)
    assert queue.dropped == 7
    assert drain(queue) == [7, 8, 9]


def test_drop_never_drops_control_events() -> None:
    queue: ConsumerQueue[object] = ConsumerQueue(2, policy="drop")
    queue.put_control(Event("resync"))
    for i in range(5):
        queue.put_nowait(i)
    queue.put_control(Event("resynced"))
    queue.put_nowait(5)
    assert drain(queue) == [Event("resync"), 4, Event("resynced"), 5]
    assert queue.dropped == 4


def test_drop_keeps_control_events_in_place() -> None:
    queue: ConsumerQueue[object] = ConsumerQueue(2, policy="drop")
    queue.put_control(Event("a"))
    queue.put_nowait(1)
    queue.put_nowait(2)
    queue.put_nowait(3)                        # drops 1, which waits behind the event
    queue.put_control(Event("b"))
    queue.put_nowait(4)                        # drops 2
    assert drain(queue) == [Event("a"), 3, Event("b"), 4]
    assert queue.dropped == 2


# conflate ------------------------------------------------------------------------------------------

def test_conflate_keeps_only_the_latest_value() -> None:
    queue: ConsumerQueue[int] = ConsumerQueue(1, policy="conflate")
    for i in range(100):
        queue.put_nowait(i)
    assert (queue.qsize(), queue.conflated, queue.dropped) == (1, 99, 0)
    assert drain(queue) == [99]
    queue.put_nowait(100)
    assert drain(queue) == [100]


def test_conflate_by_key_keeps_the_first_arrival_order_of_keys() -> None:
    queue: ConsumerQueue[Quote] = ConsumerQueue(1, policy="conflate", key=lambda q: q.symbol)
    queue.put_nowait(Quote("BTC", 1))
    queue.put_nowait(Quote("ETH", 1))
    queue.put_nowait(Quote("BTC", 2))
    queue.put_nowait(Quote("ETH", 2))
    queue.put_nowait(Quote("SOL", 1))
    queue.put_nowait(Quote("BTC", 3))
    assert drain(queue) == [Quote("BTC", 3), Quote("ETH", 2), Quote("SOL", 1)]


def test_conflate_never_moves_a_value_across_a_control_event() -> None:
    queue: ConsumerQueue[object] = ConsumerQueue(1, policy="conflate")
    queue.put_nowait("book@1")
    queue.put_nowait("book@2")
    queue.put_control(Event("resync"))
    queue.put_nowait("book@9")                 # after the event: must not replace book@2
    queue.put_nowait("book@10")
    assert drain(queue) == ["book@2", Event("resync"), "book@10"]


def test_conflate_after_the_value_was_read_queues_a_new_one() -> None:
    queue: ConsumerQueue[str] = ConsumerQueue(1, policy="conflate")
    queue.put_nowait("a")
    assert queue.get_nowait() == "a"
    queue.put_nowait("b")
    queue.put_nowait("c")
    assert drain(queue) == ["c"]


# control events, close, iteration ---------------------------------------------------------------------

def test_control_events_do_not_count_toward_maxsize() -> None:
    queue: ConsumerQueue[object] = ConsumerQueue(2, policy="raise")
    for i in range(5):
        queue.put_control(Event(str(i)))
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert queue.dropped == 0
    assert drain(queue) == [*(Event(str(i)) for i in range(5)), 1, 2]


async def test_close_lets_the_consumer_drain_then_ends_iteration() -> None:
    queue: ConsumerQueue[object] = ConsumerQueue(10)
    queue.put_nowait(1)
    queue.put_control(Event("gap"))
    queue.put_nowait(2)
    queue.close()
    queue.put_nowait(3)                        # ignored once closed
    assert queue.closed
    assert [item async for item in queue] == [1, Event("gap"), 2]
    with pytest.raises(StopAsyncIteration):
        await queue.get()


async def test_close_with_an_error_raises_it_after_the_delivered_items() -> None:
    queue: ConsumerQueue[int] = ConsumerQueue(10)
    queue.put_nowait(1)
    queue.put_nowait(2)
    boom = ConnectionError("venue went away")
    queue.close(boom)
    queue.close()                              # the first close wins
    got: list[int] = []
    with pytest.raises(ConnectionError) as info:
        async for item in queue:
            got.append(item)
    assert got == [1, 2] and info.value is boom


async def test_an_overflow_is_reported_before_a_close_error() -> None:
    queue: ConsumerQueue[int] = ConsumerQueue(1, policy="raise")
    queue.put_nowait(1)
    queue.put_nowait(2)
    queue.close(RuntimeError("closed"))
    with pytest.raises(StreamOverflowError):
        await queue.get()
    assert await queue.get() == 1
    with pytest.raises(RuntimeError, match="closed"):
        await queue.get()


async def test_get_waits_for_a_put_from_another_task() -> None:
    queue: ConsumerQueue[str] = ConsumerQueue(4)
    waiter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not waiter.done()
    queue.put_nowait("tick")
    assert await waiter == "tick"


async def test_a_waiting_consumer_is_woken_by_close() -> None:
    queue: ConsumerQueue[str] = ConsumerQueue(4)

    async def consume() -> list[str]:
        return [item async for item in queue]

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0)
    queue.put_nowait("a")
    await asyncio.sleep(0)
    queue.close()
    assert await task == ["a"]


def test_put_nowait_is_a_plain_function() -> None:
    # The reader calls it in line: it must not be a coroutine that could suspend.
    assert not asyncio.iscoroutinefunction(ConsumerQueue.put_nowait)
    assert not asyncio.iscoroutinefunction(ConsumerQueue.put_control)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="valid choices: conflate, raise, drop"):
        ConsumerQueue(4, policy="block")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        ConsumerQueue(0)
