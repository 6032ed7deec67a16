"""Proxyter: a proxy scheme as a standalone HTTP forward proxy.

Clients use it as their HTTP(S) proxy and name the request type in the
Proxy-Authorization user name (``http://candles:SECRET@127.0.0.1:8899``); Proxyter
picks the upstream proxy (or ``direct``) by the same pools, route, strategy,
health and diagnosis as a library session, and:

- tunnels ``CONNECT host:port`` (HTTPS, WebSocket) through the upstream's own CONNECT;
- forwards plain-HTTP requests in absolute form (``GET http://host/path``), bodies
  streamed both ways (chunked too), never held whole;
- answers ``GET /health`` and ``GET /stats`` (JSON) when addressed directly. When the
  configuration has users or tokens, ``/stats`` needs them (401) and ``/health`` answers an
  unauthenticated client its status code (200, or 503 when a pool has no proxy in service)
  and ``{"status": "ok" | "degraded" | "down"}`` only, so a load balancer can probe it
  without credentials but learns nothing of the proxies, their states or the venues down;
  with credentials (``Authorization`` or ``Proxy-Authorization``) it gets the details.

It is not an open proxy: clients authenticate when the configuration has users or
tokens (407 otherwise; required to listen beyond loopback), and reach only allowed
destinations, by default the venues' hosts (403 otherwise) (:mod:`._access`). Bad
requests get 400/431/501 and bad upstream replies 502, each with one log line
(:mod:`._http`); connections are capped in all and per client, idle ones closed, and
at the cap the longest-idle connection makes way for a new one, so idle clients
cannot take Proxyter down. Run it with ``tradeflood proxyter --config proxies.toml`` or::

    async with Proxyter(scheme, port=8899, auth=ClientAuth(users={"candles": "s3cret-pass"})):
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from ..clock import Clock, LiveClock
from ..errors import ConfigError
from ._access import Caps, ClientAuth, Destinations, NotAllowedAddress, Resolver, is_loopback, resolve
from ._http import Head, HttpError, linger, parse_authority, read_head, request_framing
from ._relay import Relay, Unreachable
from ._scheme import ProxyScheme

if TYPE_CHECKING:
    from ._config import ProxyterConfig

__all__ = ["Proxyter"]

log = logging.getLogger("tradeflood.proxy.proxyter")
_REFUSING = 32  # connections beyond the caps read (briefly) to be answered, not just dropped
# asyncio accepts up to ``backlog`` connections in one go before any is handled: the open-file
# budget keeps room for them, for those being refused, and for the process's own files
_BACKLOG = 128
_RESERVED_FILES = _BACKLOG + _REFUSING + 64
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            407: "Proxy Authentication Required", 408: "Request Timeout", 429: "Too Many Requests",
            417: "Expectation Failed", 431: "Request Header Fields Too Large", 501: "Not Implemented",
            502: "Bad Gateway", 503: "Service Unavailable"}


class _Client:
    """One accepted connection, as the caps count it."""

    __slots__ = ("counted", "peer", "writer")

    def __init__(self, peer: str, writer: asyncio.StreamWriter) -> None:
        self.peer, self.writer, self.counted = peer, writer, False


class Proxyter:
    """A forward proxy on ``host:port`` that sends each request out through ``scheme``.

    ``auth``: the clients' credentials (none: anyone, on loopback only); ``allow``: the
    destinations (default: the venues' configured hosts); ``caps``: connection and head bounds;
    ``resolver``: host name to addresses (the system's by default; tests swap it).
    """

    def __init__(self, scheme: ProxyScheme, host: str = "127.0.0.1", port: int = 8899, *,
                 auth: ClientAuth | None = None, allow: Destinations | None = None, caps: Caps | None = None,
                 clock: Clock | None = None, connect_timeout: float = 5.0,
                 resolver: Resolver = resolve) -> None:
        self.scheme = scheme
        self.host, self.port = host, port
        self.auth = auth or ClientAuth()
        self.allow = allow
        self.caps = caps or Caps()
        self.clock = clock or LiveClock()
        self.resolver = resolver
        self.connections = self.caps.connections  # may be lowered to fit the open-file limit
        self._relay = Relay(scheme, self.clock, self.caps, connect_timeout)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._clients: set[_Client] = set()
        self._per_peer: Counter[str] = Counter()
        self._idle: dict[_Client, None] = {}  # waiting for a request head, longest-waiting first
        self._refusing = 0

    @classmethod
    def from_config(cls, config: ProxyterConfig, listen: tuple[str, int] | None = None) -> Proxyter:
        host, port = listen or (config.host, config.port)
        return cls(config.scheme, host, port, auth=config.auth, allow=config.allow, caps=config.caps)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        if not is_loopback(self.host) and not self.auth.required:
            raise ConfigError(f"Proxyter will not listen on {self.host}:{self.port}, beyond loopback, "
                              "without client authentication: add [auth] users or tokens, "
                              "or listen on 127.0.0.1")
        if self.allow is None:
            self.allow = Destinations.parse()
        self.connections, note = self.caps.fitted_to_file_limit(_RESERVED_FILES)
        if note:
            log.warning("proxyter: %s", note)
        self.scheme.bind(self.clock)
        await self.scheme.start()
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  limit=max(65536, self.caps.header_bytes), backlog=_BACKLOG)
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

    @property
    def open_connections(self) -> int:
        """Client connections counted against the caps now."""
        return len(self._clients)

    # -- admission -------------------------------------------------------------------------

    def _admit(self, client: _Client) -> tuple[int, str] | None:
        """Count a new connection in, or say why not. At the cap, the connection that has waited
        longest for a request makes way; only when every connection is busy is the new one refused."""
        if self._per_peer[client.peer] >= self.caps.per_client:
            return 429, f"too many connections from {client.peer} (at most {self.caps.per_client})"
        if len(self._clients) >= self.connections:
            victim = next(iter(self._idle), None)
            if victim is None:
                return 503, f"Proxyter is at its cap of {self.connections} busy connections"
            self._release(victim)
            victim.writer.transport.abort()
            log.debug("proxyter: closed an idle connection from %s to make way", victim.peer)
        client.counted = True
        self._clients.add(client)
        self._per_peer[client.peer] += 1
        return None

    def _release(self, client: _Client) -> None:
        self._idle.pop(client, None)
        if client.counted:
            client.counted = False
            self._clients.discard(client)
            self._per_peer[client.peer] -= 1
            if not self._per_peer[client.peer]:
                del self._per_peer[client.peer]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        client = _Client(str(peer[0]) if peer else "?", writer)
        try:
            refusal = self._admit(client)
            if refusal is None:
                await self._session(client, reader, writer)
            elif self._refusing < _REFUSING:
                self._refusing += 1
                try:
                    await self._refuse(reader, writer, *refusal)
                finally:
                    self._refusing -= 1
            else:
                writer.transport.abort()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or stayed silent: nothing to answer
        except asyncio.CancelledError:
            pass  # stop(): end quietly (a handler task that ends cancelled is logged by asyncio)
        except Exception as exc:  # a bug must not take the server down nor flood the log
            log.error("proxyter: %s: unexpected %r", client.peer, exc)
        finally:
            self._release(client)
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int,
                      reason: str) -> None:
        """Answer a connection beyond a cap: /health still, anything else ``status``."""
        with contextlib.suppress(HttpError, TimeoutError):
            async with asyncio.timeout(min(2.0, self.caps.idle)):
                head = await read_head(reader, max_bytes=self.caps.header_bytes,
                                       max_fields=self.caps.header_fields)
            if head is not None and head.start[:2] == ("GET", "/health"):
                await self._local(head, writer)
                return
        log.warning("proxyter: %s: %d %s", writer.get_extra_info("peername", ("?",))[0], status, reason)
        await respond(writer, status, {"error": reason}, close=True)

    # -- one client connection -------------------------------------------------------------

    async def _session(self, client: _Client, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        while True:
            self._idle[client] = None
            try:
                async with asyncio.timeout(self.caps.idle):
                    head = await read_head(reader, max_bytes=self.caps.header_bytes,
                                           max_fields=self.caps.header_fields)
            except HttpError as exc:
                await self._answer_error(client, reader, exc, "")
                return
            finally:
                self._idle.pop(client, None)
            if head is None:
                return
            try:
                if not await self._handle(client, head, reader, writer):
                    return
            except HttpError as exc:
                await self._answer_error(client, reader, exc, f"{head.start[0]} {head.start[1][:100]}")
                return

    async def _answer_error(self, client: _Client, reader: asyncio.StreamReader, exc: HttpError,
                            what: str) -> None:
        log.warning("proxyter: %s: %s%d %s", client.peer, f"{what}: " if what else "", exc.status, exc.reason)
        extra = [("proxy-authenticate", 'Basic realm="proxyter"')] if exc.status == 407 else []
        if exc.status == 401:
            extra = [("www-authenticate", 'Basic realm="proxyter"')]
        await respond(client.writer, exc.status, {"error": exc.reason}, close=True, extra=extra)
        await linger(reader, client.writer, min(2.0, self.caps.idle))

    async def _handle(self, client: _Client, head: Head, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> bool:
        """Answer one request; True if the connection may carry another."""
        method, target, _ = head.start
        if target.startswith("/"):
            return await self._local(head, writer)
        if method == "CONNECT":
            host, port = parse_authority(target)
        elif target[:7].lower() == "http://":
            authority = target[7:].split("/", 1)[0].split("?", 1)[0]
            if "@" in authority:
                raise HttpError(400, "credentials in the request URL are not forwarded")
            host, port = parse_authority(authority, 80)
        else:
            raise HttpError(400, "Proxyter takes CONNECT host:port, an absolute http:// URL, "
                                 "or /health and /stats")
        framing = request_framing(head)
        request_type = self.auth.request_type(head.get("proxy-authorization"))
        if request_type is None:
            raise HttpError(407, "proxy authentication required")
        assert self.allow is not None
        if not self.allow.allows(host, port):
            raise HttpError(403, f"{host}:{port} is not an allowed destination")
        try:
            # Resolved once, here: the relay connects to these checked addresses, not to the name.
            try:
                addresses = await self.allow.addresses(host, port, self.resolver)
            except NotAllowedAddress as exc:
                log.warning("proxyter: %s: %s %s:%d: 403 (%s)", client.peer, method, host, port, exc)
                await respond(writer, 403, {"error": f"{host}:{port} is not an allowed destination"},
                              close=True)
                return False
            except OSError as exc:
                raise Unreachable("venue", f"{host} does not resolve: {exc!r}") from None
            if method == "CONNECT":
                await self._relay.tunnel(host, port, addresses, request_type, reader, writer)
                return False
            return await self._relay.forward(head, host, port, addresses, request_type, framing, reader,
                                             writer)
        except Unreachable as exc:
            log.warning("proxyter: %s: %s %s:%d: 502 (%s: %s)", client.peer, method, host, port, exc.kind,
                        exc.detail)
            await respond(writer, 502, {"error": f"Proxyter could not reach {host}:{port}"}, close=True)
            return False

    async def _local(self, head: Head, writer: asyncio.StreamWriter) -> bool:
        method, target, _ = head.start
        path = target.split("?", 1)[0]
        given = head.get("authorization") or head.get("proxy-authorization")
        if method == "GET" and path == "/health":
            health = self.scheme.health()
            status = 503 if health["status"] == "down" else 200
            if self.auth.request_type(given) is None:
                # Unauthenticated (only possible when auth is configured): the verdict a load
                # balancer needs, not which proxies exist, their state, or which venues are down.
                health = {"status": health["status"]}
            await respond(writer, status, health)
        elif method == "GET" and path == "/stats":
            if self.auth.request_type(given) is None:
                raise HttpError(401, "/stats needs a user or token of this Proxyter")
            body: dict[str, Any] = {"proxies": [s.as_dict() for s in self.scheme.stats()],
                                    "events": [str(e) for e in list(self.scheme.events)[-50:]],
                                    "connections": self.open_connections}
            await respond(writer, 200, body)
        else:
            await respond(writer, 404, {"error": f"Proxyter serves /stats and /health, not {method} {path}"})
        return True


async def respond(writer: asyncio.StreamWriter, status: int, body: dict[str, Any], *, close: bool = False,
                  extra: list[tuple[str, str]] | None = None) -> None:
    """Write a JSON answer of Proxyter's own."""
    data = json.dumps(body, indent=1).encode()
    fields = [("content-type", "application/json"), ("content-length", str(len(data))), *(extra or [])]
    if close:
        fields.append(("connection", "close"))
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}", *(f"{k}: {v}" for k, v in fields)]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
    await writer.drain()
