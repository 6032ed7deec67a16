"""Rate limits: at most ``count`` weight in any window of ``per`` seconds.

Venues count requests in windows (20 per rolling second per endpoint, or a
request weight per minute). A token bucket that allows a full burst
and refills continuously can put up to twice the limit into one window, so the
limiter here is a sliding window: each request holds its weight from the moment
it is sent until ``per`` seconds after its response arrived. The venue counts a
request somewhere between those two instants, so no window the venue can see
ever holds more than ``count``: a correct client never provokes a 429.

    limit = Limit(20, per=1.0)
    window = SlidingWindow(limit, clock)
    lease = await window.acquire(weight=1)
    ...send...
    lease.release()        # the weight now expires ``per`` seconds from here
"""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from dataclasses import KW_ONLY, dataclass

from .adaptive import AdaptiveRate
from .clock import Clock

__all__ = ["Lease", "Limit", "SlidingWindow"]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` weight in any ``per``-second window, and/or at most
    ``concurrency`` requests in flight at once (``Limit(concurrency=8)``, used
    for proxies: ``ProxyScheme(per_proxy=Limit(concurrency=8))``)."""

    count: int = 0
    per: float = 0.0
    _: KW_ONLY
    concurrency: int | None = None

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency <= 0:
            raise ValueError(f"a concurrency limit must be positive, not {self!r}")
        no_window = self.count == 0 and self.per == 0
        if no_window and self.concurrency is not None:
            return
        if self.count <= 0 or self.per <= 0:
            raise ValueError(f"a limit needs a positive count and window, not {self!r}")

    @property
    def has_window(self) -> bool:
        """Whether this limit counts weight in a window (not only requests in flight)."""
        return self.count > 0

    @property
    def rate(self) -> float:
        """Sustained weight per second."""
        return self.count / self.per


class Lease:
    """Weight held in a window by one request; released when its response arrives."""

    __slots__ = ("_window", "released", "weight")

    def __init__(self, window: SlidingWindow, weight: int) -> None:
        self._window = window
        self.weight = weight
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._window._expire_later(self.weight)


class SlidingWindow:
    """A FIFO sliding-window limiter over an injectable clock."""

    def __init__(self, limit: Limit, clock: Clock, *, name: str = "", adaptive: bool = False) -> None:
        if not limit.has_window:
            raise ValueError(f"{limit!r} counts no weight in a window; a SlidingWindow needs count and per")
        self.limit = limit
        self.name = name
        #: With ``adaptive``, the count this window grants is learned from the venue's replies
        #: (:mod:`tradeflood.adaptive`); else it is the declared ``limit.count``.
        self.adaptive = AdaptiveRate(limit.count, limit.per, clock) if adaptive else None
        self._clock = clock
        self._held = 0  # weight of requests in flight plus those still inside the window
        self._expiries: deque[tuple[float, int]] = deque()  # (expires_at, weight), time-ordered
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._timer: asyncio.Future[None] | None = None
        self._tat = 0.0  # adaptive windows' pace: when the weight granted so far is paid off
        self._in_flight = 0  # weight granted and not yet released
        self.waited_seconds = 0.0

    @property
    def count(self) -> int:
        """The weight this window grants now: the declared count, or the learned one."""
        return self.limit.count if self.adaptive is None else self.adaptive.count()

    @property
    def rate(self) -> float:
        """The sustained rate this window allows now, in weight per second (learned or declared)."""
        return self.limit.rate if self.adaptive is None else self.adaptive.rate

    @property
    def in_window(self) -> int:
        """Weight currently counted against the limit."""
        self._expire_due()
        return self._held

    def free_in(self, weight: int = 1) -> float:
        """Seconds until ``weight`` more would be granted, counting those already queued.

        An estimate for choosing among windows (the egress whose window frees
        soonest): weight still in flight is assumed to expire one window from now.
        """
        count = self.count
        weight = min(max(1, weight), count)
        self._expire_due()
        now = self._clock.monotonic()
        paused = max(self._paused_for(now), self._paced_for(weight, now))
        need = self._held + sum(w for w, _ in self._waiters) + weight - count
        if need <= 0:
            return paused
        for at, held in self._expiries:
            need -= held
            if need <= 0:
                return max(paused, at - now)
        return max(paused, self.limit.per * (1 + need / count))

    async def acquire(self, weight: int = 1) -> Lease:
        """Wait until ``weight`` fits in the window (first come, first served), then hold it."""
        weight = min(max(1, weight), self.limit.count)
        self._expire_due()
        if not self._waiters and self._fits(weight):
            self._take(weight)
            return Lease(self, weight)
        if self.adaptive is not None:
            self.adaptive.pressed()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((weight, fut))
        started = self._clock.monotonic()
        self._schedule()
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self._held -= weight  # granted, but the caller went away
                self._in_flight -= weight
                self._schedule()
            else:
                self._waiters = deque(w for w in self._waiters if w[1] is not fut)
            raise
        self.waited_seconds += self._clock.monotonic() - started
        return Lease(self, weight)

    def observe_used(self, used: int, window_reset_in: float) -> None:
        """Take the venue's own count (a used-weight header such as ``X-MBX-USED-WEIGHT-1M``) into account.

        If the venue counts more than this window holds (another process on the
        same IP, or requests made before this session), the surplus is held until
        the venue's window resets.
        """
        self._expire_due()
        if self.adaptive is not None:
            self.adaptive.over_used(used)
        surplus = used - self._held
        if surplus > 0:
            self._held += surplus
            expires = self._clock.monotonic() + max(0.0, window_reset_in)
            self._insert_expiry(expires, surplus)
            self._schedule()

    def observe_reply(self, status: int, weight: int, retry_after: float | None = None,
                      sent_at: float | None = None) -> None:
        """Learn from the venue's answer to a request of ``weight`` charged to this window, sent
        at ``sent_at`` (monotonic): a 429 or 418 lowers the learned count and pauses for
        ``retry_after`` seconds; any other answer counts as admitted. Nothing changes on a
        window that is not adaptive."""
        if self.adaptive is None:
            return
        unproven = not self.adaptive.proven
        if status in (418, 429):
            self.adaptive.refused(retry_after, sent_at)
        else:
            self.adaptive.admitted(weight, sent_at)
        if status in (418, 429) or (unproven and self.adaptive.proven):
            self._schedule()

    def _expire_later(self, weight: int) -> None:
        self._in_flight -= weight
        self._insert_expiry(self._clock.monotonic() + self.limit.per, weight)
        self._schedule()

    def _schedule(self) -> None:
        """Grant what fits now; if waiters remain, wake them when held weight next expires.

        Weight that is still in flight expires only after its release, which calls
        this again, so the timer is needed only while there are expiries to wait for.
        """
        self._grant()
        if self._waiters and self._next_wake() is not None and (self._timer is None or self._timer.done()):
            self._timer = asyncio.ensure_future(self._wake_on_expiry())

    async def _wake_on_expiry(self) -> None:
        while self._waiters and (wake := self._next_wake()) is not None:
            await self._clock.sleep(wake)
            self._grant()

    def _next_wake(self) -> float | None:
        """Seconds until held weight next expires, the pace lets the next waiter go, or the
        learned count may change, if any of them will."""
        waits = [self._next_expiry()]
        if self.adaptive is not None:
            waits.append(self.adaptive.wake_in())
            if self._waiters:
                paced = self._paced_for(self._waiters[0][0], self._clock.monotonic())
                waits.append(paced if paced > 0 else None)
        found = [w for w in waits if w is not None]
        return min(found) if found else None

    def _paused_for(self, now: float) -> float:
        """Seconds the venue asked this window to send nothing for (a Retry-After), else 0."""
        return 0.0 if self.adaptive is None else max(0.0, self.adaptive.paused_until - now)

    def _paced_for(self, weight: int, now: float) -> float:
        """Seconds before ``weight`` may go at this window's pace, else 0.

        An adaptive window also paces its requests (a virtual scheduling rule): up to
        ``adaptive.burst`` weight at once, then no faster than the count per window,
        spread evenly. At the declared limit this costs nothing over a long run, and a
        venue that really allows less answers the first request beyond its limit with a
        429 instead of a whole burst of them.
        """
        if self.adaptive is None or self._tat <= now:
            return 0.0
        count = self.count
        interval = self.limit.per / count
        return max(0.0, self._tat + (weight - self.adaptive.burst(count)) * interval - now)

    def _fits(self, weight: int) -> bool:
        now = self._clock.monotonic()
        if self._paused_for(now) > 0 or self._paced_for(weight, now) > 1e-9:
            return False
        if self.adaptive is not None and not self.adaptive.proven and self._in_flight > 0 \
                and self._in_flight + weight > self.adaptive.burst(self.count):
            return False  # the count is not proven yet: no more than a burst in flight
        return self._held + weight <= self.count or (self._held == 0 and self.adaptive is not None)

    def _take(self, weight: int) -> None:
        self._held += weight
        self._in_flight += weight
        if self.adaptive is not None:
            now = self._clock.monotonic()
            self._tat = max(self._tat, now) + weight * self.limit.per / self.count

    def _insert_expiry(self, at: float, weight: int) -> None:
        if not self._expiries or self._expiries[-1][0] <= at:
            self._expiries.append((at, weight))
        else:  # rare: a venue-reported reset earlier than a scheduled expiry
            items = list(self._expiries)
            bisect.insort(items, (at, weight))
            self._expiries = deque(items)

    def _expire_due(self) -> None:
        now = self._clock.monotonic()
        while self._expiries and self._expiries[0][0] <= now:
            self._held -= self._expiries.popleft()[1]

    def _next_expiry(self) -> float | None:
        if not self._expiries:
            return None
        return max(0.0, self._expiries[0][0] - self._clock.monotonic())

    def _grant(self) -> None:
        self._expire_due()
        while self._waiters:
            weight, fut = self._waiters[0]
            if fut.done():
                self._waiters.popleft()
                continue
            if not self._fits(weight):
                break
            self._waiters.popleft()
            self._take(weight)
            fut.set_result(None)
