"""Serving simulated venues over real sockets: a minimal HTTP/1.1 server on 127.0.0.1.

One port per venue, persistent (keep-alive) connections, the client IP taken
from the socket peer, so clients bound to 127.0.0.2 and 127.0.0.3 are distinct
(on Linux any 127.x address can be a client's source address towards 127.0.0.1,
e.g. ``httpx.AsyncHTTPTransport(local_address="127.0.0.2")``).
Requests are parsed by hand on asyncio streams so that a path can later be
handed over to a WebSocket handler on the same connection. Delays use real
time here (the server may run in its own thread). Example::

    with Simulator() as sim:
        base = sim.url("bitget")          # http://127.0.0.1:PORT
        httpx.get(base + "/api/v2/spot/market/candles?symbol=BTCUSDT&granularity=1h")
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._bitget import BitgetVenue
from tradeflood.testing._venue import SimResponse, Venue

__all__ = ["Simulator"]

_MAX_HEADER_LINES = 100


class Simulator:
    """Simulated venues served over HTTP/1.1, in a background thread or in the running loop.

    Use ``with Simulator() as sim`` from synchronous code (a thread runs the
    server) or ``async with Simulator() as sim`` inside an event loop. ``venues``
    defaults to a fresh :class:`BitgetVenue` and :class:`BinanceVenue`.
    ``connections_accepted`` counts the TCP connections accepted so far, over all
    venues, so tests can see whether clients reused kept-alive connections.
    """

    def __init__(self, venues: Mapping[str, Venue] | None = None, host: str = "127.0.0.1") -> None:
        if venues is None:
            venues = {"bitget": BitgetVenue(), "binance": BinanceVenue()}
        self.venues = dict(venues)
        self.host = host
        self.ports: dict[str, int] = {}
        self.connections_accepted = 0
        self._servers: list[asyncio.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def url(self, venue: str) -> str:
        """The REST base URL of ``venue``: append the venue's real paths to it."""
        return f"http://{self.host}:{self.ports[venue]}"

    # -- lifecycle ---------------------------------------------------------
    async def start_serving(self) -> None:
        """Open one listening socket per venue in the running loop."""
        for name, venue in self.venues.items():
            server = await asyncio.start_server(self._handler(venue), self.host, 0)
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]

    async def stop_serving(self) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    def start(self) -> None:
        """Serve from a background thread; returns once every port is listening."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start_serving())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_serving())
            loop.close()

        self._thread = threading.Thread(target=run, name="tradeflood-simulator", daemon=True)
        self._thread.start()
        ready.wait()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop = self._thread = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Simulator:
        await self.start_serving()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_serving()

    # -- HTTP/1.1 ----------------------------------------------------------
    def _handler(
        self, venue: Venue
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._connection(venue, reader, writer)

        return handle

    async def _connection(
        self, venue: Venue, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        self.connections_accepted += 1
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else "127.0.0.1"
        try:
            while True:
                line = await reader.readline()
                if not line.strip():
                    break
                method, target, version = line.decode("latin-1").split(" ", 2)
                headers = await self._headers(reader)
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                # A later WebSocket endpoint hooks in here: on "upgrade: websocket" the
                # connection (reader, writer) is handed to its handler instead.
                url = urlsplit(target)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                answer = venue.handle(method, url.path, query, ip)
                if answer.hang:
                    await reader.read()  # hold the request until the client gives up
                    break
                if answer.delay > 0:
                    await asyncio.sleep(answer.delay)
                keep = version.strip() == "HTTP/1.1" and headers.get("connection") != "close"
                writer.write(self._encode(answer, keep))
                await writer.drain()
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    @staticmethod
    async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADER_LINES):
            line = (await reader.readline()).decode("latin-1").strip()
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        return headers

    @staticmethod
    def _encode(answer: SimResponse, keep_alive: bool) -> bytes:
        try:
            reason = HTTPStatus(answer.status).phrase
        except ValueError:
            reason = ""
        lines = [f"HTTP/1.1 {answer.status} {reason}"]
        lines += [f"{k}: {v}" for k, v in answer.headers.items()]
        lines.append(f"content-length: {len(answer.body)}")
        lines.append(f"connection: {'keep-alive' if keep_alive else 'close'}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer.body
