"""Rate limits shared through Redis by every process that leaves through one egress IP.

Same rule as :class:`tradeflood.ratelimit.SlidingWindow`: a request holds its
weight from the moment it is sent until ``per`` seconds after its reply, so
no window the venue can observe exceeds the limit, however many gatherers and
sessions share the IP. The window lives in Redis as a sorted set of held
weights by expiry (``ratelimit.{egress}.{venue}.{group}``) plus their sum,
changed only by Lua scripts reading Redis's own clock. Weight held by a
process that dies mid-request expires ``in_flight_s`` after it was taken. If
Redis cannot be reached, the window falls back to the in-process one.

The in-process window behind each shared one is adaptive (:mod:`tradeflood.adaptive`):
it learns from this process's replies what the venue really grants the egress, and
the shared window grants no more than that learned count, pausing as long as a
``Retry-After`` asked. (Each process learns from its own replies; the count in Redis
is the lowest any of them asks for at the moment it asks.)

    limits = SharedRateLimits("redis://127.0.0.1:6379/0", clock, egress="127.0.0.2")
    Session(limits=limits)
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any

from tradeflood.adaptive import AdaptiveRate
from tradeflood.executor import RateLimits
from tradeflood.ratelimit import LATE_ARRIVAL_S, Limit, SlidingWindow

if TYPE_CHECKING:
    from tradeflood.clock import Clock
    from tradeflood.connector import Connector
    from tradeflood.turns import Turn

__all__ = ["SharedRateLimits", "SharedWindow"]

log = logging.getLogger("tradeflood.bus")

_EXPIRE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  local w = 0
  for _, m in ipairs(gone) do w = w + tonumber(string.match(m, ':(%d+)$')) end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('DECRBY', KEYS[2], w)
end
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
"""

# KEYS: set, sum. ARGV: count, weight, lease id, in-flight hold (ms), key lifetime (ms).
ACQUIRE = _EXPIRE + """
local weight = tonumber(ARGV[2])
if held + weight <= tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3] .. ':' .. ARGV[2])
  redis.call('INCRBY', KEYS[2], weight)
  redis.call('PEXPIRE', KEYS[1], ARGV[5]); redis.call('PEXPIRE', KEYS[2], ARGV[5])
  return 0
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then return math.max(1, tonumber(first[2]) - now) end
return 50
"""

# KEYS: set. ARGV: member (lease id:weight), window (ms). The weight now expires a window from now.
RELEASE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
"""

# KEYS: set, sum. ARGV: weight the venue reports used, ms until its window resets, id, key lifetime.
OBSERVE = _EXPIRE + """
local surplus = tonumber(ARGV[1]) - held
if surplus > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3] .. ':' .. surplus)
  redis.call('INCRBY', KEYS[2], surplus)
  redis.call('PEXPIRE', KEYS[1], ARGV[4]); redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return surplus
