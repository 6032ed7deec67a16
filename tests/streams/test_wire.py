"""FastConnection splits frames itself: every size, fragments, control frames, cut chunks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tradeflood.streams._wire import FastConnection

SIZES = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]


@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_messages_of_every_length_fragments_and_pings_arrive_whole_and_in_order(
    compression: str | None,
) -> None:
    """Uncompressed frames take the fast path; compressed ones go back to websockets for good."""
    expected: list[bytes] = []
    for i, size in enumerate(SIZES * 3):
        expected.append(bytes((i + k) % 251 for k in range(size)))
    fragmented = [b"part-one|", b"part-two|", b"part-three"]

    async def handler(ws: ServerConnection) -> None:
        for i, payload in enumerate(expected):
            await ws.send(payload)
            if i % 5 == 0:
                await ws.ping(b"p%d" % i)  # control frames between data frames
        await ws.send(fragmented)  # one message in three frames
        await ws.send("text too")
        await ws.wait_closed()

    got: list[bytes] = []
    done = asyncio.Event()

    def on_message(payload: bytes) -> None:
        got.append(bytes(payload))
        if len(got) == len(expected) + 2:
            done.set()

    async with serve(handler, "127.0.0.1", 0, max_size=None, compression=compression) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", create_connection=FastConnection, max_size=None,
                           compression=compression) as ws:
            assert isinstance(ws, FastConnection)
            ws.take_over(on_message)
            await asyncio.wait_for(done.wait(), 20)
            latency = await ws.ping()  # the connection still answers and is answered
            await asyncio.wait_for(latency, 5)
    assert got[: len(expected)] == expected
    assert got[-2:] == [b"".join(fragmented), b"text too"]


async def test_messages_sent_before_take_over_are_kept() -> None:
    async def handler(ws: ServerConnection) -> None:
        for i in range(50):
            await ws.send(f"early {i}")
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", create_connection=FastConnection) as ws:
            await asyncio.sleep(0.2)  # let them all arrive first
            got: list[bytes] = []
            ws.take_over(got.append)  # type: ignore[union-attr]
            await asyncio.sleep(0.1)
    assert got == [f"early {i}".encode() for i in range(50)]


@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_a_message_is_bounded_as_a_whole_not_frame_by_frame(compression: str | None) -> None:
    """An endless fragmented message fails the connection with 1009 once it passes the bound."""
    received_close: list[int | None] = []

    async def endless() -> AsyncIterator[str]:
        for _ in range(40):  # 40 MiB in 1 MiB frames, each under the bound
            yield "x" * 2**20

    async def handler(ws: ServerConnection) -> None:
        try:
            await ws.send(endless())
            await ws.send("after")
        except ConnectionClosed:
            pass  # the client gave up on the message, as it should
        await ws.wait_closed()
        received_close.append(ws.close_code)

    got: list[bytes] = []
    async with serve(handler, "127.0.0.1", 0, max_size=None, compression=compression) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", create_connection=FastConnection, max_size=None,
                           compression=compression) as ws:
            assert isinstance(ws, FastConnection)
            ws.max_message = 4 * 2**20
            ws.take_over(got.append)
            await asyncio.wait_for(ws.wait_closed(), 20)
            assert ws.oversized == 1
        await asyncio.wait_for(_until(lambda: bool(received_close)), 20)
    assert got == []  # nothing of the oversized message, nor after it
    assert received_close[0] in (1009, 1006)  # 1009 when the close frame beat the abort


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.01)
