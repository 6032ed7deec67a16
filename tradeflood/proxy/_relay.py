"""Proxyter's relaying: one CONNECT tunnel or one plain-HTTP request carried through the
upstream the scheme picks, bodies streamed both ways.

An upstream that cannot be reached is quarantined and the next one tried before anything
is sent back (only while the request's body has not been sent). What the client learns of
a failure is one fixed sentence per destination: whether the port refused, timed out or
the host does not resolve stays in the log, so Proxyter cannot be used to scan ports.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from ..clock import Clock
from ..errors import NoProxyAvailableError
from ._access import Caps
from ._diagnosis import reply_kind
from ._health import proxy_address
from ._http import PIECE, BadReply, Framing, Head, HttpError, read_head, relay_body, reply_framing, reset
from ._pool import Egress, ProxyPool
from ._scheme import ProxyScheme

__all__ = ["Relay", "Unreachable"]

log = logging.getLogger("tradeflood.proxy.proxyter")
T = TypeVar("T")
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "proxy-connection", "te",
       "trailer", "upgrade"}


class Unreachable(Exception):
    """No upstream could carry a request; ``detail`` is for the log, never for the client."""

    def __init__(self, kind: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.status = kind, detail, status


class Relay:
    """Carries requests out through ``scheme``'s egresses, within ``caps``' idle times."""

    def __init__(self, scheme: ProxyScheme, clock: Clock, caps: Caps, connect_timeout: float) -> None:
        self.scheme, self.clock, self.caps, self.connect_timeout = scheme, clock, caps, connect_timeout

    async def tunnel(self, host: str, port: int, addresses: Sequence[str], request_type: str,
                     reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """``CONNECT host:port``: answer 200 once the upstream tunnel is open, then pipe bytes.
        ``addresses`` are ``host``'s, checked against the allow-list: a direct egress connects to
        them; an upstream proxy is given the name and resolves it in its own network."""
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        pool = self.scheme.pool_for(request_type)

        async def open_(egress: Egress) -> Streams:
            up_reader, up_writer = await self._connect(egress, addresses, port)
            if egress.proxy.is_direct:
                return up_reader, up_writer
            up_writer.write(f"CONNECT {target} HTTP/1.1\r\nhost: {target}\r\n{upstream_auth(egress)}\r\n"
                            .encode("latin-1"))
            try:
                await up_writer.drain()
                async with asyncio.timeout(self.connect_timeout):
                    head = await read_head(up_reader, max_bytes=self.caps.header_bytes, max_fields=100,
                                           reply=True)
                status = int(head.start[1]) if head is not None else 502
            except (BadReply, TimeoutError, ConnectionError) as exc:
                up_writer.close()
                raise Unreachable("connect", f"upstream CONNECT: {exc!r}") from None
            if status != 200:
                up_writer.close()
                kind = "auth" if status in (401, 407) else ("venue" if status >= 500 else "connect")
                raise Unreachable(kind, f"upstream CONNECT answered HTTP {status}", status)
            return up_reader, up_writer

        async with self._held(pool) as held:
            egress, (up_reader, up_writer), started = await self._upstream(pool, host, open_, held)
            now = self.clock.monotonic()
            self.scheme.diagnosis.success(egress, host, now - started, now)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await self._pipe_both(reader, writer, up_reader, up_writer)

    async def forward(self, head: Head, host: str, port: int, addresses: Sequence[str], request_type: str,
                      framing: Framing, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Forward one absolute-form request and stream its reply back; True if the client's
        connection may carry another request. ``addresses`` as for :meth:`tunnel`."""
        method, target, version = head.start
        url = urlsplit(target)
        named = {n.strip().lower() for v in head.values("connection") for n in v.split(",")}
        expect = (head.get("expect") or "").lower()
        if expect and expect != "100-continue":
            raise HttpError(417, f"expect: {expect[:40]!r} is not supported (only 100-continue)")
        # Proxyter answers "100 Continue" itself once the upstream is open, so the body is not
        # held up between a client waiting for the 100 and an upstream waiting for the body
        kept = [(k, v) for k, v in head.fields if k not in HOP and k not in named and k != "expect"]
        if not any(k == "host" for k, _ in kept):
            kept.insert(0, ("host", url.netloc))
        pool = self.scheme.pool_for(request_type)
        has_body = framing.kind != "none"

        async def open_(egress: Egress) -> tuple[Streams, Head | None]:
            up_reader, up_writer = await self._connect(egress, addresses, port)
            line = target if not egress.proxy.is_direct else (url.path or "/") + (f"?{url.query}" if url.query
                                                                                  else "")
            lines = [f"{method} {line} HTTP/1.1", *(f"{k}: {v}" for k, v in kept), "connection: close"]
            up_writer.write(("\r\n".join(lines) + "\r\n" + upstream_auth(egress) + "\r\n").encode("latin-1"))
            if has_body:  # sent once, so not retried through another upstream
                return (up_reader, up_writer), None
            try:
                return (up_reader, up_writer), await self._reply_head(up_reader, writer, method)
            except (ConnectionError, TimeoutError) as exc:
                up_writer.close()
                raise Unreachable("dropped", repr(exc)) from None
            except BadReply as exc:
                up_writer.close()
                raise Unreachable("venue", str(exc)) from None

        async with self._held(pool) as held:
            egress, ((up_reader, up_writer), reply), started = await self._upstream(pool, host, open_, held)
            try:
                if reply is None:
                    if expect and version == "HTTP/1.1":
                        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                        await writer.drain()
                    reply = await self._send_body(reader, up_reader, up_writer, writer, framing, method)
                status = int(reply.start[1])
                now = self.clock.monotonic()
                kind = reply_kind(status, egress.proxy.is_direct)
                if kind is None:
                    self.scheme.diagnosis.success(egress, host, now - started, now)
                else:
                    self.scheme.diagnosis.failure(egress, host, kind, f"HTTP {status}", now, status=status,
                                                  peers=pool.egresses)
                keep = version == "HTTP/1.1" and "close" not in named
                return await self._relay_reply(reply, method, keep, up_reader, writer)
            finally:
                up_writer.close()

    async def _send_body(self, reader: asyncio.StreamReader, up_reader: asyncio.StreamReader,
                         up_writer: asyncio.StreamWriter, writer: asyncio.StreamWriter, framing: Framing,
                         method: str) -> Head:
        try:
            await relay_body(reader, up_writer, framing, self.caps.idle)
        except BaseException as exc:
            # The upstream has part of a body: reset its connection rather than close it, so it
            # is left with an incomplete message and nothing more (see _http's docstring).
            reset(up_writer)
            if isinstance(exc, BadReply):  # here the client's body is at fault
                raise HttpError(400, str(exc).replace("upstream reply: ", "")) from None
            if isinstance(exc, TimeoutError):
                raise HttpError(408, f"the request body stalled for {self.caps.idle:g} s") from None
            if isinstance(exc, ConnectionError) and not writer.is_closing():
                raise Unreachable("dropped", repr(exc)) from None
            raise
        try:
            return await self._reply_head(up_reader, writer, method)
        except (ConnectionError, TimeoutError, BadReply) as exc:
            raise Unreachable("venue", repr(exc)) from None

    async def _reply_head(self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          method: str) -> Head:
        """The upstream's final reply head, passing interim (1xx) replies on to the client."""
        for _ in range(8):
            async with asyncio.timeout(self.caps.idle):
                head = await read_head(up_reader, max_bytes=max(self.caps.header_bytes, PIECE),
                                       max_fields=200, reply=True)
            if head is None:
                raise BadReply("the upstream closed without a reply")
            status = int(head.start[1])
            if status >= 200:
                return head
            if status == 101:
                raise BadReply("the upstream switched protocols (use CONNECT for WebSockets)")
            writer.write(_head_bytes(head, []))
            await writer.drain()
        raise BadReply("too many interim replies")

    async def _relay_reply(self, reply: Head, method: str, keep: bool, up_reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> bool:
        try:
            framing = reply_framing(reply, method)
        except BadReply as exc:
            raise Unreachable("venue", str(exc)) from None
        keep = keep and framing.kind != "close"
        writer.write(_head_bytes(reply, [("connection", "keep-alive" if keep else "close")]))
        await writer.drain()
        try:
            await relay_body(up_reader, writer, framing, self.caps.idle)
        except (BadReply, TimeoutError, ConnectionError) as exc:
            # The head is out: the only honest way to say the body is broken is to cut it. A
            # body ended by the close would look whole after a plain close: that one gets a reset.
            # (Not the others: a reset can make a client drop what it has received but not read.)
            gone = writer.is_closing() or writer.transport.is_closing()
            if framing.kind == "close":
                reset(writer)
            else:
                writer.transport.abort()
            if not gone:  # the client leaving is not the upstream's fault: nothing to log
                log.warning("proxyter: the reply (HTTP %s) was cut: %s", reply.start[1],
                            exc if str(exc) else type(exc).__name__)
            return False
        return keep

    async def _upstream(self, pool: ProxyPool, venue: str, open_: Callable[[Egress], Awaitable[T]],
                        held: contextlib.AsyncExitStack) -> tuple[Egress, T, float]:
        """Run ``open_(egress)`` through the pool's egresses until one works, holding that
        egress's own limits (``per_proxy``: concurrency and rate) in ``held`` for the request."""
        tried: set[str] = set()
        last: Unreachable | None = None
        for _ in range(len(pool.egresses)):
            try:
                egress = self.scheme.pick(pool, venue, "proxyter")
            except NoProxyAvailableError as exc:
                raise Unreachable("connect", str(exc)) from None
            if egress.name in tried:
                break
            tried.add(egress.name)
            attempt = contextlib.AsyncExitStack()
            await attempt.enter_async_context(egress.slot())
            started = self.clock.monotonic()
            try:
                opened = await open_(egress)
            except Unreachable as exc:
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
                egress.counters.in_flight += 1
                egress.counters.requests += 1
                held.callback(_done, egress)
                return egress, opened, started
        raise last or Unreachable("connect", "no upstream could be tried")

    async def _connect(self, egress: Egress, addresses: Sequence[str], port: int) -> Streams:
        """Open the connection to the egress's proxy, or (direct) to the first of the destination's
        checked ``addresses`` that answers: by address, so the name is not looked up again."""
        direct = egress.proxy.is_direct
        targets = [(a, port) for a in addresses] if direct else [proxy_address(egress.proxy.url)]
        failure: BaseException | None = None
        try:
            async with asyncio.timeout(self.connect_timeout):
                for target in targets:
                    try:
                        return await asyncio.open_connection(*target)
                    except (OSError, UnicodeError) as exc:
                        failure = exc
        except TimeoutError as exc:
            failure = exc
        raise Unreachable("venue" if direct else "connect", repr(failure)) from None

    @contextlib.asynccontextmanager
    async def _held(self, pool: ProxyPool) -> AsyncIterator[contextlib.AsyncExitStack]:
        """Hold the pool's limits for one request (and, through the exit stack, the limits of
        the egress that carries it, and its count in flight)."""
        async with pool.slot(), contextlib.AsyncExitStack() as held:
            yield held

    async def _pipe_both(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        """Pipe both ways until either side closes or nothing moves for ``tunnel_idle`` seconds."""
        loop = asyncio.get_running_loop()
        moved = [loop.time()]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while piece := await src.read(PIECE):
                    moved[0] = loop.time()
                    dst.write(piece)
                    await dst.drain()

        tasks = [asyncio.ensure_future(pipe(reader, up_writer)),
                 asyncio.ensure_future(pipe(up_reader, writer))]
        try:
            while True:
                left = moved[0] + self.caps.tunnel_idle - loop.time()
                done, _ = await asyncio.wait(tasks, timeout=max(left, 0.0),
                                             return_when=asyncio.FIRST_COMPLETED)
                if done or loop.time() - moved[0] >= self.caps.tunnel_idle:
                    break
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            up_writer.close()


def _done(egress: Egress) -> None:
    egress.counters.in_flight -= 1


def _head_bytes(head: Head, extra: list[tuple[str, str]]) -> bytes:
    named = {n.strip().lower() for v in head.values("connection") for n in v.split(",")}
    fields = [(k, v) for k, v in head.fields if k not in HOP and k not in named]
    status = f"HTTP/1.1 {head.start[1]} {head.start[2]}".rstrip()
    lines = [status, *(f"{k}: {v}" for k, v in [*fields, *extra])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def upstream_auth(egress: Egress) -> str:
    """The ``proxy-authorization`` line for an upstream proxy with credentials in its URL."""
    parts = urlsplit(egress.proxy.url)
    if parts.username is None:
        return ""
    token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode()
    return f"proxy-authorization: Basic {token}\r\n"
