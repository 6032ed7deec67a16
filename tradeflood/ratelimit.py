"""Rate limits: at most ``count`` weight in any window of ``per`` seconds.

Venues count requests in windows (20 per rolling second per endpoint, or a
request weight per minute). A token bucket that allows a full burst
and refills continuously can put up to twice the limit into one window, so the
limiter here is a sliding window: each request holds its weight from the moment
it is granted until it expires, and no more than ``count`` is ever held.

When does a request's weight expire? The venue counts it on arrival, at
``sent + up`` where ``up`` is that request's one-way delay to the venue, and
holds it for ``per`` seconds. Take any ``count + 1`` requests the venue counts
in one window ``(t - per, t]``, and the one of them granted last, L. Every
other request j arrived after ``t - per`` and L no later than ``t``, so
``granted_L < sent_j + (up_j - up_L) + per``: if j's weight is held until at
least ``sent_j + (up_j - up_L) + per``, all ``count + 1`` were held at once
when L was granted, which the window never allows. So a request must hold its
weight for ``per`` seconds plus ``hold`` after it was sent, where ``hold`` is at
least how much later than the others its own trip to the venue may have been:

* Conservative (no assumption): ``up_j <= rtt_j``, so ``hold = rtt_j``: the weight
  expires ``per`` seconds after the reply arrived.
* With an estimate (:class:`ArrivalEstimate`, once it has seen enough round
  trips of this window): the one-way delay varies by at most ``allowance``, so
  ``hold = min(rtt_j, max(allowance, rtt_j - fastest))``. A constant delay,
  however long, costs nothing: every request is shifted alike.

The estimate's assumption can be wrong (a path whose delay swings more than
any round trip showed), so the estimate is a bet the venue can call: after a
429 or 418 on the window, it keeps the conservative rule for a while.

A request released without a reply (timeout, connection error, cancellation:
``release(unanswered=True)``) has no round trip to bound its arrival: its bytes
may be on the way, or queued at a venue slow to read them, when the client
gives up. Its weight is held ``per`` seconds plus :data:`LATE_ARRIVAL_S` after
the release, a bet that nothing reaches the venue later than that.

    limit = Limit(20, per=1.0)
    window = SlidingWindow(limit, clock)
    lease = await window.acquire(weight=1)
    sent = clock.monotonic()
    ...send, read the reply...
    lease.release(sent_at=sent, status=200)   # expires per + hold seconds after ``sent``
"""

from __future__ import annotations

import asyncio
import bisect
import math
import threading
from collections import deque
from dataclasses import KW_ONLY, dataclass

from .adaptive import AdaptiveRate
from .clock import Clock

__all__ = ["LATE_ARRIVAL_S", "ArrivalEstimate", "Lease", "Limit", "SlidingWindow"]

#: How long after a client gave up on a request (no reply) the venue may still count it (s).
LATE_ARRIVAL_S = 2.0


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


class ArrivalEstimate:
    """How long after its send a request may still be counted by the venue, learnt from the
    round trips of one window's requests (see the module docstring for why it is safe).

    ``allowance`` is how much the one-way delay to the venue may vary: the largest
    recent spread of round trips above the fastest one (decaying slowly), and at
    least ``floor_share`` of the fastest round trip and ``floor_s``. Until ``warmup``
    round trips were seen, and for ``cool_off`` windows after a 429 or 418, the
    conservative rule holds (``hold`` returns the whole round trip).
    """

    __slots__ = ("_per", "_quiet_until", "allowance", "fastest", "floor_s", "floor_share", "samples",
                 "spread")

    warmup = 8
    decay = 0.97
    cool_off = 60.0  # windows of conservative holding after a rejection

    def __init__(self, per: float, *, floor_s: float = 0.002, floor_share: float = 0.1) -> None:
        self._per = per
        self.floor_s = floor_s
        self.floor_share = floor_share
        self.fastest = math.inf  # the fastest round trip seen (s)
        self.spread = 0.0  # a slowly decaying maximum of (round trip - fastest)
        self.allowance = math.inf
        self.samples = 0
        self._quiet_until = -math.inf  # conservative until then (monotonic s)

    def hold(self, rtt: float, now: float) -> float:
        """Record a round trip that ended at ``now`` and return its hold (s after the send)."""
        rtt = max(0.0, rtt)
        self.samples += 1
        if rtt < self.fastest:
            self.fastest = rtt
        self.spread = max(rtt - self.fastest, self.spread * self.decay)
        self.allowance = max(self.spread, self.fastest * self.floor_share, self.floor_s)
        if self.samples < self.warmup or now < self._quiet_until:
            return rtt
        return min(rtt, max(self.allowance, rtt - self.fastest))

    def rejected(self, now: float) -> None:
        """The venue refused a request of this window: hold conservatively for a while."""
        self._quiet_until = now + self.cool_off * self._per


