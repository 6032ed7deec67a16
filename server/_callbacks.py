"""Callbacks (webhooks): a topic's items POSTed in signed JSON batches to a client's URL.

The body is ``{"callback": id, "items": [{"data": {...}} | {"event": name, ...}]}``;
``X-TradeFlood-Signature`` is the hex HMAC-SHA256 of those exact bytes under the
callback's secret. A batch is retried with exponential backoff and jitter; after
its last attempt it is given up (counted in ``lost``) and the callback is marked
``failing`` until a delivery succeeds again. Each callback runs in its own task,
so a dead receiver only delays itself. URLs that resolve to loopback, private,
link-local, reserved or metadata addresses are refused unless the host is in
the settings' ``callback_allow_hosts``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import itertools
import logging
import random
import secrets
import socket
import time
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson

from ._errors import ApiError
from ._topics import Entry, Topic, TopicKey

if TYPE_CHECKING:
    from ._state import ServerState

__all__ = ["Callback", "Callbacks", "check_url", "sign"]

log = logging.getLogger("tradeflood.server")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_ids = itertools.count(1)


def sign(secret: str, body: bytes) -> str:
    """The signature a receiver recomputes to check a batch came from this server."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def check_url(url: str, allow_hosts: tuple[str, ...]) -> None:
    """Refuse a callback URL that is not http(s) or that reaches a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "InvalidCallbackURL", f"url={url!r}: give an http:// or https:// URL with a host")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ApiError(400, "InvalidCallbackURL", f"url={url!r}: the port is not a number") from None
    if host in allow_hosts:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ApiError(400, "InvalidCallbackURL", f"url={url!r}: {host} does not resolve ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (address in _METADATA or address.is_loopback or address.is_private or address.is_link_local
                or address.is_reserved or address.is_multicast or address.is_unspecified
                or not address.is_global):
            raise ApiError(403, "CallbackURLRefused",
                           f"url={url!r} resolves to {address}, a loopback, private, link-local or "
                           "metadata address; callbacks go to public addresses unless the server's "
                           "callback allow_hosts lists the host")


class Callback:
    """One registered webhook: a sink of its topic with its own delivery task."""

    def __init__(self, state: ServerState, url: str, key: TopicKey, spec: dict[str, Any], batch_ms: int,
                 secret: str, owner: str) -> None:
        self.id = f"cb_{next(_ids)}_{secrets.token_hex(4)}"
        self.state = state
        self.url = url
        self.key = key
        self.spec = spec
        self.batch_ms = batch_ms
        self.secret = secret
        self.owner = owner
        self.topic: Topic | None = None
        self.buffer: deque[Entry] = deque()
        self.deliveries = 0
        self.failures = 0
        self.attempts = 0
        self.items_delivered = 0
        self.lost = 0
        self.last_error: str | None = None
        self.last_delivery_ms: int | None = None
        self.state_name = "active"
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # -- sink --------------------------------------------------------------------------

    def offer(self, topic: Topic, entry: Entry) -> None:
        cap = self.state.settings.callback_max_batch * 10
        if len(self.buffer) >= cap:  # the receiver is far behind: keep the newest, count the rest
            self.buffer.popleft()
            self.lost += 1
        self.buffer.append(entry)
        self._wake.set()

    def ended(self, topic: Topic, error: BaseException) -> None:
        self.state_name = "ended"
        self.last_error = f"{type(error).__name__}: {error}"
        self._wake.set()

    # -- delivery ------------------------------------------------------------------------

    def _batch(self) -> tuple[bytes, int]:
        n = min(len(self.buffer), self.state.settings.callback_max_batch)
        entries = [self.buffer.popleft() for _ in range(n)]
        items = b",".join(b"{" + e.key + b":" + e.value + b"}" for e in entries)
        return b'{"callback":' + orjson.dumps(self.id) + b',"items":[' + items + b"]}", n

    async def run(self, client: httpx.AsyncClient) -> None:
        while self.state_name != "ended":
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.batch_ms / 1000)
            while self.buffer:
                body, n = self._batch()
                await self._deliver(client, body, n, self.state.settings.callback_max_attempts)

    async def _deliver(self, client: httpx.AsyncClient, body: bytes, n: int, attempts: int) -> bool:
        settings = self.state.settings
        headers = {"Content-Type": "application/json", "X-TradeFlood-Signature": sign(self.secret, body),
                   "User-Agent": "tradeflood-server/0.1"}
        for attempt in range(attempts):
            self.attempts += 1
            try:
                reply = await client.post(self.url, content=body, headers=headers,
                                          timeout=settings.callback_timeout)
                if reply.status_code < 300:
                    self.deliveries += 1
                    self.items_delivered += n
                    self.last_delivery_ms = int(time.time() * 1000)
                    self.state_name = "active"
                    self.state.metrics.callback_deliveries.inc()
                    return True
                self.last_error = f"HTTP {reply.status_code} from {self.url}"
            except httpx.HTTPError as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            self.failures += 1
            self.state.metrics.callback_failures.inc()
            if attempt + 1 < attempts:
                delay = settings.callback_backoff * 2 ** attempt
                await asyncio.sleep(delay * (0.5 + random.random()))
        self.lost += n
        self.state_name = "failing"
        log.warning("callback %s failing: %s", self.id, self.last_error)
        return False

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "subscription": self.spec, "batch_ms": self.batch_ms,
                "state": self.state_name, "deliveries": self.deliveries, "failures": self.failures,
                "attempts": self.attempts, "items_delivered": self.items_delivered, "lost": self.lost,
                "pending": len(self.buffer), "last_error": self.last_error,
                "last_delivery_ms": self.last_delivery_ms}


class Callbacks:
    """Every callback of the server, sharing one HTTP client."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.all: dict[str, Callback] = {}
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._client

    async def add(self, callback: Callback) -> Callback:
        callback.topic = await self.state.topics.join(callback.key, callback)
        self.all[callback.id] = callback
        callback.task = asyncio.ensure_future(callback.run(self.client()))
        return callback

    async def remove(self, callback_id: str) -> Callback:
        callback = self.all.pop(callback_id, None)
        if callback is None:
            raise ApiError(404, "UnknownCallback", f"no callback {callback_id!r}")
        await self._stop(callback)
        return callback

    async def _stop(self, callback: Callback) -> None:
        if callback.topic is not None:
            self.state.topics.leave(callback.topic, callback)
        self.state.leave_key(callback.owner, 1)
        if callback.task is not None:
            callback.task.cancel()
            await asyncio.gather(callback.task, return_exceptions=True)

    async def flush(self) -> None:
        """Deliver what every callback holds, one attempt each (shutdown)."""
        client = self.client()
        jobs = []
        for callback in self.all.values():
            if callback.task is not None:
                callback.task.cancel()
            while callback.buffer:
                body, n = callback._batch()
                jobs.append(callback._deliver(client, body, n, 1))
        await asyncio.gather(*jobs, return_exceptions=True)

    async def aclose(self) -> None:
        for callback in list(self.all.values()):
            await self._stop(callback)
        self.all.clear()
        if self._client is not None:
            await self._client.aclose()
