"""Adaptive rate: learning, per egress, how much of a declared limit a venue really grants.

A venue's published limit may be higher than what it enforces on one IP (the
figure is wrong, it changed, another program shares the address). An
:class:`AdaptiveRate` sits on one rate-limit window and adjusts the window's
effective count by AIMD:

- **decrease** on a 429 or 418, or on a used-weight report above the effective
  count. A refusal means the venue's window was full when the request arrived, so
  what it admitted of the requests sent in the window before the refused one is
  its real limit: the count drops to that, but never by more than ``decrease``
  times itself at once (replies still on their way make the measure low) and
  never below ``floor``. Refusals of requests sent before the last decrease add
  nothing new; those of requests sent after it lower the rate again (as under a
  ban, which so reaches the floor in a few round trips). A ``Retry-After`` holds
  the whole window until it has passed.
- **known good**: what the venue admitted in the window before a refusal (counting
  the late replies of that window as they arrive) is remembered as ``good``.
- **additive increase** while the window holds requests back and no refusal comes:
  below ``good``, a step every window, half the way back each time (a decrease
  that went too far, on a measure made while replies were still out, is undone in
  a few windows); from ``good`` up, ``step`` every ``probe_after`` seconds (by default
  30 windows: the venue has just shown its limit, and a probe above it costs a refusal
  when it has not moved), never above the declared count. A probe that draws a
  refusal is taken back and doubles the wait before the next one, so a client
  sitting just under the venue's real limit provokes a refusal only now and then.
- **after a decrease**, the window sends nothing more until the requests sent at
  the old count have answered (at most one window): under slow replies they
  would otherwise meet a full venue window one after another.
- **pace**: the window lets ``burst`` (a quarter of the count) go at once, then spreads
  the rest evenly over the window (see :meth:`tradeflood.ratelimit.SlidingWindow`),
  so a venue enforcing less than it declares answers the first excess request
  with one refusal, not a burst of them. Until the count is ``proven`` (the venue
  admitted a whole window of it, or refused and so set the rate being learned), no
  more than ``in_flight_cap`` is in flight: ``burst`` at first, a quarter more per
  round trip answered without refusal (each admitted reply adds a quarter of its
  weight). Slow answers so neither let a whole window go out before the first
  refusal comes back, nor hold the rate under the venue's for good (a fixed cap of
  a burst would allow only ``burst / round trip`` a second).

``at_floor`` tells the proxy diagnosis that refusals persist although the rate is
at its floor: evidence of a ban rather than of a limit.
"""

from __future__ import annotations

import math
from collections import deque

from .clock import Clock

__all__ = ["AdaptiveRate"]