"""


class SharedLease:
    """Weight held in a shared window by one request; ``release()`` when its reply arrived."""

    __slots__ = ("_member", "_window", "released", "weight")

    def __init__(self, window: SharedWindow, member: str, weight: int) -> None:
        self._window = window
        self._member = member
        self.weight = weight
        self.released = False

    def release(self, *, sent_at: float | None = None, status: int | None = None,
                retry_after: float | None = None, unanswered: bool = False) -> None:
        """Start the weight's expiry, one window from now (a shared window always holds
        conservatively, whatever ``sent_at`` says), and :data:`~tradeflood.ratelimit.LATE_ARRIVAL_S`
        more when ``unanswered`` (the venue may count the request after this release); with
        ``status`` and ``sent_at``, the in-process window learns from the reply (a 429 lowers
        the count granted here)."""
        if not self.released:
            self.released = True
            if status is not None and sent_at is not None:
                self._window.local.observe_reply(status, self.weight, retry_after, sent_at)
            self._window._release_later(self._member, unanswered)


class SharedWindow:
    """One (egress, venue, group) window in Redis; the in-process window stands in when Redis is down."""

    def __init__(self, limits: SharedRateLimits, key: str, limit: Limit, local: SlidingWindow) -> None:
        self.limits = limits
        self.key = key
        self.limit = limit
        self.name = key
        self.local = local
        self.waited_seconds = 0.0
        self._per_ms = int(limit.per * 1000)
        self._hold_ms = int(limits.in_flight_s * 1000)
        self._life_ms = self._per_ms + self._hold_ms * 2

    @property
    def in_window(self) -> int:
        return self.local.in_window

    @property
    def adaptive(self) -> AdaptiveRate | None:
        """What the in-process window learnt of the venue's real limit for this egress."""
        return self.local.adaptive

    @property
    def count(self) -> int:
        """The weight this window grants now: the in-process window's learned count."""
        return self.local.count

    @property
    def rate(self) -> float:
        return self.local.rate

    def free_in(self, weight: int = 1) -> float:
        return self.local.free_in(weight)

    async def acquire(self, weight: int = 1) -> Any:
        weight = min(max(1, weight), self.limit.count)
        member = uuid.uuid4().hex[:12]
        clock = self.limits.clock
        started = clock.monotonic()
        while True:
            adaptive = self.local.adaptive
            if adaptive is not None and adaptive.paused_until > clock.monotonic():
                await clock.sleep(adaptive.paused_until - clock.monotonic())  # the venue's Retry-After
            count = self.count
            try:
                wait_ms = await self.limits.scripts["acquire"](
                    keys=[self.key, self.key + ".sum"],
                    args=[count, min(weight, count), member, self._hold_ms, self._life_ms])
            except Exception as exc:
                if not self.limits.fall_back(exc):
                    raise
                return await self.local.acquire(weight)
            if int(wait_ms) == 0:
                self.waited_seconds += clock.monotonic() - started
                weight = min(weight, count)
                return SharedLease(self, f"{member}:{weight}", weight)
            await asyncio.sleep(min(int(wait_ms), self.limits.poll_ms) / 1000)

    def observe_used(self, used: int, window_reset_in: float) -> None:
        self.local.observe_used(used, window_reset_in)
        self.limits.spawn(self.limits.scripts["observe"](
            keys=[self.key, self.key + ".sum"],
            args=[used, int(window_reset_in * 1000), uuid.uuid4().hex[:12], self._life_ms]))

    def _release_later(self, member: str, unanswered: bool = False) -> None:
        hold_ms = self._per_ms + (int(LATE_ARRIVAL_S * 1000) if unanswered else 0)
        self.limits.spawn(self.limits.scripts["release"](keys=[self.key], args=[member, hold_ms]))


class SharedRateLimits(RateLimits):
    """The windows of one egress IP, shared through Redis (a drop-in for ``RateLimits``)."""

    def __init__(self, redis_url: str, clock: Clock, *, egress: str = "default", in_flight_s: float = 30.0,
                 poll_ms: int = 25) -> None:
        super().__init__(clock)
        import redis.asyncio as redis

        self.clock = clock
        self.egress = egress
        self.in_flight_s = in_flight_s
        self.poll_ms = poll_ms
        # A blocking pool: with every connection busy (a burst of waiting acquires and releases), a
        # command waits for one instead of failing with "Too many connections", which would send that
        # request under this process's own window only, past the shared one.
        pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=64, timeout=5,
                                                     decode_responses=True, socket_timeout=5,
                                                     socket_connect_timeout=2)
        self.redis: Any = redis.Redis(connection_pool=pool)
        self.scripts = {"acquire": self.redis.register_script(ACQUIRE),
                        "release": self.redis.register_script(RELEASE),
                        "observe": self.redis.register_script(OBSERVE)}
        self.shared: dict[tuple[str, str], SharedWindow] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._warned = False

    def windows(self, turn: Turn, api: Connector | None = None) -> list[Any]:
        out = []
        locals_ = super().windows(turn, api)
        api = api or self._apis.get(turn.venue)
        groups = api.groups(turn) if api is not None else ()
        for group, local in zip(groups, locals_, strict=True):
            key = (turn.venue, group)
            window = self.shared.get(key)
            if window is None:
                window = self.shared[key] = SharedWindow(
                    self, f"ratelimit.{self.egress}.{turn.venue}.{group}", local.limit, local)
            out.append(window)
        return out

    def get(self, venue: str, group: str) -> Any:
        return self.shared.get((venue, group))

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.fall_back(task.exception())  # type: ignore[arg-type]

    def fall_back(self, exc: BaseException) -> bool:
        """Whether ``exc`` means Redis is unreachable (then the in-process windows serve)."""
        import redis.exceptions

        if not isinstance(exc, OSError | redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
            return False
        if not self._warned:
            self._warned = True
            log.warning("shared rate limits: Redis unreachable (%s); using this process's own windows", exc)
        return True

    async def aclose(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.redis.aclose(close_connection_pool=True)
