"""Serving simulated venues over real sockets: a minimal HTTP/1.1 server on 127.0.0.1.

One port per venue, persistent (keep-alive) connections, the client IP taken
from the socket peer, so clients bound to 127.0.0.2 and 127.0.0.3 are distinct
(on Linux any 127.x address can be a client's source address towards 127.0.0.1,
e.g. ``httpx.AsyncHTTPTransport(local_address="127.0.0.2")``).
Requests are parsed by hand on asyncio streams. Delays use real time here (the
server may run in its own thread). Each venue's WebSocket API is served on a
port of its own by a :class:`StreamServer` (``sim.streams[venue]``), started and
stopped with the REST side; the fault methods below may be called from any
thread. Example::

    with Simulator() as sim:
        base = sim.url("bitget")          # http://127.0.0.1:PORT
        httpx.get(base + "/api/v2/spot/market/candles?symbol=BTCUSDT&granularity=1h")
        sim.urls()["binance"]["ws"]       # ws://127.0.0.1:PORT2 (append /stream?streams=...)
        sim.drop_connections("binance")
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from tradeflood.clock import VirtualClock
from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._binance_ws import BinanceStreams
from tradeflood.testing._bitget import BitgetVenue
from tradeflood.testing._bitget_ws import BitgetStreams
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._bybit_ws import BybitStreams
from tradeflood.testing._okx import OkxVenue
from tradeflood.testing._okx_ws import BUSINESS, OkxStreams
from tradeflood.testing._venue import SimResponse, Venue
from tradeflood.testing._ws import StreamServer

__all__ = ["Simulator"]

_MAX_HEADER_LINES = 100
T = TypeVar("T")


def stream_server(venue: Venue) -> StreamServer | None:
    """The WebSocket API of a simulated venue, if it has one.

    Its pacing follows the venue's clock when that runs by itself (live, or a
    ScaledClock); a VirtualClock moves only when tasks sleep on it, so a pump
    sleeping on it would drag the venue's time along: pacing stays real then.
    """
    clock = None if isinstance(venue.clock, VirtualClock) else venue.clock
    if isinstance(venue, BitgetVenue):
        return BitgetStreams(venue, clock=clock)
    if isinstance(venue, BinanceVenue):
        return BinanceStreams(venue, clock=clock)
    if isinstance(venue, OkxVenue):
        return OkxStreams(venue, clock=clock)
    if isinstance(venue, BybitVenue):
        return BybitStreams(venue, clock=clock)
    return None


class Simulator:
    """Simulated venues served over HTTP/1.1, in a background thread or in the running loop.

    Use ``with Simulator() as sim`` from synchronous code (a thread runs the
    server) or ``async with Simulator() as sim`` inside an event loop. ``venues``
    defaults to a fresh :class:`BitgetVenue`, :class:`BinanceVenue`, :class:`OkxVenue` and
    :class:`BybitVenue`.
    ``connections_accepted`` counts the TCP connections accepted so far, over all
    venues, so tests can see whether clients reused kept-alive connections.
    ``streams`` holds each venue's WebSocket server (its ``stats``, limits and
    pacing are attributes to read and set); ``ws=False`` serves REST only.
    """

    def __init__(
        self, venues: Mapping[str, Venue] | None = None, host: str = "127.0.0.1", *, ws: bool = True
    ) -> None:
        if venues is None:
            venues = {"bitget": BitgetVenue(), "binance": BinanceVenue(), "okx": OkxVenue(),
                      "bybit": BybitVenue()}
        self.venues = dict(venues)
        self.host = host
        self.ports: dict[str, int] = {}
        self.streams: dict[str, StreamServer] = {}
        if ws:
            for name, venue in self.venues.items():
                server = stream_server(venue)
                if server is not None:
                    self.streams[name] = server
        self.connections_accepted = 0
        self._servers: list[asyncio.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def url(self, venue: str) -> str:
        """The REST base URL of ``venue``: append the venue's real paths to it."""
        return f"http://{self.host}:{self.ports[venue]}"

    def ws_url(self, venue: str) -> str:
        """The WebSocket base URL of ``venue``, standing for its real one (Bitget's includes the path)."""
        server = self.streams[venue]
        path = server.path if isinstance(server, (BitgetStreams, OkxStreams)) else ""
        return f"ws://{self.host}:{server.port}{path}"

    def urls(self) -> dict[str, dict[str, str]]:
        """URL overrides for a TradeFlood Session: ``{venue: {"rest": ..., "ws": ..., ...}}``."""
        out: dict[str, dict[str, str]] = {}
        for name in self.venues:
            entry = {"rest": self.url(name)}
            if name in self.streams:
                entry["ws"] = self.ws_url(name)
                if isinstance(self.streams[name], BinanceStreams):
                    entry["ws.futures"] = self.ws_url(name) + "/futures"
                if isinstance(self.streams[name], OkxStreams):
                    entry["ws.business"] = f"ws://{self.host}:{self.streams[name].port}{BUSINESS}"
                if isinstance(self.streams[name], BybitStreams):
                    del entry["ws"]  # Bybit has one path per category, and no plain "ws"
                    port = self.streams[name].port
                    entry["ws.spot"] = f"ws://{self.host}:{port}/v5/public/spot"
                    entry["ws.linear"] = f"ws://{self.host}:{port}/v5/public/linear"
            out[name] = entry
        return out

    def environ(self) -> dict[str, str]:
        """:meth:`urls` as the environment variables TradeFlood reads
        (``TRADEFLOOD_BITGET_REST_URL``, ``TRADEFLOOD_BINANCE_WS_FUTURES_URL``...), so that a
        program run with them, unchanged, fetches and streams from this simulator."""
        return {f"TRADEFLOOD_{venue.upper()}_{api.upper().replace('.', '_')}_URL": url
                for venue, apis in self.urls().items() for api, url in apis.items()}

    # -- WebSocket faults (callable from any thread) --------------------------
    def drop_connections(self, venue: str, ip: str | None = None) -> int:
        """Abruptly close every WebSocket of ``venue`` (or those from ``ip``); returns how many."""
        return self._in_loop(self.streams[venue].drop_connections, ip)

    def go_silent(self, venue: str, seconds: float) -> None:
        """Keep ``venue``'s sockets open but send and read nothing, pings and pongs included."""
        self._in_loop(self.streams[venue].go_silent, seconds)

    def quiet_topic(self, venue: str, key: str, seconds: float) -> None:
        """Let ``venue``'s topic ``key`` (e.g. ``btcusdt@kline_1m``) send nothing for ``seconds``,
        as a quiet market's topic does, while the connection and its other topics stay busy."""
        self._in_loop(self.streams[venue].quiet_topic, key, seconds)

    def skip_sequence(self, venue: str, native_symbol: str) -> int:
        """Withhold the next book delta of ``native_symbol`` on every book stream; returns how many."""
        return self._in_loop(self.streams[venue].skip_sequence, native_symbol)

    def corrupt_checksum(self, venue: str, native_symbol: str) -> int:
        """Send the next Bitget ``books`` checksum of ``native_symbol`` wrong; returns how many streams."""
        return self._in_loop(self.streams[venue].corrupt_checksum, native_symbol)

    def send_malformed(self, venue: str, n: int = 1) -> None:
        """Send ``n`` non-JSON or wrongly shaped frames to every client of ``venue``."""
        self._in_loop(self.streams[venue].send_malformed, n)

    def reject_next_connect(self, venue: str, status: int = 503, count: int = 1) -> None:
        """Refuse the next ``count`` WebSocket handshakes of ``venue`` with HTTP ``status``."""
        self._in_loop(self.streams[venue].reject_next_connect, status, count)

    def firehose(
        self, venue: str, stream: str, rate: float | None = None, total: int | None = None,
        *, futures: bool = False,
    ) -> None:
        """Throughput mode: serve Binance ``stream`` (``btcusdt@trade``) as fast as each client reads.

        ``rate`` caps it in messages per second; ``total`` ends it after that many
        messages. Applies to subscriptions made after the call.
        """
        server = self.streams[venue]
        if not isinstance(server, BinanceStreams):
            raise ValueError(f"firehose serves Binance trade streams; {venue!r} has none")
        self._in_loop(server.firehose, stream, rate, total, futures=futures)

    def _in_loop(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in the server's loop: directly in it, or handed over from another thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or threading.current_thread() is thread:
            return fn(*args, **kwargs)
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn(*args, **kwargs))
            except BaseException as err:
                done.set_exception(err)

        loop.call_soon_threadsafe(run)
        return done.result(timeout=10)

    # -- lifecycle ---------------------------------------------------------
    async def start_serving(self) -> None:
        """Open one listening socket per venue in the running loop."""
        for name, venue in self.venues.items():
            server = await asyncio.start_server(self._handler(venue), self.host, 0)
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]
        for streams in self.streams.values():
            await streams.start(self.host)

    async def stop_serving(self) -> None:
        for streams in self.streams.values():
            await streams.stop()
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
                url = urlsplit(target)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                travel = venue.faults.request_delay()
                if travel > 0:
                    await asyncio.sleep(travel)
                answer = venue.handle(method, url.path, query, ip)
                if answer.hang:
                    await reader.read()  # hold the request until the client gives up
                    break
                if answer.delay > 0:
                    await asyncio.sleep(answer.delay)
                if answer.dropped:
                    break  # closed with no answer: the client sees the peer disconnect
                keep = version.strip() == "HTTP/1.1" and headers.get("connection") != "close"
                encoded = self._encode(answer, keep)
                if answer.reset_after is not None:  # the headers and part of the body, then closed
                    writer.write(encoded[:len(encoded) - len(answer.body) + answer.reset_after])
                    await writer.drain()
                    break
                writer.write(encoded)
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