class AdaptiveRate:
    """The effective count of one window of ``declared`` weight per ``per`` seconds, learned by AIMD."""

    def __init__(self, declared: int, per: float, clock: Clock, *, decrease: float = 0.5,
                 floor: int | None = None, step: int | None = None, probe_after: float | None = None,
                 burst_share: float = 0.25) -> None:
        if declared <= 0 or per <= 0:
            raise ValueError(f"an adaptive rate needs a positive count and window, not {declared}/{per}")
        if not 0 < decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1, not {decrease}")
        self.declared = declared
        self.per = per
        self.decrease = decrease
        self.floor = max(1, min(declared, floor if floor is not None else declared // 10))
        self.step = max(1, step if step is not None else round(declared * 0.05))
        self.probe_after = probe_after if probe_after is not None else 30 * per
        self.burst_share = burst_share
        #: Until ``proven``: the weight the window may have in flight (grows with each admission).
        self.in_flight_cap = float(self.burst(declared))
        self.limited = 0  #: refusals (429/418) seen
        self.decreases = 0  #: times the count went down
        #: Whether the venue has admitted a whole window at the count, or refused (the count is learned).
        self.proven = False
        self.paused_until = 0.0  #: monotonic time before which the venue asked for no request
        #: What the venue admitted in the window before its last refusal: a count known to be good.
        self.good = 0
        self._clock = clock
        self._count = declared
        self._changed_at = -math.inf  # the last decrease or increase
        self._decreased_at = -math.inf
        self._probing = False  # the last change was an increase above ``good``, not yet confirmed
        self._failed_probes = 0
        self._pressed = False  # the window held a request back since the last change
        self._admitted: deque[tuple[float, int]] = deque()  # (sent at, weight), about two windows' worth
        self._measured = (math.inf, math.inf)  # the window (start, end] of sends before the last refusal

    # -- what the window asks -----------------------------------------------------------

    def count(self) -> int:
        """The weight the window may hold now (applies any increase that is due)."""
        self._maybe_increase(self._clock.monotonic())
        return self._count

    def burst(self, count: int) -> int:
        """The weight the window may let go at once, of ``count``: the rest is paced."""
        return max(1, math.floor(count * self.burst_share))

    @property
    def rate(self) -> float:
        """The learned sustained rate, in weight per second."""
        return self._count / self.per

    @property
    def learned(self) -> bool:
        """Whether the rate is below the declared one."""
        return self._count < self.declared

    @property
    def at_floor(self) -> bool:
        """Whether the rate has backed off as far as it goes."""
        return self._count <= self.floor

    def pressed(self) -> None:
        """The window held a request back: the limit, not the demand, sets the pace."""
        self._pressed = True

    def wake_in(self) -> float | None:
        """Seconds until the count may grow or a pause ends (for a waiting window), or None."""
        now = self._clock.monotonic()
        waits = []
        if self.paused_until > now:
            waits.append(self.paused_until - now)
        if self._pressed and self._count < self.declared:
            waits.append(max(1e-3, self._next_probe() - now))
        return min(waits) if waits else None

    # -- what the replies tell ----------------------------------------------------------

    def admitted(self, weight: int, sent_at: float | None = None) -> None:
        """The venue answered a request of ``weight`` sent at ``sent_at`` (monotonic; by
        default now), not with a refusal."""
        now = self._clock.monotonic()
        sent = now if sent_at is None else sent_at
        self._admitted.append((sent, weight))
        self._trim(now)
        start, end = self._measured
        if start < sent <= end:  # a late reply to a request of the window the venue refused after
            self.good += weight
        if not self.proven:
            self.proven = self._admitted_in(sent) >= self._count
            self.in_flight_cap += weight * self.burst_share
        if self._probing and sent - self._changed_at >= self.per:
            self._probing = False
            self._failed_probes = 0  # a request sent a window after the last increase went through

    def refused(self, retry_after: float | None = None, sent_at: float | None = None, *,
                stale: bool = False) -> bool:
        """A 429 or 418 for a request sent at ``sent_at`` (monotonic; by default now): lower the
        count (unless sent before the last decrease, or granted before it: ``stale``) and pause
        for ``retry_after`` seconds.

        Returns whether the count explains the refusal: the request went out before the last
        decrease, or at a count well above what the venue admitted in that window and had
        admitted before. One that it does not explain (the venue refused at about a count it
        admits) says the window's timing was wrong, not its count
        (:class:`tradeflood.ratelimit.ArrivalEstimate`)."""
        now = self._clock.monotonic()
        self.proven = True
        self.limited += 1
        if retry_after:
            self.paused_until = max(self.paused_until, now + retry_after)
        self._trim(now)
        sent = now if sent_at is None else sent_at
        if stale or sent < self._decreased_at:
            return True  # let go before the last decrease: a refusal that tells nothing new
        # what the venue had let through in the window it refused this request in
        admitted = self._admitted_in(sent)
        # a count above what the venue was known to admit, and more than a burst (about what may
        # still be on its way back) above what it admitted: the count's fault, not the timing's
        explained = self._count > self.good and admitted + self.burst(self._count) < self._count
        self._measured = (sent - self.per, sent)
        self.good = admitted
        self._decrease(now, admitted)
        return explained

    def over_used(self, used: int) -> bool:
        """The venue reports ``used`` weight in its window: above the effective count, decrease.
        Returns whether the count went down."""
        now = self._clock.monotonic()
        if used > self._count and now - self._decreased_at >= self.per:  # once a window: reports repeat
            self._decrease(now, 0)
            return True
        return False

    # -- inside -------------------------------------------------------------------------

    def _decrease(self, now: float, admitted: int) -> None:
        if self._probing:  # the last increase drew the refusal: take it back, probe later
            lowered = self._count - self.step
            self._failed_probes += 1
        else:  # down to what the venue admitted, but by at most ``decrease`` at once
            lowered = max(math.floor(self._count * self.decrease), min(admitted, self._count - 1))
        self._count = max(self.floor, lowered)
        self._probing = False
        self._pressed = False
        self.decreases += 1
        self._changed_at = self._decreased_at = now

    def _next_probe(self) -> float:
        if self._count < self.good:  # back towards a count the venue has admitted: a window apart
            return self._changed_at + self.per
        return self._changed_at + self.probe_after * float(2 ** min(self._failed_probes, 6))

    def _maybe_increase(self, now: float) -> None:
        if not (self._pressed and self._count < self.declared and now >= self._next_probe()):
            return
        if self._count < self.good:
            half_way = math.ceil((self.good - self._count) / 2)
            self._count = min(self.good, self._count + max(self.step, half_way))
        else:
            self._count = min(self.declared, self._count + self.step)
            self._probing = True
        self._pressed = False
        self._changed_at = now

    def _admitted_in(self, end: float) -> int:
        return sum(w for at, w in self._admitted if end - self.per < at <= end)

    def _trim(self, now: float) -> None:
        while self._admitted and self._admitted[0][0] <= now - 2 * self.per:
            self._admitted.popleft()