class Lease:
    """Weight held in a window by one request; released when its response arrives."""

    __slots__ = ("_window", "generation", "released", "weight")

    def __init__(self, window: SlidingWindow, weight: int, generation: int = 0) -> None:
        self._window = window
        self.weight = weight
        self.generation = generation  # the window's count of decreases when this was granted
        self.released = False

    def release(self, *, sent_at: float | None = None, status: int | None = None,
                retry_after: float | None = None, unanswered: bool = False) -> None:
        """Start the weight's expiry. With ``sent_at`` (the clock's monotonic reading when the
        request went out, the reply having arrived now) it may expire earlier than ``per``
        after now (see the module docstring); ``status`` 429 or 418 makes the window
        conservative for a while. Without them, it expires ``per`` seconds from now;
        ``unanswered`` (the request may have gone out, but no reply came) adds
        :data:`LATE_ARRIVAL_S`, since the venue may count it after the release.

        With both, an adaptive window also learns from the reply (:meth:`SlidingWindow.observe_reply`,
        ``retry_after`` as the venue said), before the weight it frees is granted again."""
        if not self.released:
            self.released = True
            self._window._settle(self, sent_at, status, retry_after, unanswered)


class SlidingWindow:
    """A FIFO sliding-window limiter over an injectable clock.

    One window may be shared by sessions on several event loops and threads
    (``tradeflood.windows``): its state changes under a lock, each waiter is woken
    on its own loop, and each loop with waiters runs its own expiry timer. An
    adaptive window (``adaptive=True``) grants the count it learned from the venue's
    replies (:mod:`tradeflood.adaptive`) and paces its requests; see ``_paced_for``.
    """

    def __init__(self, limit: Limit, clock: Clock, *, name: str = "", adaptive: bool = False) -> None:
        if not limit.has_window:
            raise ValueError(f"{limit!r} counts no weight in a window; a SlidingWindow needs count and per")
        self.limit = limit
        self.name = name
        #: With ``adaptive``, the count this window grants is learned from the venue's replies
        #: (:mod:`tradeflood.adaptive`); else it is the declared ``limit.count``.
        self.adaptive = AdaptiveRate(limit.count, limit.per, clock) if adaptive else None
        self._clock = clock
        self._lock = threading.RLock()
        self._held = 0  # weight of requests in flight plus those still inside the window
        self._expiries: list[tuple[float, int]] = []  # (expires_at, weight), time-ordered
        #: What this window has learnt of its requests' round trips (see :class:`ArrivalEstimate`).
        self.arrivals = ArrivalEstimate(limit.per)
        self._waiters: deque[_Waiter] = deque()
        self._timers: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}
        self._wake_at: dict[asyncio.AbstractEventLoop, float] = {}  # when each loop's timer wakes
        self._tat = 0.0  # adaptive windows' pace: when the weight granted so far is paid off
        self._in_flight = 0  # weight granted and not yet released
        self._generation = 0  # decreases of the adaptive count so far
        self._stale = 0  # weight in flight that was granted before the last decrease
        self._stale_until = -math.inf  # ... held back for it at most until then
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
        with self._lock:
            self._expire_due()
            return self._held

    @property
    def waiting(self) -> bool:
        """Whether requests are queued for this window."""
        return bool(self._waiters)

    def free_in(self, weight: int = 1) -> float:
        """Seconds until ``weight`` more would be granted, counting those already queued.

        An estimate for choosing among windows (the egress whose window frees
        soonest): weight still in flight is assumed to expire one window from now.
        """
        with self._lock:
            count = self.count
            weight = min(max(1, weight), count)
            self._expire_due()
            now = self._clock.monotonic()
            paused = max(self._paused_for(now), self._paced_for(weight, now))
            need = self._held + sum(w.weight for w in self._waiters) + weight - count
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
        with self._lock:
            self._expire_due()
            if not self._waiters and self._fits(weight):
                return Lease(self, weight, self._take(weight))
            if self.adaptive is not None:
                self.adaptive.pressed()
            waiter = _Waiter(weight, asyncio.get_running_loop())
            self._waiters.append(waiter)
        started = self._clock.monotonic()
        self._schedule()
        try:
            await waiter.fut
        except BaseException:
            with self._lock:
                if waiter.granted:  # granted, but the caller went away
                    self._held -= weight
                    self._in_flight -= weight
                    if waiter.generation < self._generation:
                        self._stale -= weight
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
            self._schedule()
            raise
        self.waited_seconds += self._clock.monotonic() - started
        return Lease(self, weight, waiter.generation)

    def observe_used(self, used: int, window_reset_in: float) -> None:
        """Take the venue's own count (a used-weight header such as ``X-MBX-USED-WEIGHT-1M``) into account.

        If the venue counts more than this window holds (another process on the
        same IP, or requests made before this session), the surplus is held until
        the venue's window resets; an adaptive window also lowers its count.
        """
        with self._lock:
            self._expire_due()
            if self.adaptive is not None and self.adaptive.over_used(used):
                self._decreased()
            surplus = used - self._held
            if surplus <= 0:
                return
            self._held += surplus
            self._insert_expiry(self._clock.monotonic() + max(0.0, window_reset_in), surplus)
        self._schedule()

    def observe_reply(self, status: int, weight: int, retry_after: float | None = None,
                      sent_at: float | None = None) -> None:
        """Learn from the venue's answer to a request of ``weight`` charged to this window, sent
        at ``sent_at`` (monotonic): a 429 or 418 lowers the learned count and pauses for
        ``retry_after`` seconds; any other answer counts as admitted. Nothing changes on a
        window that is not adaptive. (A lease released with its status does this itself.)"""
        if self.adaptive is None:
            return
        with self._lock:
            changed = self._learn(status, weight, retry_after, sent_at)
        if changed:
            self._schedule()

    def _learn(self, status: int, weight: int, retry_after: float | None, sent_at: float | None,
               stale: bool = False) -> bool:
        """Under the lock: let the adaptive count learn from a reply (``stale``: to a request
        granted before the last decrease, however late it went out). Whether the window must
        look again at its waiters (the count changed, or is proven now)."""
        assert self.adaptive is not None
        if status in (418, 429):
            decreases = self.adaptive.decreases
            if not self.adaptive.refused(retry_after, sent_at, stale=stale):
                self.arrivals.rejected(self._clock.monotonic())  # refused at a count it admits
            if self.adaptive.decreases != decreases:
                self._decreased()
            return True
        unproven = not self.adaptive.proven
        self.adaptive.admitted(weight, sent_at)
        return unproven and self.adaptive.proven

    def _decreased(self) -> None:
        """Under the lock: the count went down. What is in flight was sent at the old count and
        may still draw refusals: nothing more goes until it has resolved (at most a window)."""
        self._generation += 1
        self._stale = self._in_flight
        self._stale_until = self._clock.monotonic() + self.limit.per

    def _settle(self, lease: Lease, sent_at: float | None = None, status: int | None = None,
                retry_after: float | None = None, unanswered: bool = False) -> None:
        weight = lease.weight
        with self._lock:
            learnt = False
            if self.adaptive is not None and sent_at is not None and status is not None:
                self._learn(status, weight, retry_after, sent_at, lease.generation < self._generation)
                learnt = True
            self._in_flight -= weight
            if lease.generation < self._generation:
                self._stale -= weight
            now = self._clock.monotonic()
            expires = now + self.limit.per + (LATE_ARRIVAL_S if unanswered else 0.0)
            if status in (418, 429):
                if not learnt:  # (else ``_learn`` judged whether the timing was wrong)
                    self.arrivals.rejected(now)
            elif sent_at is not None and status is not None:
                expires = sent_at + self.arrivals.hold(now - sent_at, now) + self.limit.per
            self._insert_expiry(expires, weight)
        self._schedule()

    def _schedule(self) -> None:
        """Grant what fits now; if waiters remain, wake them when held weight next expires
        (or the pace, a pause or the learned count lets the next one go).

        Weight that is still in flight expires only after its release, which calls
        this again, so a timer is needed only while there is something to wait for.
        """
        self._grant()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        with self._lock:
            wake = self._next_wake() if self._waiters else None
            if wake is None:
                return
            self._timers = {lp: t for lp, t in self._timers.items() if not t.done()}
            self._wake_at = {lp: at for lp, at in self._wake_at.items() if lp in self._timers}
            timer = self._timers.get(loop)
            if timer is not None:
                if self._wake_at.get(loop, math.inf) <= self._clock.monotonic() + wake + 1e-9:
                    return  # this loop's timer wakes in time
                timer.cancel()  # it sleeps past an earlier need (the pace, a pause's end): anew
            self._timers[loop] = loop.create_task(self._wake_on_expiry(loop))

    async def _wake_on_expiry(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            with self._lock:
                delay = self._next_wake() if self._waiters else None
                self._wake_at[loop] = math.inf if delay is None else self._clock.monotonic() + delay
            if delay is None:
                return
            await self._clock.sleep(delay)
            self._grant()

    def _next_wake(self) -> float | None:
        """Seconds until held weight next expires, the pace lets the next waiter go, or the
        learned count may change, if any of them will."""
        waits = [self._next_expiry()]
        if self.adaptive is not None:
            waits.append(self.adaptive.wake_in())
            if self._stale > 0:
                waits.append(max(0.0, self._stale_until - self._clock.monotonic()) or None)
            if self._waiters:
                paced = self._paced_for(self._waiters[0].weight, self._clock.monotonic())
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
        if self._stale > 0 and now < self._stale_until:
            return False  # sent before the last decrease and still out: wait for their answers
        if self.adaptive is not None and not self.adaptive.proven and self._in_flight > 0 \
                and self._in_flight + weight > self.adaptive.in_flight_cap:
            return False  # the count is not proven yet: no more in flight than the answers allow
        return self._held + weight <= self.count or (self._held == 0 and self.adaptive is not None)

    def _take(self, weight: int) -> int:
        """Hold ``weight`` for a request going out now; the generation its lease belongs to."""
        self._held += weight
        self._in_flight += weight
        if self.adaptive is not None:
            now = self._clock.monotonic()
            self._tat = max(self._tat, now) + weight * self.limit.per / self.count
        return self._generation

    def _insert_expiry(self, at: float, weight: int) -> None:
        if not self._expiries or self._expiries[-1][0] <= at:
            self._expiries.append((at, weight))
        else:  # an earlier hold than the last one's, or a venue-reported reset
            bisect.insort(self._expiries, (at, weight))

    def _expire_due(self) -> None:
        expiries = self._expiries
        if not expiries:
            return
        now = self._clock.monotonic()
        due = 0
        while due < len(expiries) and expiries[due][0] <= now:
            self._held -= expiries[due][1]
            due += 1
        if due:
            del expiries[:due]

    def _next_expiry(self) -> float | None:
        if not self._expiries:
            return None
        return max(0.0, self._expiries[0][0] - self._clock.monotonic())

    def _grant(self) -> None:
        granted: list[_Waiter] = []
        with self._lock:
            self._expire_due()
            while self._waiters:
                waiter = self._waiters[0]
                if waiter.fut.done():  # cancelled
                    self._waiters.popleft()
                    continue
                if not self._fits(waiter.weight):
                    break
                self._waiters.popleft()
                waiter.generation = self._take(waiter.weight)
                waiter.granted = True
                granted.append(waiter)
        for waiter in granted:
            if not waiter.wake():
                with self._lock:  # its loop is closed: nobody will use the weight
                    self._held -= waiter.weight
                    self._in_flight -= waiter.weight
                    if waiter.generation < self._generation:
                        self._stale -= waiter.weight


class _Waiter:
    """A request waiting for weight, on its own event loop."""

    __slots__ = ("fut", "generation", "granted", "loop", "weight")

    def __init__(self, weight: int, loop: asyncio.AbstractEventLoop) -> None:
        self.weight = weight
        self.loop = loop
        self.fut: asyncio.Future[None] = loop.create_future()
        self.granted = False
        self.generation = 0

    def wake(self) -> bool:
        """Resolve the future on its loop; False if that loop is closed."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            _resolve(self.fut)
            return True
        try:
            self.loop.call_soon_threadsafe(_resolve, self.fut)
        except RuntimeError:
            return False
        return True


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
