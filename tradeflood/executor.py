"""Executor: runs a plan's DAG on asyncio under each venue's rate limits, with retries.

Each turn starts as soon as the turns it depends on are done; everything else
runs concurrently, bounded per venue. Each request holds its weight in the
rate-limit windows of its groups, is retried by the session's
:class:`~tradeflood.retry.RetryPolicy`, and its reply is unwrapped by its
connector into a payload or a typed error. Results are kept by turn key; a
failed turn fails its dependants with the same error, and the other branches
carry on, so nothing already gathered is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .bodies import DEFAULT_MAX_REPLY_BYTES, BodyTooLarge, read_bounded
from .clock import Clock, network_timeout
from .connector import Connector, Reply, retry_after
from .errors import (
    NetworkError,
    PayloadError,
    ProxyError,
    ReplyTooLargeError,
    RequestTimeoutError,
    TradeFloodError,
    VenueRejectedError,
)
from .planner import Plan
from .ratelimit import Lease
from .retry import RetryPolicy
from .sending import Egress, RequestRoutes, TransportTap
from .turns import Derived, Turn, TurnKey
from .windows import RateLimits

if TYPE_CHECKING:
    import httpx

__all__ = ["ExecutionStats", "Executor", "RateLimits", "TurnResult"]


@dataclass(frozen=True, slots=True)
class TurnResult:
    """A turn's payload (a list of page payloads for a paginating turn), the
    parameters actually sent, and when the reply arrived (UTC ms)."""

    payload: Any
    params: dict[str, str]
    received_ms: int


@dataclass
class ExecutionStats:
    """What a run cost: requests sent, retries, 429s seen, time waited on limits.

    ``learned_rates`` maps each rate-limit window whose rate was learned below the declared one
    (``"venue/group"``, prefixed by the proxy's name through a proxy) to that rate, in weight per
    second (see :mod:`tradeflood.adaptive`)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    failures: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    learned_rates: dict[str, float] = field(default_factory=dict)


class Executor:
    """Runs plans over one HTTP client, one set of rate limits and one clock.

    With request routes (``proxies``: a :class:`~tradeflood.proxy.ProxyScheme`), each request is
    sent through the egress the scheme picks for it, under that egress's own
    rate-limit windows (``direct`` keeps ``client`` and ``limits``); with ``tap`` (a recording
    session's), each proxy's own client sends through it too (see :data:`~tradeflood.sending.TransportTap`).

    Each request, from connecting to the last byte of its body, must be over
    within ``request_deadline`` seconds (the client's own timeout bounds each read
    only, so a body that drips a byte at a time would otherwise never end); one
    that is not fails with :class:`~tradeflood.errors.RequestTimeoutError` and is
    retried like any other timeout. The deadline is read on the clock, but on one
    sped up past real time it is never shorter than its seconds of real time (see
    :func:`~tradeflood.clock.network_timeout`). A body longer than ``max_reply_bytes`` once
    decoded is cut off there and fails with
    :class:`~tradeflood.errors.ReplyTooLargeError`, which is final (not retried:
    the same venue would most likely send the same giant again, at the same cost).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        clock: Clock,
        *,
        limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 16,
        cache: dict[TurnKey, TurnResult] | None = None,
        progress: Callable[[int, int], None] | None = None,
        proxies: RequestRoutes | None = None,
        connectors: Callable[[str], Connector] | None = None,
        request_deadline: float = 60.0,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        tap: TransportTap | None = None,
    ) -> None:
        self.client = client
        #: Seconds a request may take in all: connect, send, and read its whole body.
        self.request_deadline = request_deadline
        #: Bytes a reply's body may have once decoded.
        self.max_reply_bytes = max_reply_bytes
        #: The connector of a venue a turn names, when the plan does not hold it.
        self.connectors = connectors
        self.clock = clock
        self.limits = limits or RateLimits(clock)
        self.retry = retry or RetryPolicy()
        self.cache: dict[TurnKey, TurnResult] = cache if cache is not None else {}
        self.progress = progress
        self.stats = ExecutionStats()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._max_concurrency = max_concurrency
        self._inflight: dict[tuple[Any, ...], asyncio.Future[TurnResult]] = {}
        self._plan_connectors: Mapping[str, Connector] = {}
        self.proxies = proxies
        if proxies is not None:
            proxies.attach(client, self.limits, clock, tap=tap)

    async def aclose(self) -> None:
        """Close the HTTP client(s) and stop the proxy scheme's monitor."""
        if self.proxies is not None:
            await self.proxies.aclose()
        await self.client.aclose()

    async def run(
        self, plan: Plan, on_result: Callable[[Turn, TurnResult], None] | None = None,
        answered: Mapping[TurnKey, TurnResult] | None = None,
    ) -> tuple[dict[TurnKey, TurnResult], dict[TurnKey, BaseException]]:
        """Run every turn of ``plan``; returns (results, errors) by turn key.

        With ``on_result``, each result is handed to it as it arrives and kept only
        while other turns' parameters are derived from it, so payloads already
        parsed do not pile up until the last reply. A turn ``answered`` holds (sent
        earlier in the same fetch) is not sent again.
        """
        results: dict[TurnKey, TurnResult] = {}
        graph = plan.graph
        self._plan_connectors = plan.connectors
        errors: dict[TurnKey, BaseException] = {}
        derived: dict[Any, Any] = {}
        futures: dict[TurnKey, asyncio.Future[None]] = {}
        total = plan.graph.number_of_nodes()
        done = 0
        if self.proxies is not None:
            await self.proxies.start()

        async def run_turn(turn: Turn) -> None:  # the result goes to results/on_result, not the task
            nonlocal done
            try:
                for dep in turn.deps:
                    await futures[dep.key]
                params = {name: self._value(v, results, derived) if isinstance(v, Derived) else v
                          for name, v in turn.params}
                result = answered.get(turn.key) if answered else None
                if result is None:
                    result = await self._execute(turn, params)
                if on_result is None or graph.out_degree(turn.key):
                    results[turn.key] = result
                if on_result is not None:
                    on_result(turn, result)
            except BaseException as exc:
                errors.setdefault(turn.key, exc)
                raise
            finally:
                done += 1
                if self.progress is not None:
                    self.progress(done, total)

        for turn in plan.turns:  # topological order: dependencies' futures exist first
            task = asyncio.ensure_future(run_turn(turn))
            task.add_done_callback(_silence)
            futures[turn.key] = task
        try:
            if futures:
                await asyncio.wait(futures.values())
        except BaseException:  # the caller gave up (cancelled, timed out): so do the requests
            for future in futures.values():
                future.cancel()
            raise
        return results, errors

    def _value(self, value: Derived, results: dict[TurnKey, TurnResult], memo: dict[Any, Any]) -> Any:
        if value.key in memo:
            return memo[value.key]
        source = value.source
        base = (self._value(source, results, memo) if isinstance(source, Derived)
                else results[source.key].payload)
        out = value.fn(base, *value.args)
        memo[value.key] = out
        return out

    async def _execute(self, turn: Turn, params: dict[str, Any]) -> TurnResult:
        cached = self.cache.get(turn.key)
        if cached is not None:
            return cached
        if turn.next_page is None:
            result = await self._send_once_shared(turn, params)
        else:
            result = await self._paginate(turn, params)
        if turn.cache == "session":
            self.cache[turn.key] = result
        return result

    async def _paginate(self, first: Turn, params: dict[str, Any]) -> TurnResult:
        assert first.next_page is not None
        pages: list[Any] = []
        current, current_params = first, params
        while True:
            result = await self._send_once_shared(current, current_params)
            pages.append(result.payload)
            following = first.next_page(current, result.payload)
            if following is None or len(pages) >= first.max_pages:
                return TurnResult(pages, params, result.received_ms)
            current = following
            current_params = _follow_params(first, params, following)

    async def _send_once_shared(self, turn: Turn, params: dict[str, Any]) -> TurnResult:
        # Two turns that resolve to the same concrete request share one send.
        concrete = (turn.venue, turn.api, turn.method, turn.path, tuple(sorted(params.items())))
        pending = self._inflight.get(concrete)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[TurnResult] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_silence)
        self._inflight[concrete] = fut
        try:
            async def attempt() -> TurnResult:
                return await self._send(turn, params)

            result = await self.retry.run(attempt, self.clock, on_retry=self._count_retry)
        except BaseException as exc:
            fut.set_exception(exc)
            self.stats.failures += 1
            raise
        else:
            fut.set_result(result)
            return result
        finally:
            del self._inflight[concrete]

    def _count_retry(self, exc: BaseException) -> None:
        self.stats.retries += 1
        if getattr(exc, "status", None) in (418, 429):
            self.stats.rate_limited += 1

    def connector(self, venue: str) -> Connector:
        """The connector that sends and unwraps the turns of ``venue``."""
        api = self._plan_connectors.get(venue)
        if api is None and self.connectors is not None:
            api = self.connectors(venue)
        if api is None:
            raise TradeFloodError(f"no connector for venue {venue!r}: a plan's turns need their venue's")
        return api

    async def _send(self, turn: Turn, params: dict[str, Any]) -> TurnResult:
        api = self.connector(turn.venue)
        slots = self._slots.setdefault(turn.venue, asyncio.Semaphore(self._max_concurrency))
        import httpx  # loaded by the session's client already; here for its error types

        stream: Callable[..., contextlib.AbstractAsyncContextManager[httpx.Response]] = self.client.stream
        limits = self.limits
        through: contextlib.AbstractAsyncContextManager[Any] = _NO_PROXY
        if self.proxies is not None:  # the egress is chosen first, then its own windows are waited on
            pool, egress = await self.proxies.choose_waiting(turn, self.retry.budget)
            assert egress.limits is not None
            stream, limits = egress.stream, egress.limits
            through = self.proxies.attempt(pool, egress, turn.venue, turn.path)
        leases: list[Lease] = []
        status: int | None = None  # known once a reply came: the windows may then expire earlier
        windows = limits.windows(turn, api)
        try:  # leases taken before a cancellation are still released
            for window in windows:
                leases.append(await window.acquire(turn.weight))
            async with slots:
                self.stats.requests += 1
                self.stats.by_endpoint[turn.path] = self.stats.by_endpoint.get(turn.path, 0) + 1
                started = self.clock.monotonic()
                try:
                    async with (through, network_timeout(self.clock, self.request_deadline),
                                stream(turn.method, api.url(turn), params=params) as response):
                        status = response.status_code
                        content = await read_bounded(response, self.max_reply_bytes)
                except TimeoutError as exc:  # the request's own deadline, not a read timeout
                    raise RequestTimeoutError(
                        turn.venue, turn.path, f"no complete answer within the request deadline of "
                        f"{self.request_deadline:g} s") from exc
                except BodyTooLarge as exc:
                    raise ReplyTooLargeError(turn.venue, turn.path, exc.limit, exc.encoding) from None
                except httpx.TimeoutException as exc:
                    raise RequestTimeoutError(turn.venue, turn.path, f"no answer in time ({exc!r})") from exc
                except httpx.TransportError as exc:
                    raise NetworkError(turn.venue, turn.path, f"connection failed: {exc!r}") from exc
                except httpx.DecodingError as exc:
                    raise PayloadError(turn.venue, turn.path,
                                       f"the body could not be decoded ({exc})") from exc
        finally:
            told = retry_after(response.headers) if status in (418, 429) else None
            for lease in leases:  # an adaptive window learns from the reply before regranting
                if status is None:  # no reply: the venue may yet count the request
                    lease.release(unanswered=True)
                else:
                    lease.release(sent_at=started, status=status, retry_after=told)
        reply = Reply(response.status_code, response.headers, content,
                      self.clock.monotonic() - started)
        used = api.used_weight(turn, reply, self.clock.time())
        if used is not None:
            group, amount, reset_in = used
            reported = limits.get(turn.venue, group)
            if reported is not None:
                reported.observe_used(amount, reset_in)
        at_floor = self._learn(windows, None if self.proxies is None else egress.name)
        if self.proxies is None:
            payload = api.unwrap(turn, reply)
        else:
            payload = self._unwrap_through(api, turn, reply, pool, egress, at_floor)
        # A transport may say when the reply arrived (a recorder's, a replay's): a replay then
        # stamps what it parses exactly as the live session did.
        received = response.extensions.get("tradeflood.received_ms") or int(self.clock.time() * 1000)
        return TurnResult(payload, dict(params), received)

    def _learn(self, windows: list[Any], egress: str | None) -> bool:
        """Note the rates the windows a turn was charged to have learnt from its reply (their
        leases' release taught them); returns whether one of them has backed off to its floor."""
        at_floor = False
        for window in windows:
            adaptive = getattr(window, "adaptive", None)
            if adaptive is None:  # a window shared some other way learns nothing here
                continue
            at_floor = at_floor or adaptive.at_floor
            name = window.name if egress is None else f"{egress} {window.name}"
            if adaptive.learned:
                self.stats.learned_rates[name] = adaptive.rate
            else:
                self.stats.learned_rates.pop(name, None)
        return at_floor

    def _unwrap_through(self, api: Connector, turn: Turn, reply: Reply, pool: Any,
                        egress: Egress, at_floor: bool = False) -> Any:
        """Unwrap a reply that came through a proxy, telling the scheme how the egress fared
        (``at_floor``: the rate through it has backed off as far as it goes)."""
        assert self.proxies is not None
        try:
            payload = api.unwrap(turn, reply)
        except TradeFloodError as exc:
            ban = api.ban(turn, reply, self.clock.time())
            kind = self.proxies.settle(pool, egress, turn.venue, reply.status, reply.elapsed,
                                       retry_after(reply.headers), str(exc)[:200], at_floor=at_floor,
                                       ban=ban)
            if (kind in ("auth", "blocked") and isinstance(exc, VenueRejectedError)) or ban is not None:
                # A refusal that may be this proxy's (its credentials, its IP; a ban the venue
                # worded): final from the venue's point of view, but another proxy may carry it.
                raise ProxyError(turn.venue, turn.path, f"{kind} through this proxy: {exc}",
                                 proxy=egress.name) from exc
            raise
        self.proxies.settle(pool, egress, turn.venue, reply.status, reply.elapsed)
        return payload


def _follow_params(first: Turn, resolved: dict[str, Any], following: Turn) -> dict[str, Any]:
    """A following page's parameters: a derived one keeps the value the first page resolved."""
    out: dict[str, Any] = {}
    derived = dict(first.derived())
    for name, value in following.params:
        if not isinstance(value, Derived):
            out[name] = value
        elif name in derived and derived[name].key == value.key:
            out[name] = resolved[name]
        else:
            raise TypeError(
                f"{first.endpoint}: next_page returned a turn with a new derived parameter {name!r}; "
                "following pages may only reuse the first page's derived values"
            )
    return out


_NO_PROXY = contextlib.nullcontext()


def _silence(fut: asyncio.Future[Any]) -> None:
    # Errors are collected by key and reported by the session; don't log them twice.
    if not fut.cancelled():
        fut.exception()
