"""Egresses (a proxy, or ``direct``) and the pools that choose among them.

An :class:`Egress` is one way out: its own HTTP client, its own rate-limit
windows (venues count per client IP, and each proxy is its own IP), its
concurrency cap, counters and health. A :class:`ProxyPool` picks, for one
request, among its egresses that are in service and not blocked by the venue:

- ``least_loaded`` (the default): one not at its concurrency cap, whose
  rate-limit window frees soonest for this request, then the fewest in flight;
- ``round_robin``: the next one in turn;
- ``weighted``: smooth weighted round robin by each proxy's ``weight``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..errors import ConfigError
from ..ratelimit import Limit, SlidingWindow
from ..sending import RESENT
from ._health import Health
from ._stats import ProxyCounters

if TYPE_CHECKING:
    from ..clock import Clock
    from ..turns import Turn
    from ..windows import RateLimits

__all__ = ["DIRECT", "STRATEGIES", "Egress", "Proxy", "ProxyPool", "Strategy"]

DIRECT = "direct"
Strategy = Literal["least_loaded", "round_robin", "weighted"]
STRATEGIES: tuple[str, ...] = ("least_loaded", "round_robin", "weighted")
_SCHEMES = ("http", "https", "socks5", "socks5h")


@dataclass(frozen=True)
class Proxy:
    """One proxy of a pool: its URL (``http://host:port``, ``socks5://user:pw@host:port``,
    or ``"direct"`` for this machine's own address), its weight for ``weighted``
    pools, and a display name (the URL without credentials, unless given)."""

    url: str
    weight: int = 1
    name: str = ""

    @classmethod
    def parse(cls, entry: object, where: str) -> Proxy:
        """A pool entry (a URL string, a ``Proxy``, or ``{"url": ..., "weight": ...}``), checked."""
        if isinstance(entry, Proxy):
            proxy = entry
        elif isinstance(entry, str):
            proxy = cls(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("url"), str):
            unknown = set(entry) - {"url", "weight", "name"}
            if unknown:
                raise ConfigError(f"{where}: unknown proxy setting(s) {sorted(unknown)}; "
                                  "use url, weight, name")
            proxy = cls(entry["url"], int(entry.get("weight", 1)), str(entry.get("name", "")))
        else:
            raise ConfigError(f"{where}: a proxy is a URL string like 'http://host:3128' or 'direct', "
                              f"not {entry!r}")
        proxy.check(where)
        return proxy if proxy.name else cls(proxy.url, proxy.weight, _display(proxy.url))

    def check(self, where: str) -> None:
        if self.weight <= 0:
            raise ConfigError(f"{where}: proxy {self.url!r} needs a positive weight, not {self.weight}")
        if self.url == DIRECT:
            return
        parts = urlsplit(self.url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in _SCHEMES or not parts.hostname or port == -1 or parts.path not in ("", "/"):
            raise ConfigError(
                f"{where}: {self.url!r} is not a proxy URL; expected one of "
                f"{', '.join(s + '://host:port' for s in _SCHEMES)}, or 'direct'"
            )

    @property
    def is_direct(self) -> bool:
        return self.url == DIRECT


def _display(url: str) -> str:
    if url == DIRECT:
        return DIRECT
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, "", "", ""))


@dataclass(eq=False)
class Egress:
    """One way out for requests: a proxy (or direct) with its client, windows, caps and health."""

    proxy: Proxy
    pool: str
    counters: ProxyCounters = field(default_factory=ProxyCounters)
    health: Health = field(default_factory=Health)
    client: httpx.AsyncClient | None = None
    limits: RateLimits | None = None
    concurrency: asyncio.Semaphore | None = None
    window: SlidingWindow | None = None  # the per-proxy request window, if one is set
    current_weight: int = 0  # for smooth weighted round robin

    @property
    def name(self) -> str:
        return self.proxy.name

    @property
    def proxy_url(self) -> str | None:
        """The proxy URL to hand to a client library, None for direct."""
        return None if self.proxy.is_direct else self.proxy.url

    @contextlib.asynccontextmanager
    async def stream(self, method: str, url: str, *, params: dict[str, Any]) -> AsyncIterator[httpx.Response]:
        """Send one request through this egress's client; the body is read from the response
        inside the context (the executor reads it under its size bound).

        A kept-alive connection that the proxy closed while idle (tinyproxy does)
        fails before any answer; such a request never reached the venue, so it is
        sent once more on a fresh connection rather than counted as a failure (the
        resend says so in its ``tradeflood.resent`` extension, which a recording keeps).
        """
        assert self.client is not None
        try:
            response = await self.client.send(self.client.build_request(method, url, params=params),
                                              stream=True)
        except httpx.RemoteProtocolError as exc:
            if "without sending a response" not in str(exc):
                raise
            again = self.client.build_request(method, url, params=params, extensions={RESENT: True})
            response = await self.client.send(again, stream=True)
        try:
            yield response
        finally:
            await response.aclose()

    def set_limit(self, limit: Limit | None, clock: Clock) -> None:
        self.concurrency = asyncio.Semaphore(limit.concurrency) if limit and limit.concurrency else None
        self.window = SlidingWindow(limit, clock, name=self.name) if limit and limit.has_window else None

    @property
    def full(self) -> bool:
        """Whether as many requests as this egress may carry at once are in flight."""
        return self.concurrency is not None and self.concurrency.locked()

    def free_in(self, turn: Turn) -> float:
        """Seconds until this egress's windows would take ``turn`` (0 when they would now)."""
        wait = self.window.free_in(1) if self.window is not None else 0.0
        if self.limits is not None:
            for window in self.limits.windows(turn):
                wait = max(wait, window.free_in(turn.weight))
        return wait

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold this egress's concurrency and request window around one request."""
        async with _held(self.window, self.concurrency):
            yield


class ProxyPool:
    """A named set of egresses and the strategy that picks one for each request."""

    def __init__(self, name: str, egresses: list[Egress], strategy: Strategy,
                 limit: Limit | None = None) -> None:
        self.name = name
        self.egresses = egresses
        self.strategy = strategy
        self.limit = limit
        self.concurrency: asyncio.Semaphore | None = None
        self.window: SlidingWindow | None = None
        self._next = 0

    def bind(self, clock: Clock) -> None:
        limit = self.limit
        self.concurrency = asyncio.Semaphore(limit.concurrency) if limit and limit.concurrency else None
        has_window = limit is not None and limit.has_window
        self.window = SlidingWindow(limit, clock, name=f"pool {self.name}") if limit and has_window else None

    def usable(self, venue: str, now: float) -> list[Egress]:
        return [e for e in self.egresses if e.health.usable_for(venue, now)]

    def pick(self, candidates: list[Egress], turn: Turn | None) -> Egress:
        """One of ``candidates`` (non-empty, all usable) by the pool's strategy."""
        if len(candidates) == 1:
            return candidates[0]
        if self.strategy == "round_robin":
            self._next += 1
            order = self.egresses
            for i in range(len(order)):
                egress = order[(self._next + i) % len(order)]
                if egress in candidates:
                    return egress
        if self.strategy == "weighted":
            total = sum(e.proxy.weight for e in candidates)
            for e in candidates:
                e.current_weight += e.proxy.weight
            best = max(candidates, key=lambda e: e.current_weight)
            best.current_weight -= total
            return best
        self._next += 1
        n = len(candidates)
        return min(
            (candidates[(self._next + i) % n] for i in range(n)),  # ties rotate
            key=lambda e: (e.full, e.free_in(turn) if turn is not None else 0.0, e.counters.in_flight,
                           e.health.slow),
        )

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold the pool's own concurrency and request window around one request."""
        async with _held(self.window, self.concurrency):
            yield


@contextlib.asynccontextmanager
async def _held(window: SlidingWindow | None, concurrency: asyncio.Semaphore | None) -> AsyncIterator[None]:
    """One request's place in a rate window and a concurrency cap, either of which may be absent."""
    lease = await window.acquire(1) if window is not None else None
    try:
        if concurrency is None:
            yield
        else:
            async with concurrency:
                yield
    finally:
        if lease is not None:
            lease.release()
