"""A websockets client connection whose data frames skip the per-message await.

``websockets`` does the handshake, proxies, keepalive pings, control frames
and the closing handshake. What it does per message (a Sans-I/O parser
generator, a message assembler, a ``recv()`` future) costs more than decoding
and parsing a market-data message, so from the first byte after the server's
``101`` response this subclass splits complete frames out of each chunk the
socket delivers itself and hands every data message to a plain callback, in
order, within the same ``data_received`` call. Control frames (ping, pong,
close) are handed back to ``websockets`` whole, so its parser always sees frame
boundaries and its protocol state stays exact. The data messages of one chunk
go out as one list (``on_messages``), so the per-message cost downstream is a
loop step, not a call chain. A frame this path does not take
(compressed, masked, oversized) hands the rest of the stream, from that frame's
first byte, back to ``websockets`` for good. A fragmented message is bounded as
a whole (``max_message``), not only frame by frame: one that grows past it
fails the connection (close code 1009), which then reconnects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode

__all__ = ["FastConnection"]

_TEXT, _BINARY, _CONT = 0x1, 0x2, 0x0


class FastConnection(ClientConnection):
    """Use with ``websockets.asyncio.client.connect(..., create_connection=FastConnection)``,
    then :meth:`take_over` with the callback that gets each message's bytes."""

    max_message = 2**24
    #: Messages handed on per turn of the event loop, at most (see :meth:`_split`). A burst's
    #: items live until the consumer reads them (a model and its dict each): 128 keeps that
    #: under the garbage collector's first threshold (700 allocations), where 256 made it collect
    #: about once a burst and promote the waiting items, then walk the whole heap now and then
    #: (a sixth of an ``async for`` reader's CPU).
    burst = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_messages: Callable[[list[bytes]], None] | None = None
        self._on_chunk: Callable[[], None] | None = None
        self._early: list[bytes] = []
        self._buffer = bytearray()
        self._head: bytearray | None = bytearray()  # the handshake response, until it is complete
        self._fast = False
        self._parts: list[bytes] | None = None  # a fragmented message being gathered
        self._parts_size = 0
        self.oversized = 0  # messages refused for growing past max_message
        self._failed = False  # once failed, nothing more is delivered (bytes may still be parsed)
        self._rest: tuple[bytes, int] | None = None  # a chunk's unsplit rest, and where it starts

    def take_over(self, on_message: Callable[[bytes], None] | None = None,
                  on_chunk: Callable[[], None] | None = None, *,
                  on_messages: Callable[[list[bytes]], None] | None = None) -> None:
        """From now on every data message goes to ``on_message``, or, with ``on_messages``,
        the messages of each chunk go as one list, in order (those already in, first);
        ``on_chunk`` is called before the messages of each chunk the socket delivers."""
        if on_messages is None:
            if on_message is None:
                raise TypeError("take_over() needs on_message or on_messages")
            each = on_message

            def on_messages(batch: list[bytes]) -> None:
                for payload in batch:
                    each(payload)

        self._on_messages = on_messages
        self._on_chunk = on_chunk
        if on_chunk is not None:
            on_chunk()
        early, self._early = self._early, []
        if early:
            on_messages(early)

    def _deliver(self, payload: bytes) -> None:
        if self._failed:
            return
        if self._on_messages is None:
            self._early.append(payload)
        else:
            self._on_messages([payload])

    def process_event(self, event: Any) -> None:
        # Messages websockets parsed itself (those in the handshake's own chunk).
        if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            self._fragment(int(event.opcode), event.fin, bytes(event.data))
            return
        super().process_event(event)

    def data_received(self, data: bytes) -> None:
        if not self._fast:
            response = self._head
            if response is None:  # websockets reads everything (see _give_back)
                super().data_received(data)
                return
            # Still in the HTTP handshake: websockets reads the response up to its blank
            # line; the frames after it are ours. Any answer but 101 stays websockets' alone.
            before = len(response)
            response += data
            end = response.find(b"\r\n\r\n")
            if end < 0 or not response.startswith(b"HTTP/1.1 101"):
                if end >= 0:
                    self._head = None
                super().data_received(data)
                return
            cut = end + 4 - before
            self._head = None
            super().data_received(data[:cut])
            self._fast = True
            data = data[cut:]
            if not data:
                return
        if self._on_chunk is not None:
            self._on_chunk()
        if self._rest is not None:  # still splitting an earlier chunk: this one goes after it
            earlier, at = self._rest
            self._rest = (b"".join((memoryview(earlier)[at:], data)), 0)  # one copy of each
            return
        if self._buffer:  # a frame was cut at the end of the last chunk: its head goes first
            data = b"".join((self._buffer, data))  # one copy of the chunk (+= then bytes() made two)
            self._buffer.clear()
        self._split(data, 0)

    def _go_on(self) -> None:
        # The rest of a chunk, after the consumers had their turn (see _split).
        if self._rest is None:
            return
        (data, pos), self._rest = self._rest, None
        self.transport.resume_reading()
        self._split(data, pos)

    def _split(self, data: bytes, pos: int) -> None:
        """Hand on the messages of ``data`` from ``pos``: at most ``burst`` of them now; the
        rest in a later turn of the loop, with reading paused until then, so that a consumer
        behind a queue reads each burst before the next is parsed. (A chunk of thousands of
        messages would otherwise sit parsed in memory, all at once, before any is read.)"""
        size = len(data)
        burst, limit = self.burst, self.max_message
        # The longest message taken in line: none while a fragmented message is being gathered.
        fast = limit if self._parts is None else -1
        batch: list[bytes] = []  # the complete, unfragmented data messages not yet handed on
        while size - pos >= 2:
            b0, n = data[pos], data[pos + 1]
            # n: the 7-bit length; 126 and 127 announce a longer one; 128 and up mean masked.
            if n < 126:
                head = pos + 2
            elif n == 126:
                if size - pos < 4:
                    break
                n = (data[pos + 2] << 8) | data[pos + 3]
                head = pos + 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(data[pos + 2:pos + 10], "big")
                head = pos + 10
            else:
                n = limit + 1  # masked: a server never masks; websockets says so
                head = pos
            end = head + n
            if (b0 == 0x81 or b0 == 0x82) and n <= fast:  # a whole text or binary message
                if end > size:
                    break
                batch.append(data[head:end])
                pos = end
                if len(batch) >= burst and size - pos >= 2:
                    self._hand_on(batch)
                    self._rest = (data, pos)
                    self.transport.pause_reading()
                    asyncio.get_running_loop().call_soon(self._go_on)
                    return
                continue
            # Anything else, in order after the messages before it.
            if batch:
                self._hand_on(batch)
                batch = []
            if b0 & 0x70 or n > limit:
                self._give_back(data[pos:])  # masked, compressed or oversized
                return
            if end > size:
                break
            opcode = b0 & 0x0F
            if opcode & 0x08:  # ping, pong, close: websockets answers them
                super().data_received(data[pos:end])
            elif b0 & 0x80 and opcode != _CONT and self._parts is None:
                self._deliver(data[head:end])
            else:
                self._fragment(opcode, bool(b0 & 0x80), data[head:end])
            pos = end
            fast = limit if self._parts is None else -1
        if batch:
            self._hand_on(batch)
        if pos < size:
            self._buffer += data[pos:]

    def _hand_on(self, batch: list[bytes]) -> None:
        if self._failed:
            return
        if self._on_messages is None:
            self._early.extend(batch)
        else:
            self._on_messages(batch)

    def _give_back(self, rest: bytes) -> None:
        # From a frame boundary on, websockets parses everything itself (and fails the
        # connection properly if the frame breaks the protocol); process_event delivers.
        self._fast = False
        self._buffer.clear()
        super().data_received(rest)

    def _fragment(self, opcode: int, fin: bool, payload: bytes) -> None:
        if opcode in (_TEXT, _BINARY):
            self._parts, self._parts_size = [payload], len(payload)
        elif self._parts is not None:
            self._parts.append(payload)
            self._parts_size += len(payload)
        else:
            self.transport.abort()  # a continuation of nothing
            return
        if self._parts_size > self.max_message:
            self._parts, self._parts_size = None, 0
            self.oversized += 1
            self._failed = True
            self._fail_too_big()
            return
        if fin:
            parts, self._parts, self._parts_size = self._parts, None, 0
            self._deliver(b"".join(parts))

    def _fail_too_big(self) -> None:
        # Tell the venue why (1009: message too big), then drop the socket without
        # waiting for the rest of the message or for the closing handshake.
        from websockets.frames import Close, CloseCode

        try:
            self.transport.write(Frame(Opcode.CLOSE, Close(CloseCode.MESSAGE_TOO_BIG,
                                                           "message too big").serialize(),
                                       ).serialize(mask=True))
        finally:
            self.transport.abort()
