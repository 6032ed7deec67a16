"""The stream hot path's own mechanics: bursts per loop turn, batch reads off a queue."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from tradeflood.errors import StreamOverflowError
from tradeflood.streams._queue import ConsumerQueue
from tradeflood.streams._wire import FastConnection


def _frame(payload: bytes) -> bytes:
    """One unmasked text frame, as a server sends it."""
    n = len(payload)
    if n < 126:
        return bytes([0x81, n]) + payload
    return bytes([0x81, 126, n >> 8, n & 0xFF]) + payload


async def test_a_chunk_of_many_messages_is_handed_on_in_bursts_one_loop_turn_apart() -> None:
    messages = [b'{"n":%d,"pad":"%s"}' % (i, b"x" * (i % 300)) for i in range(3000)]

    async def handler(ws: ServerConnection) -> None:
        ws.transport.write(b"".join(_frame(m) for m in messages))  # one write: few, large chunks
        ws.transport.write(_frame(b"ping me") + b"\x89\x00" + _frame(b"after the ping"))
        await ws.wait_closed()

    batches: list[list[bytes]] = []
    turns: list[int] = []  # the loop turn of each batch
    turn = [0]
    done = asyncio.Event()

    def on_messages(batch: list[bytes]) -> None:
        batches.append(list(batch))
        turns.append(turn[0])
        if sum(map(len, batches)) == len(messages) + 2:
            done.set()

    async def ticker() -> None:  # counts loop turns
        while True:
            turn[0] += 1
            await asyncio.sleep(0)

    tick = asyncio.ensure_future(ticker())
    try:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}", create_connection=FastConnection) as ws:
                assert isinstance(ws, FastConnection)
                ws.take_over(on_messages=on_messages)
                await asyncio.wait_for(done.wait(), 20)
                await asyncio.wait_for(await ws.ping(), 5)  # still answers after pausing and resuming
    finally:
        tick.cancel()
    got = [m for batch in batches for m in batch]
    assert got == [*messages, b"ping me", b"after the ping"]
    # The first batch may hold what came with the handshake, before take_over.
    assert max(map(len, batches[1:])) <= FastConnection.burst
    assert len(batches) >= len(messages) // FastConnection.burst
    full = [t for b, t in zip(batches, turns, strict=True) if len(b) == FastConnection.burst]
    assert len(full) >= 5 and all(b > a for a, b in itertools.pairwise(full))


def test_take_data_reads_plain_items_and_stops_at_an_event() -> None:
    queue: ConsumerQueue[object] = ConsumerQueue(10, policy="raise")
    for i in range(3):
        queue.put_nowait(i)
    queue.put_control("event")
    queue.put_nowait(3)
    taken = queue.take_data()
    assert next(taken) == 0
    assert queue.qsize() == 4  # taken off as iterated, not all at once
    assert list(taken) == [1, 2]
    assert list(queue.take_data()) == []  # the event is get_nowait's to hand out
    assert queue.get_nowait() == "event"
    assert list(queue.take_data()) == [3]


async def test_take_data_keeps_the_bound_and_the_overflow_report() -> None:
    queue: ConsumerQueue[int] = ConsumerQueue(3, policy="raise")
    for i in range(3):
        queue.put_nowait(i)
    taken = queue.take_data()
    assert next(taken) == 0
    queue.put_nowait(3)  # room for one more: one was read
    queue.put_nowait(4)  # this one is missed
    assert queue.dropped == 1
    assert list(taken) == []  # the overflow is reported before anything queued after it
    with pytest.raises(StreamOverflowError):
        queue.get_nowait()
    assert list(queue.take_data()) == [1, 2, 3]
