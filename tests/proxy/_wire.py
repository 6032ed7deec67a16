"""Raw HTTP over 127.0.0.1 for Proxyter's tests: a client that sends exact bytes and reads one
answer, an upstream that answers with scripted bytes, and a Proxyter sending ``direct``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tradeflood.proxy.proxyter import Proxyter, parse_config


@dataclass
class Answer:
    """One HTTP answer as a client saw it."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), 10)
    return Answer(int(lines[0].split(" ")[1]), headers, body)


async def ask(port: int, data: bytes, *, source: str = "127.0.0.1") -> Answer:
    """Send ``data`` to Proxyter on ``port`` from address ``source``; the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(data)
        await writer.drain()
        return await read_answer(reader)
    finally:
        writer.close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[None]]


@dataclass
class Upstream:
    """A server on 127.0.0.1 that reads each request head, records it, and runs ``script``."""

    script: Script
    heads: list[bytes] = field(default_factory=list)
    port: int = 0
    connections: int = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            self.heads.append(head)
            await self.script(reader, writer, head)
        writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Upstream]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self


async def answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    """Answer every request ``200 ok`` with a length."""
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    await writer.drain()


def direct_proxyter(*, allow: list[str] | None = None, venues: bool = False,
                    auth: dict[str, Any] | None = None, limits: dict[str, Any] | None = None,
                    route: dict[str, str] | None = None) -> Proxyter:
    """Proxyter on 127.0.0.1 sending ``direct``, reaching ``allow`` only (and the venues if asked)."""
    data: dict[str, Any] = {"listen": "127.0.0.1:0", "pools": {"*": ["direct"], "history": ["direct"]},
                            "allow": {"venues": venues, "hosts": allow or []}}
    if auth:
        data["auth"] = auth
    if limits:
        data["limits"] = limits
    if route:
        data["route"] = route
    return Proxyter.from_config(parse_config(data))
