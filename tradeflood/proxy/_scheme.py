"""ProxyScheme: which proxy carries each request, and what is known about every proxy.

::

    scheme = tradeflood.ProxyScheme(
        pools={"history": ["http://p1:3128", "http://p2:3128"], "live": ["socks5://p3:1080"],
               "*": ["direct"]},
        route={"candles": "history", "*": "live"},   # request type -> pool (see tradeflood.proxy._routing)
        per_proxy=tradeflood.Limit(concurrency=8),
        on_event=print,
    )
    with tradeflood.Session(proxies=scheme) as s:
        ...
    print(scheme.stats_table())

A request goes to the pool its type routes to (a type with no route goes to
``route["*"]``, else to the pool named ``"*"``); the pool's strategy picks an
egress in service and not blocked by the venue, before the request takes its
place in that egress's rate-limit windows (each egress is its own client IP).
Outcomes feed the diagnosis (:mod:`._diagnosis`); a background monitor probes
quarantined proxies when their backoff has passed. A scheme serves one
session (or one Proxyter) at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from ..clock import Clock, LiveClock
from ..errors import ConfigError, NoProxyAvailableError, ProxyError
from ..ratelimit import Limit
from ..windows import RateLimits
from ._diagnosis import Diagnosis, Thresholds, failure_kind, reply_kind
from ._events import ProxyEvent
from ._health import Backoff, probe
from ._pool import STRATEGIES, Egress, Proxy, ProxyPool, Strategy
from ._routing import known_request_types, stream_route, turn_route
from ._stats import ProxyStats, format_stats
from ._stream import StreamEgress

if TYPE_CHECKING:
    from ..connector import Ban
    from ..sending import TransportTap
    from ..turns import Turn

__all__ = ["ProxyScheme"]

log = logging.getLogger("tradeflood.proxy")
PoolEntries = Sequence[str | Proxy | Mapping[str, Any]]


class ProxyScheme:
    """Pools of proxies, the route from request types to pools, limits, health and diagnosis.

    ``strategy``: ``least_loaded`` (default), ``round_robin`` or ``weighted``
    (by each proxy's ``weight``: ``{"url": ..., "weight": 3}``). ``per_proxy``
    and ``per_pool`` (one :class:`~tradeflood.Limit`, or pool name -> Limit) cap
    requests in flight (``concurrency``) and/or requests per window (``count``,
    ``per``). ``on_event`` receives every :class:`ProxyEvent`. ``check_routes``
    refuses route keys no registered endpoint answers to (off for Proxyter,
    whose clients name their own types).
    """

    def __init__(
        self,
        pools: Mapping[str, PoolEntries],
        route: Mapping[str, str] | None = None,
        *,
        strategy: Strategy = "least_loaded",
        per_proxy: Limit | None = None,
        per_pool: Limit | Mapping[str, Limit] | None = None,
        on_event: Callable[[ProxyEvent], object] | None = None,
        max_failures: int = 3,
        blocked_after: int = 2,
        backoff: Backoff | None = None,
        probe_interval: float = 30.0,
        probe_timeout: float = 3.0,
        check_routes: bool = True,
        seed: int | None = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ConfigError(f"unknown proxy strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
        if not isinstance(pools, Mapping) or not pools:
            raise ConfigError("ProxyScheme(pools=...) maps pool names to lists of proxy URLs, "
                              "e.g. {'*': ['http://127.0.0.1:3128']}")
        self.route = dict(route or {})
        self._check_route(pools, check_routes)
        for name, limit in ({"*": per_proxy} | _per_pool_map(per_pool, pools)).items():
            if limit is not None and not isinstance(limit, Limit):
                raise ConfigError(f"limit for {name!r} must be a tradeflood.Limit, not {limit!r}")
        self.per_proxy = per_proxy
        self.on_event = on_event
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self.events: deque[ProxyEvent] = deque(maxlen=1000)
        self._by_url: dict[str, Egress] = {}
        self.pools: dict[str, ProxyPool] = {}
        per_pool_limits = _per_pool_map(per_pool, pools)
        for pool_name, entries in pools.items():
            if isinstance(entries, str) or not isinstance(entries, Sequence) or not entries:
                raise ConfigError(f"pool {pool_name!r} must be a non-empty list of proxy URLs, "
                                  f"not {entries!r}")
            members = []
            for i, entry in enumerate(entries):
                proxy = Proxy.parse(entry, f"pool {pool_name!r} entry {i}")
                egress = self._by_url.get(proxy.url)
                if egress is None:  # one proxy in two pools is one IP: one set of windows
                    egress = self._by_url[proxy.url] = Egress(proxy, pool_name)
                members.append(egress)
            self.pools[pool_name] = ProxyPool(pool_name, members, strategy, per_pool_limits.get(pool_name))
        self.egresses = list(self._by_url.values())
        self._rng = random.Random(seed)
        self.diagnosis = Diagnosis(
            self.egresses, Thresholds(max_failures=max_failures, blocked_after=blocked_after,
                                      backoff=backoff or Backoff()), self._emit, self._rng,
        )
        self.clock: Clock = LiveClock()
        self._clients: list[httpx.AsyncClient] = []
        self._monitor: asyncio.Task[None] | None = None
        self._started = False
        self._sticky: dict[object, Egress] = {}

    def _check_route(self, pools: Mapping[str, PoolEntries], check_routes: bool) -> None:
        for key, pool in self.route.items():
            if pool not in pools:
                raise ConfigError(f"route {key!r} -> {pool!r}: no such pool; pools: {', '.join(pools)}")
        if "*" not in self.route and "*" not in pools:
            raise ConfigError("a proxy scheme needs a '*' route or a '*' pool, so every request has a "
                              "way out (e.g. route={'*': 'default'} or pools={'*': ['direct']})")
        if check_routes:
            known = known_request_types()
            unknown = sorted(set(self.route) - known)
            if unknown:
                raise ConfigError(f"route keys {unknown} match no request type; "
                                  f"valid: {', '.join(sorted(known))}")

    # -- wiring (the executor's side) -------------------------------------------------

    def attach(self, client: httpx.AsyncClient, limits: RateLimits, clock: Clock, *,
               tap: TransportTap | None = None) -> None:
        """Give every egress its client and rate-limit windows; ``direct`` uses the session's own.
        With ``tap`` (a recording session's), each proxy's client sends through
        ``tap(its transport, its name)``, so what it carries is recorded like the rest."""
        self.bind(clock)
        for egress in self.egresses:
            if egress.proxy.is_direct:
                egress.client, egress.limits = client, limits
            else:
                transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(proxy=egress.proxy.url)
                if tap is not None:
                    transport = tap(transport, egress.name)
                egress.client = httpx.AsyncClient(
                    transport=transport, timeout=client.timeout,
                    headers=client.headers, follow_redirects=False,
                )
                self._clients.append(egress.client)
                egress.limits = RateLimits.for_egress(f"proxy:{egress.proxy.url}", clock)

    def bind(self, clock: Clock) -> None:
        """Run on ``clock``: make the per-proxy and per-pool limits (Proxyter calls only this)."""
        self.clock = clock
        for egress in self.egresses:
            egress.set_limit(self.per_proxy, clock)
        for pool in self.pools.values():
            pool.bind(clock)

    async def start(self) -> None:
        """Probe every proxy once (unreachable ones are quarantined at once) and start the monitor."""
        if self._started:
            return
        self._started = True
        await asyncio.gather(*(self._probe(e, startup=True) for e in self.egresses if not e.proxy.is_direct))
        self._monitor = asyncio.ensure_future(self._watch())

    async def aclose(self) -> None:
        """Stop the monitor and close the proxies' clients."""
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        for client in self._clients:
            await client.aclose()
        self._clients.clear()
        self._started = False

    # -- choosing ---------------------------------------------------------------------

    def pool_for(self, request_type: str) -> ProxyPool:
        """The pool a request type named as it is (by Proxyter's clients) goes to: its route,
        else the pool of that name, else the ``*`` route, else the ``*`` pool."""
        name = self.route.get(request_type)
        if name is None:
            name = request_type if request_type in self.pools else self.route.get("*", "*")
        return self.pools[name]

    def choose(self, turn: Turn) -> tuple[ProxyPool, Egress]:
        """The pool and egress that carry ``turn``; :class:`NoProxyAvailableError` if none can."""
        pool = self.pools[turn_route(turn, self.route) or "*"]
        return pool, self.pick(pool, turn.venue, turn.path, turn)

    async def choose_waiting(self, turn: Turn, budget: float) -> tuple[ProxyPool, Egress]:
        """Like :meth:`choose`, but when no proxy of the pool can carry ``turn`` right now, wait
        for the earliest that can (a venue's block or a quarantine ends, a probe brings one back)
        for up to ``budget`` seconds; :class:`NoProxyAvailableError` once none can within it."""
        pool = self.pools[turn_route(turn, self.route) or "*"]
        deadline = self.clock.monotonic() + budget
        while True:
            now = self.clock.monotonic()
            candidates = pool.usable(turn.venue, now)
            if candidates:
                return pool, pool.pick(candidates, turn)
            earliest = min(self._usable_at(e, turn.venue) for e in pool.egresses)
            if earliest > deadline:
                causes = self._causes(pool, turn.venue, now)
                raise NoProxyAvailableError(turn.venue, turn.path, pool.name, causes, waited=budget)
            # a quarantined proxy comes back only when a probe succeeds: look again now and then
            await self.clock.sleep(min(max(earliest - now, 0.01), 0.25))

    @staticmethod
    def _usable_at(egress: Egress, venue: str) -> float:
        """When ``egress`` may carry a request to ``venue`` at the earliest, as far as is known."""
        health = egress.health
        block = health.blocked.get(venue)
        until = block.until if block is not None else 0.0
        return max(until, health.retry_at) if health.down else until

    def pick(self, pool: ProxyPool, venue: str, endpoint: str, turn: Turn | None = None) -> Egress:
        now = self.clock.monotonic()
        candidates = pool.usable(venue, now)
        if not candidates:
            raise NoProxyAvailableError(venue, endpoint, pool.name, self._causes(pool, venue, now))
        return pool.pick(candidates, turn)

    def _causes(self, pool: ProxyPool, venue: str, now: float) -> dict[str, str]:
        causes = {}
        for egress in pool.egresses:
            health = egress.health
            last = health.evidence[-1] if health.evidence else "no evidence"
            if health.down:
                causes[egress.name] = f"down ({last}); next probe in {max(0.0, health.retry_at - now):.1f}s"
            else:
                causes[egress.name] = f"blocked by {venue} ({last})"
        return causes

    @contextlib.asynccontextmanager
    async def attempt(self, pool: ProxyPool, egress: Egress, venue: str,
                      endpoint: str) -> AsyncIterator[None]:
        """Hold the pool's and the egress's limits around one request, count it, and diagnose a
        transport failure; a failure of the proxy itself is raised as :class:`ProxyError`."""
        async with egress.slot(), pool.slot():  # a request waiting for its proxy holds no pool place
            egress.counters.in_flight += 1
            egress.counters.requests += 1
            try:
                yield
            except httpx.TransportError as exc:
                kind = failure_kind(exc, egress.proxy.is_direct)
                self.diagnosis.failure(egress, venue, kind, repr(exc), self.clock.monotonic(),
                                       peers=pool.egresses)
                if kind in ("connect", "auth"):
                    raise ProxyError(venue, endpoint, f"{kind} failure: {exc!r}", proxy=egress.name) from exc
                raise
            finally:
                egress.counters.in_flight -= 1

    def settle(self, pool: ProxyPool, egress: Egress, venue: str, status: int, latency: float,
               retry_after: float | None = None, detail: str = "", *, at_floor: bool = True,
               ban: Ban | None = None) -> str | None:
        """Record the HTTP answer a request through ``egress`` got; returns the kind of failure
        it shows (``auth``: the proxy refused us; ``blocked``, ``limited``, ``venue``), or None.
        ``at_floor``: the rate through ``egress`` has backed off as far as it goes, so a 429 is
        evidence of a ban (see :mod:`._diagnosis`). ``ban``: the venue's connector read a ban
        in the reply (:meth:`tradeflood.Connector.ban`): blocked at once, for its length."""
        now = self.clock.monotonic()
        kind = "blocked" if ban is not None else reply_kind(status, egress.proxy.is_direct)
        if kind is None:
            self.diagnosis.success(egress, venue, latency, now)
        else:
            if ban is not None:
                detail = f"banned: {ban.reason} {detail}".strip()
                if ban.seconds is not None:
                    retry_after = max(retry_after or 0.0, ban.seconds)
            self.diagnosis.failure(egress, venue, kind, f"HTTP {status} {detail}".strip(), now,
                                   status=status, retry_after=retry_after, peers=pool.egresses,
                                   at_floor=at_floor, banned=ban is not None)
        return kind

    def stream_egress(self, venue: str, key: object = None) -> StreamEgress:
        """A sticky way out for one live (WebSocket) connection to ``venue``; see :class:`StreamEgress`.

        The route key is ``"venue:stream"``, ``"stream"``, then ``"*"``. With ``key``,
        calls with the same key get the same proxy while it stays usable.
        """
        pool = self.pools[stream_route(venue, self.route) or "*"]
        sticky = self._sticky.get(key) if key is not None else None
        now = self.clock.monotonic()
        egress = sticky if sticky is not None and sticky.health.usable_for(venue, now) else None
        if egress is None:
            egress = self.pick(pool, venue, "stream")
        if key is not None:
            self._sticky[key] = egress
        return StreamEgress(self, pool, egress, venue)

    # -- health -----------------------------------------------------------------------

    def _emit(self, event: ProxyEvent) -> None:
        self.events.append(event)
        log.info("%s", event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("the proxy scheme's on_event callback failed on %s", event)

    async def _probe(self, egress: Egress, startup: bool = False) -> None:
        egress.health.probing = True
        error = await probe(egress.proxy.url, self.probe_timeout)
        if error is not None and startup:
            error = f"unreachable at start-up ({error})"
        self.diagnosis.probed(egress, error, self.clock.monotonic())

    async def _watch(self) -> None:
        """Probe quarantined proxies when their backoff has passed, and idle ones now and then."""
        last_round = self.clock.monotonic()
        while True:
            await self.clock.sleep(0.1)
            now = self.clock.monotonic()
            idle_round = now - last_round >= self.probe_interval
            if idle_round:
                last_round = now
            for egress in self.egresses:
                health = egress.health
                if egress.proxy.is_direct or health.probing:
                    continue
                if (health.down and health.retry_at <= now) or (idle_round and not health.down
                                                                 and egress.counters.in_flight == 0):
                    task = asyncio.ensure_future(self._probe(egress))
                    task.add_done_callback(_log_failure)

    # -- reporting ----------------------------------------------------------------------

    def stats(self) -> list[ProxyStats]:
        """One snapshot per proxy: state, in flight, requests, successes, failures by kind, latency."""
        now = self.clock.monotonic()
        return [ProxyStats.of(e.name, e.pool, e.health.state(now), e.counters, e.health.blocked_by(now))
                for e in self.egresses]

    def stats_table(self) -> str:
        """:meth:`stats` as a printable table."""
        return format_stats(self.stats())

    def health(self) -> dict[str, Any]:
        """A summary for health checks: ``ok`` when every proxy is in service, ``degraded`` when
        some are not but every pool still has one, ``down`` when a pool has none."""
        now = self.clock.monotonic()
        pools = {name: sum(not e.health.down for e in pool.egresses) for name, pool in self.pools.items()}
        status = "down" if not all(pools.values()) else (
            "degraded" if any(e.health.down for e in self.egresses) else "ok")
        return {"status": status, "pools_in_service": pools,
                "venues_down": sorted(self.diagnosis.venues_down),
                "proxies": {e.name: e.health.state(now) for e in self.egresses}}


def _per_pool_map(per_pool: Limit | Mapping[str, Limit] | None,
                  pools: Mapping[str, PoolEntries]) -> dict[str, Limit | None]:
    if per_pool is None or isinstance(per_pool, Limit):
        return dict.fromkeys(pools, per_pool)
    unknown = set(per_pool) - set(pools)
    if unknown:
        raise ConfigError(f"per_pool names unknown pool(s) {sorted(unknown)}; pools: {', '.join(pools)}")
    return {name: per_pool.get(name) for name in pools}


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a proxy probe failed: %r", task.exception())
