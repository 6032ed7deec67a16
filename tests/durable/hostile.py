"""A hostile venue on 127.0.0.1 for tests: answers like a simulated venue, except that the
candle requests of one symbol get a body that drips, a gzip bomb or a giant.

Every other request (instrument lists, the other symbols) is answered by the simulator,
in-process, so a session sees a venue that is honest but for the misbehaving replies.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx

from tradeflood.testing import SimulatorTransport
from tradeflood.testing._venue import Venue

CANDLE_PATHS = ("/candles", "/history-candles", "/klines")


def gzip_bomb(expanded: int, piece: int = 1 << 20) -> bytes:
    """One gzip member of ``expanded`` zero bytes (about expanded / 1000 bytes long)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(piece)
    out = [packer.compress(zeros) for _ in range(expanded // piece)]
    out.append(packer.flush())
    return b"".join(out)


@dataclass
class HostileVenue:
    """Serves ``venue`` on 127.0.0.1; candle requests for ``symbol`` (native) get ``mode``:

    ``drip``: a 1,000-byte body sent one byte every ``drip_every`` seconds;
    ``bomb``: ``bomb`` bytes of gzip (set it with :func:`gzip_bomb`);
    ``giant``: ``giant`` bytes of plain body, sent a megabyte at a time;
    ``honest``: the simulator's answer.
    """

    venue: Venue
    symbol: str
    mode: str = "honest"
    drip_every: float = 0.2
    bomb: bytes = b""
    giant: int = 200 * 1024 * 1024
    hostile_requests: int = 0
    requests: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> HostileVenue:
        self._transport = SimulatorTransport({"venue": self.venue})
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    def _hostile(self, target: str) -> bool:
        url = urlsplit(target)
        if not url.path.endswith(CANDLE_PATHS):
            return False
        return parse_qs(url.query).get("symbol", [""])[0] == self.symbol and self.mode != "honest"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode()
                self.requests += 1
                if self._hostile(target):
                    self.hostile_requests += 1
                    await getattr(self, f"_{self.mode}")(writer)
                    return
                await self._honest(writer, target)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _honest(self, writer: asyncio.StreamWriter, target: str) -> None:
        request = httpx.Request("GET", "http://venue" + target)
        response = await self._transport.handle_async_request(request)
        body = await response.aread()
        writer.write(_head(response.status_code, len(body), "application/json") + body)
        await writer.drain()

    async def _drip(self, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, 1000, "application/json"))
        for _ in range(1000):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(self.drip_every)

    async def _bomb(self, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, len(self.bomb), "application/json", b"Content-Encoding: gzip\r\n"))
        await _send(writer, self.bomb)

    async def _giant(self, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, self.giant, "application/json"))
        piece = b"[" * (1 << 20)
        left = self.giant
        while left > 0:
            writer.write(piece[:left])
            left -= len(piece)
            await writer.drain()


def _head(status: int, length: int, kind: str, extra: bytes = b"") -> bytes:
    return (f"HTTP/1.1 {status} OK\r\nContent-Type: {kind}\r\nContent-Length: {length}\r\n".encode()
            + extra + b"\r\n")


async def _send(writer: asyncio.StreamWriter, body: bytes, piece: int = 1 << 16) -> None:
    for i in range(0, len(body), piece):
        writer.write(body[i:i + piece])
        await writer.drain()

