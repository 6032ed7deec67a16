"""Proxyter: a proxy scheme as a standalone HTTP forward proxy.

Clients use it as their HTTP(S) proxy and name the request type in the
Proxy-Authorization user name (``http://candles:x@127.0.0.1:8899``); Proxyter
picks the upstream proxy (or ``direct``) by the same pools, route, strategy,
health and diagnosis as a library session, and:

- tunnels ``CONNECT host:port`` (HTTPS, WebSocket) through the upstream's own CONNECT;
- forwards plain-HTTP requests in absolute form (``GET http://host/path``);
- answers ``GET /stats`` and ``GET /health`` (JSON) when addressed directly.

An upstream that cannot be reached is quarantined and the request tries
another before anything is sent back, so clients do not see a dead proxy.
Upstreams are ``http://`` proxies or ``direct``. Run it with
``tradeflood proxyter --config proxies.toml`` or::

    async with Proxyter(scheme, port=8899) as proxyter:
        ...
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any
from urllib.parse import unquote, urlsplit

from ..clock import Clock, LiveClock
from ..errors import NoProxyAvailableError
from ._diagnosis import reply_kind
from ._health import proxy_address
from ._pool import Egress, ProxyPool
from ._scheme import ProxyScheme

__all__ = ["Proxyter"]

_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "upgrade"}
_MAX_HEADERS = 100


class _UpstreamFailed(Exception):
    def __init__(self, kind: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.status = kind, detail, status


class Proxyter:
    """A forward proxy on ``host:port`` that sends each request out through ``scheme``."""

    def __init__(self, scheme: ProxyScheme, host: str = "127.0.0.1", port: int = 8899, *,
                 clock: Clock | None = None, connect_timeout: float = 5.0) -> None:
        self.scheme = scheme
        self.host, self.port = host, port
        self.clock = clock or LiveClock()
        self.connect_timeout = connect_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self.scheme.bind(self.clock)
        await self.scheme.start()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await self._server.wait_closed()
            self._server = None
        await self.scheme.aclose()

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def __aenter__(self) -> Proxyter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- one client connection -----------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    break
                method, target, headers = head
                if method == "CONNECT":
                    await self._tunnel(target, headers, reader, writer)
                    break
                if target.startswith("http://"):
                    if not await self._forward(method, target, headers, reader, writer):
                        break
                else:
                    await self._local(method, target, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # stop(): end quietly (a handler task that ends cancelled is logged by asyncio)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _local(self, method: str, target: str, writer: asyncio.StreamWriter) -> None:
        path = urlsplit(target).path
        if method == "GET" and path == "/stats":
            body: dict[str, Any] = {"proxies": [s.as_dict() for s in self.scheme.stats()],
                                    "events": [str(e) for e in list(self.scheme.events)[-50:]]}
            await _respond(writer, 200, body)
        elif method == "GET" and path == "/health":
            health = self.scheme.health()
            await _respond(writer, 503 if health["status"] == "down" else 200, health)
        else:
            await _respond(writer, 404, {"error": f"Proxyter serves /stats and /health, not {method} {path}"})

    def _pool(self, headers: dict[str, str]) -> ProxyPool:
        return self.scheme.pool_for(_request_type(headers.get("proxy-authorization", "")))

    async def _upstream(self, pool: ProxyPool, venue: str, open_: Any,
                        held: contextlib.AsyncExitStack) -> tuple[Egress, Any, float]:
        """Run ``open_(egress)`` through the pool's egresses until one works, holding that
        egress's own limits (``per_proxy``: concurrency and rate) in ``held`` for the request."""
        tried: set[str] = set()
        last: _UpstreamFailed | None = None
        for _ in range(len(pool.egresses)):
            try:
                egress = self.scheme.pick(pool, venue, "proxyter")
            except NoProxyAvailableError as exc:
                raise _UpstreamFailed("connect", str(exc)) from None
            if egress.name in tried:
                break
            tried.add(egress.name)
            attempt = contextlib.AsyncExitStack()
            await attempt.enter_async_context(egress.slot())
            started = self.clock.monotonic()
            try:
                opened = await open_(egress)
            except _UpstreamFailed as exc:
                await attempt.aclose()
                last = exc
                self.scheme.diagnosis.failure(egress, venue, exc.kind, exc.detail, self.clock.monotonic(),
                                              status=exc.status, peers=pool.egresses)
                if exc.kind not in ("connect", "auth"):
                    break
            except BaseException:
                await attempt.aclose()
                raise
            else:
                held.push_async_exit(attempt.pop_all())
                return egress, opened, started
        raise last or _UpstreamFailed("connect", "no upstream could be tried")

    async def _connect(self, egress: Egress, host: str, port: int) -> tuple[asyncio.StreamReader,
                                                                          asyncio.StreamWriter]:
        address = (host, port) if egress.proxy.is_direct else proxy_address(egress.proxy.url)
        try:
            return await asyncio.wait_for(asyncio.open_connection(*address), self.connect_timeout)
        except (TimeoutError, OSError) as exc:
            raise _UpstreamFailed("venue" if egress.proxy.is_direct else "connect", repr(exc)) from exc

    async def _tunnel(self, target: str, headers: dict[str, str], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        host, _, port_text = target.rpartition(":")
        pool = self._pool(headers)

        async def open_(egress: Egress) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            up_reader, up_writer = await self._connect(egress, host, int(port_text))
            if egress.proxy.is_direct:
                return up_reader, up_writer
            up_writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{_upstream_auth(egress)}\r\n"
                            .encode("latin-1"))
            await up_writer.drain()
            status = await _read_status(up_reader)
            if status != 200:
                up_writer.close()
                kind = "auth" if status == 407 else ("venue" if status >= 500 else "connect")
                raise _UpstreamFailed(kind, f"upstream CONNECT answered HTTP {status}", status)
            return up_reader, up_writer

        async with self._held(pool, target) as (opened, held):
            try:
                egress, (up_reader, up_writer), started = await self._upstream(pool, host, open_, held)
            except _UpstreamFailed as exc:
                await _respond(writer, 502, {"error": f"no upstream could reach {target}: {exc.detail}"})
                return
            _carry(opened, egress)
            now = self.clock.monotonic()
            self.scheme.diagnosis.success(egress, host, now - started, now)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _pipe_both(reader, writer, up_reader, up_writer)

    async def _forward(self, method: str, target: str, headers: dict[str, str], reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> bool:
        """Forward one absolute-form request; True if the client connection may be kept."""
        url = urlsplit(target)
        host, port = url.hostname or "", url.port or 80
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        pool = self._pool(headers)
        kept = {k: v for k, v in headers.items() if k not in _HOP}

        async def open_(egress: Egress) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
            up_reader, up_writer = await self._connect(egress, host, port)
            line = target if not egress.proxy.is_direct else (url.path or "/") + (f"?{url.query}" if url.query
                                                                                  else "")
            out = [f"{method} {line} HTTP/1.1"] + [f"{k}: {v}" for k, v in kept.items()]
            out.append("connection: close")
            request = ("\r\n".join(out) + "\r\n").encode("latin-1")
            if not egress.proxy.is_direct:
                request += _upstream_auth(egress).encode("latin-1")
            up_writer.write(request + b"\r\n" + body)
            await up_writer.drain()
            try:
                response_head = await up_reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                up_writer.close()
                raise _UpstreamFailed("dropped", repr(exc)) from exc
            return up_reader, up_writer, response_head

        async with self._held(pool, target) as (opened, held):
            try:
                egress, opened_up, started = await self._upstream(pool, host, open_, held)
                up_reader, up_writer, response_head = opened_up
            except _UpstreamFailed as exc:
                await _respond(writer, 502, {"error": f"no upstream could reach {host}:{port}: {exc.detail}"})
                return False
            _carry(opened, egress)
            status = int(response_head.split(b" ", 2)[1])
            now = self.clock.monotonic()
            kind = reply_kind(status, egress.proxy.is_direct)
            if kind is None:
                self.scheme.diagnosis.success(egress, host, now - started, now)
            else:
                self.scheme.diagnosis.failure(egress, host, kind, f"HTTP {status}", now, status=status,
                                              peers=pool.egresses)
            return await _relay_response(response_head, up_reader, up_writer, writer)

    @contextlib.asynccontextmanager
    async def _held(self, pool: ProxyPool, target: str) -> Any:
        """Hold the pool's limits for one request (and, through the exit stack, the limits of
        the egress that carries it), and count it in flight on that egress."""
        opened: list[Egress] = []
        async with pool.slot(), contextlib.AsyncExitStack() as held:
            try:
                yield opened, held
            finally:
                for egress in opened:
                    egress.counters.in_flight -= 1


def _carry(opened: list[Egress], egress: Egress) -> None:
    egress.counters.in_flight += 1
    egress.counters.requests += 1
    opened.append(egress)


def _request_type(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return "*"
    try:
        user = base64.b64decode(token.strip()).decode("utf-8").partition(":")[0]
    except ValueError:
        return "*"
    return user or "*"


def _upstream_auth(egress: Egress) -> str:
    parts = urlsplit(egress.proxy.url)
    if parts.username is None:
        return ""
    token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode()
    return f"proxy-authorization: Basic {token}\r\n"


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        raw = (await reader.readline()).decode("latin-1").strip()
        if not raw:
            break
        name, _, value = raw.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method.upper(), target, headers


async def _read_status(reader: asyncio.StreamReader) -> int:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1])
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
        return 502


async def _relay_response(head: bytes, up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter,
                          writer: asyncio.StreamWriter) -> bool:
    lines = head.decode("latin-1").split("\r\n")
    fields = [ln for ln in lines[1:] if ln and ln.split(":", 1)[0].strip().lower() not in _HOP]
    length = next((int(ln.split(":", 1)[1]) for ln in fields
                   if ln.split(":", 1)[0].strip().lower() == "content-length"), None)
    keep = length is not None
    out = [lines[0], *fields, f"connection: {'keep-alive' if keep else 'close'}"]
    writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
    try:
        if length is not None:
            writer.write(await up_reader.readexactly(length))
        else:
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        await writer.drain()
    finally:
        up_writer.close()
    return keep


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while chunk := await src.read(65536):
            dst.write(chunk)
            await dst.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            dst.close()


async def _pipe_both(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _respond(writer: asyncio.StreamWriter, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, indent=1).encode()
    reason = {200: "OK", 404: "Not Found", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "")
    writer.write(f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
                 f"content-length: {len(data)}\r\n\r\n".encode() + data)
    await writer.drain()
