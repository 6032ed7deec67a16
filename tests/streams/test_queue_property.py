"""ConsumerQueue invariants over any interleaving of puts, control events and gets."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.errors import StreamOverflowError
from tradeflood.streams._queue import ConsumerQueue


@dataclass(frozen=True)
class Event:
    n: int


# An operation: ("put", _) a data item, ("event", _) a control event, ("get", _) one read.
ops = st.lists(st.tuples(st.sampled_from(["put", "put", "put", "event", "get", "get"]), st.integers(0, 3)),
               max_size=200)


def run(queue: ConsumerQueue[object], script: list[tuple[str, int]]) -> tuple[list[object], int, int]:
    """Play ``script`` against ``queue`` (then drain it): what was read, items put, overflows reported."""
    delivered: list[object] = []
    put = events = reported = 0

    def read() -> None:
        nonlocal reported
        try:
            delivered.append(queue.get_nowait())
        except StreamOverflowError as overflow:
            reported += overflow.missed
        except asyncio.QueueEmpty:
            pass

    for op, _ in script:
        if op == "put":
            queue.put_nowait(put)
            put += 1
        elif op == "event":
            queue.put_control(Event(events))
            events += 1
        else:
            read()
    queue.close()
    while True:
        try:
            delivered.append(queue.get_nowait())
        except StreamOverflowError as overflow:
            reported += overflow.missed
        except StopAsyncIteration:
            break
    return delivered, put, reported


@settings(max_examples=300, deadline=None)
@given(script=ops, maxsize=st.integers(1, 6), policy=st.sampled_from(["raise", "drop"]))
def test_raise_and_drop_deliver_an_in_order_subsequence_and_account_for_every_item(
        script: list[tuple[str, int]], maxsize: int, policy: str) -> None:
    queue: ConsumerQueue[object] = ConsumerQueue(maxsize, policy=policy)  # type: ignore[arg-type]
    delivered, put, reported = run(queue, script)
    data = [d for d in delivered if isinstance(d, int)]
    events = [d for d in delivered if isinstance(d, Event)]
    assert data == sorted(data) and len(set(data)) == len(data)     # in order, each at most once
    assert len(data) + queue.dropped == put
    if policy == "raise":
        assert reported == queue.dropped                        # every missed item was reported
    else:
        assert reported == 0
    # Control events: all delivered, in order, never dropped.
    assert events == [Event(i) for i in range(sum(1 for op, _ in script if op == "event"))]


@settings(max_examples=300, deadline=None)
@given(script=ops, maxsize=st.integers(1, 6), policy=st.sampled_from(["raise", "drop", "conflate"]))
def test_data_never_crosses_a_control_event(script: list[tuple[str, int]], maxsize: int, policy: str) -> None:
    queue: ConsumerQueue[object] = ConsumerQueue(maxsize, policy=policy)  # type: ignore[arg-type]
    # Remember, for each data item, how many events had been put before it.
    epoch_of: dict[int, int] = {}
    puts = events = 0
    for op, _ in script:
        if op == "put":
            epoch_of[puts] = events
            puts += 1
        elif op == "event":
            events += 1
    delivered, _, _ = run(queue, script)
    seen_events = 0
    for item in delivered:
        if isinstance(item, Event):
            seen_events += 1
        else:
            assert isinstance(item, int)
            assert epoch_of[item] == seen_events


@settings(max_examples=300, deadline=None)
@given(script=ops)
def test_conflate_hands_out_the_latest_value_of_each_key(script: list[tuple[str, int]]) -> None:
    queue: ConsumerQueue[tuple[int, int]] = ConsumerQueue(1, policy="conflate", key=lambda kv: kv[0])
    latest: dict[int, int] = {}
    waiting: set[int] = set()          # keys with a value put since that key was last read
    delivered: list[tuple[int, int]] = []
    n = 0
    for op, key in script:
        if op in ("put", "event"):     # events are covered above; here every op puts or gets
            queue.put_nowait((key, n))
            latest[key] = n
            waiting.add(key)
            n += 1
        else:
            try:
                got = queue.get_nowait()
            except asyncio.QueueEmpty:
                assert not waiting
                continue
            delivered.append(got)
            assert got[1] == latest[got[0]]          # never a superseded value
            waiting.discard(got[0])
    assert queue.qsize() == len(waiting)             # at most one value per key waits
    assert queue.dropped == 0
    assert len(delivered) + len(waiting) + queue.conflated == n


@settings(max_examples=100, deadline=None)
@given(script=ops, maxsize=st.integers(1, 4), policy=st.sampled_from(["raise", "drop"]))
async def test_a_concurrent_consumer_sees_the_same_invariants(
        script: list[tuple[str, int]], maxsize: int, policy: str) -> None:
    queue: ConsumerQueue[object] = ConsumerQueue(maxsize, policy=policy)  # type: ignore[arg-type]
    delivered: list[object] = []

    async def consume() -> None:
        while True:
            try:
                delivered.append(await queue.get())
            except StreamOverflowError:
                continue
            except StopAsyncIteration:
                return

    consumer = asyncio.ensure_future(consume())
    put = 0
    for op, _ in script:
        if op == "get":
            await asyncio.sleep(0)     # let the consumer run
        else:
            queue.put_nowait(put)
            put += 1
    queue.close()
    await consumer
    data = [d for d in delivered if isinstance(d, int)]
    assert data == sorted(data)
    assert len(data) + queue.dropped == put
