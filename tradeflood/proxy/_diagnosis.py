"""Diagnosis: telling a dead proxy from a venue that is down or one that blocks a proxy.

Every outcome of a request through an egress is classified (:func:`failure_kind`,
:func:`reply_kind`) and handed to :class:`Diagnosis`, which changes health and
emits typed events:

- **proxy down**: the proxy cannot be reached or refuses our credentials (one
  such failure is proof), or ``max_failures`` dropped connections or timeouts
  in a row: quarantined until a probe succeeds.
- **limited**: HTTP 429 from the venue. Not a ban: the rate-limit windows of
  that egress learn a lower rate from it (:mod:`tradeflood.adaptive`), and the
  proxy stays in service.
- **blocked**: evidence of a ban, for one proxy and one venue: HTTP 403 or 418,
  a reply the venue's connector reads as a ban (:meth:`tradeflood.Connector.ban`:
  a body saying so, whatever the status; blocked for the ban's length when it
  says), or ``blocked_after`` 429s in a row while the rate through that proxy has
  already backed off to its floor (a caller that keeps no rate, such as
  Proxyter, counts every 429 so). That venue avoids that proxy for a while.
- **venue down**: 5xx (or a proxy's gateway error) through every live proxy
  that tried one venue, with no success since: no proxy is blamed.
- **slow**: a proxy's median latency ``slow_factor`` times the others' median.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ._events import (
    ProxyBlocked,
    ProxyDown,
    ProxyEvent,
    ProxySlow,
    ProxyUnblocked,
    ProxyUp,
    VenueDown,
    VenueUp,
)
from ._health import Backoff, Blocked
from ._pool import Egress
from ._stats import percentile

__all__ = ["Diagnosis", "Thresholds", "failure_kind", "reply_kind"]

_STATUS = re.compile(r"\b([1-5]\d\d)\b")


def failure_kind(exc: BaseException, direct: bool) -> str:
    """The kind of a transport failure: ``connect``, ``auth``, ``venue``, ``timeout`` or ``dropped``."""
    if isinstance(exc, httpx.ProxyError):  # the proxy answered CONNECT with an error status
        match = _STATUS.search(str(exc))
        status = int(match.group(1)) if match else 0
        if status == 407:
            return "auth"
        return "venue" if status >= 500 else "connect"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return "venue" if direct else "connect"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "dropped"


def reply_kind(status: int, direct: bool = False) -> str | None:
    """The kind of failure an HTTP status shows, or None when the request went through.

    Through a proxy, 401 is the proxy refusing our credentials too (tinyproxy answers
    401, not 407): the public endpoints served here never ask for authentication.
    """
    if status == 407 or (status == 401 and not direct):
        return "auth"
    if status == 429:
        return "limited"
    if status in (403, 418):
        return "blocked"
    if status >= 500:
        return "venue"
    return None


@dataclass(frozen=True)
class Thresholds:
    """When failures become diagnoses, and how long quarantines and blocks last."""

    max_failures: int = 3
    blocked_after: int = 2
    backoff: Backoff = field(default_factory=Backoff)
    slow_factor: float = 3.0
    slow_min_samples: int = 20
    slow_min_gap: float = 0.05  # seconds: a gap smaller than this is never "slow"


class Diagnosis:
    """Turns outcomes into health changes and events, over every egress of a scheme."""

    def __init__(self, egresses: list[Egress], thresholds: Thresholds, emit: Callable[[ProxyEvent], None],
                 rng: random.Random) -> None:
        self.egresses = egresses
        self.t = thresholds
        self.emit = emit
        self.rng = rng
        self.venue_failures: dict[str, dict[str, str]] = {}  # venue -> egress -> evidence, since a success
        self.venues_down: set[str] = set()

    def failure(self, egress: Egress, venue: str, kind: str, detail: str, now: float, *,
                status: int | None = None, retry_after: float | None = None,
                peers: list[Egress] | None = None, at_floor: bool = True, banned: bool = False) -> None:
        """Record a failed request through ``egress`` to ``venue``; ``peers`` are the egresses
        that could have carried it instead (its pool). ``at_floor`` (for a 429): whether the
        rate through ``egress`` has backed off as far as it goes; only then does a 429 count
        towards a block. ``banned``: the venue said in so many words that this IP is banned
        (whatever the status): blocked at once, for ``retry_after`` at least."""
        peers = peers if peers is not None else [e for e in self.egresses if e.pool == egress.pool]
        egress.counters.failures[kind] += 1
        evidence = f"{kind}: {detail} ({venue})"
        egress.health.evidence.append(evidence)
        if kind in ("connect", "auth"):
            self.quarantine(egress, now)
        elif kind in ("dropped", "timeout"):
            egress.health.soft_failures += 1
            self._venue_failed(egress, venue, evidence, now, peers)
            if egress.health.soft_failures >= self.t.max_failures:
                self.quarantine(egress, now)
        elif kind == "blocked" or (kind == "limited" and at_floor):
            self._blocked(egress, venue, status, retry_after, now, banned=banned)
        elif kind == "venue":
            self._venue_failed(egress, venue, evidence, now, peers)

    def success(self, egress: Egress, venue: str, latency: float, now: float) -> None:
        """Record a request through ``egress`` that ``venue`` answered."""
        health = egress.health
        egress.counters.successes += 1
        egress.counters.latencies.append(latency)
        health.soft_failures = 0
        health.quarantines = 0
        block = health.blocked.pop(venue, None)
        if block is not None and block.times:
            self.emit(ProxyUnblocked(egress.name, venue, tuple(health.evidence), now))
        self.venue_failures.pop(venue, None)
        if venue in self.venues_down:
            self.venues_down.discard(venue)
            self.emit(VenueUp(egress.name, venue, (f"HTTP answer through {egress.name}",), now))
        self._check_slow(egress, now)

    def probed(self, egress: Egress, error: str | None, now: float) -> None:
        """Record a probe of a quarantined proxy: back in service, or quarantined again."""
        health = egress.health
        health.probing = False
        if error is None:
            if health.down:
                health.down = False
                health.soft_failures = 0
                self.emit(ProxyUp(egress.name, None, ("probe: TCP connection accepted",), now))
            return
        health.evidence.append(error)
        if health.down:
            health.retry_at = now + self.t.backoff.delay(health.quarantines, self.rng)
            health.quarantines += 1
        else:
            self.quarantine(egress, now)

    def quarantine(self, egress: Egress, now: float) -> None:
        health = egress.health
        if health.down or egress.proxy.is_direct:
            return  # already known; and this machine's own address is never quarantined
        delay = self.t.backoff.delay(health.quarantines, self.rng)
        health.down = True
        health.quarantines += 1
        health.retry_at = now + delay
        self.emit(ProxyDown(egress.name, None, tuple(health.evidence), now, retry_in=delay))

    def _blocked(self, egress: Egress, venue: str, status: int | None, retry_after: float | None,
                 now: float, *, banned: bool = False) -> None:
        block = egress.health.blocked.setdefault(venue, Blocked())
        block.strikes += 1
        if status == 429 and not banned and block.strikes < self.t.blocked_after and not block.times:
            return
        block.strikes = 0
        delay = max(retry_after or 0.0, self.t.backoff.delay(block.times, self.rng))
        block.times += 1
        block.until = now + delay
        if block.times == 1:  # still blocked when tried again: blocked for longer, said once
            self.emit(ProxyBlocked(egress.name, venue, tuple(egress.health.evidence), now,
                                   status=status, retry_in=delay))

    def _venue_failed(self, egress: Egress, venue: str, evidence: str, now: float,
                      peers: list[Egress]) -> None:
        failed = self.venue_failures.setdefault(venue, {})
        failed[egress.name] = evidence
        if venue in self.venues_down:
            return
        pool = [e for e in peers if not e.health.down]
        if pool and all(e.name in failed for e in pool) and (len(failed) >= 2 or len(pool) == 1):
            self.venues_down.add(venue)
            self.emit(VenueDown(None, venue, tuple(failed.values()), now, proxies=tuple(sorted(failed))))

    def _check_slow(self, egress: Egress, now: float) -> None:
        counters = egress.counters
        if len(counters.latencies) < self.t.slow_min_samples or counters.successes % 10:
            return
        others = [e.counters.p50() for e in self.egresses
                  if e is not egress and len(e.counters.latencies) >= self.t.slow_min_samples]
        if not others:
            return
        mine, theirs = counters.p50(), percentile(others, 0.5)
        slow = mine > self.t.slow_factor * theirs and mine - theirs > self.t.slow_min_gap
        if slow and not egress.health.slow:
            self.emit(ProxySlow(egress.name, None, (f"median {mine:.4f}s over the last "
                                                     f"{len(counters.latencies)} requests",),
                                now, p50=mine, others_p50=theirs))
        egress.health.slow = slow
