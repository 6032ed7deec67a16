"""Adaptive rate: learning, per egress, how much of a declared limit a venue really grants.

A venue's published limit may be higher than what it enforces on one IP (the
figure is wrong, it changed, another program shares the address). An
:class:`AdaptiveRate` sits on one rate-limit window and adjusts the window's
effective count by AIMD:

- **multiplicative decrease** on a 429 or 418, or on a used-weight report above
  the effective count: the count drops to ``decrease`` times itself, but never
  below what the venue has just admitted in one window (the best measure of its
  real limit), and never below ``floor``. Refusals of requests sent before the
  last decrease add nothing new; those of requests sent after it halve the rate
  again (as under a ban, which so reaches the floor in a few round trips). A
  ``Retry-After`` holds the whole window until it has passed.
- **additive increase**: after ``probe_after`` seconds without a refusal while
  the window was holding requests back, the count goes up by ``step``, never
  above the declared count. A probe that draws a refusal is taken back and doubles
  the wait before the next one, so a client sitting just under the venue's real limit provokes a
  refusal only now and then.
- **pace**: the window lets ``burst`` (a quarter of the count) go at once, then spreads
  the rest evenly over the window (see :meth:`tradeflood.ratelimit.SlidingWindow`),
  so a venue enforcing less than it declares answers the first excess request
  with one refusal, not a burst of them. Until the count is ``proven`` (the venue
  admitted a whole window of it, or refused and so set the rate being learned), no
  more than ``burst`` is in flight: slow answers do not let a whole window go out
  before the first refusal comes back.

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
        self.probe_after = probe_after if probe_after is not None else 10 * per
        self.burst_share = burst_share
        self.limited = 0  #: refusals (429/418) seen
        #: Whether the venue has admitted a whole window at the count, or refused (the count is learned).
        self.proven = False
        self.paused_until = 0.0  #: monotonic time before which the venue asked for no request
        self._clock = clock
        self._count = declared
        self._changed_at = -math.inf  # the last decrease or increase
        self._decreased_at = -math.inf
        self._probing = False  # the last change was an increase not yet confirmed
        self._failed_probes = 0
        self._pressed = False  # the window held a request back since the last change
        self._admitted: deque[tuple[float, int]] = deque()  # (sent at, weight), about two windows' worth

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
        if not self.proven:
            self.proven = sum(w for at, w in self._admitted if sent - self.per < at <= sent) >= self._count
        if self._probing and now - self._changed_at >= self.per:
            self._probing = False
            self._failed_probes = 0  # the last increase held for a window: it was right

    def refused(self, retry_after: float | None = None, sent_at: float | None = None) -> None:
        """A 429 or 418 for a request sent at ``sent_at`` (monotonic; by default now): decrease
        (once per window) and pause for ``retry_after`` seconds."""
        now = self._clock.monotonic()
        self.proven = True
        self.limited += 1
        if retry_after:
            self.paused_until = max(self.paused_until, now + retry_after)
        self._trim(now)
        sent = now if sent_at is None else sent_at
        # what the venue had let through in the window it refused this request in
        admitted = sum(w for at, w in self._admitted if sent - self.per < at <= sent)
        if sent < self._decreased_at:
            return  # sent before the last decrease: a refusal that tells nothing new
        self._decrease(now, admitted)

    def over_used(self, used: int) -> None:
        """The venue reports ``used`` weight in its window: above the effective count, decrease."""
        now = self._clock.monotonic()
        if used > self._count and now - self._decreased_at >= self.per:  # once a window: reports repeat
            self._decrease(now, 0)

    # -- inside -------------------------------------------------------------------------

    def _decrease(self, now: float, admitted: int) -> None:
        lowered = math.floor(self._count * self.decrease)
        if self._probing:  # the last increase drew the refusal: take it back, probe later
            lowered = self._count - self.step
            self._failed_probes += 1
        elif now - self._decreased_at >= self.probe_after:
            # a first refusal after a quiet spell: the venue just admitted about its real limit
            lowered = max(lowered, min(admitted, self._count - 1))
        self._count = max(self.floor, lowered)
        self._probing = False
        self._pressed = False
        self._changed_at = self._decreased_at = now

    def _next_probe(self) -> float:
        return self._changed_at + self.probe_after * float(2 ** min(self._failed_probes, 6))

    def _maybe_increase(self, now: float) -> None:
        if self._pressed and self._count < self.declared and now >= self._next_probe():
            self._count = min(self.declared, self._count + self.step)
            self._probing = True
            self._pressed = False
            self._changed_at = now

    def _trim(self, now: float) -> None:
        while self._admitted and self._admitted[0][0] <= now - 2 * self.per:
            self._admitted.popleft()
