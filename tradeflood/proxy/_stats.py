"""Per-proxy counters: in flight, requests, successes, failures by kind, latency percentiles.

``scheme.stats()`` returns one :class:`ProxyStats` snapshot per proxy (plain
data, ``as_dict()`` for JSON); ``scheme.stats_table()`` prints them::

    proxy                 state        in flight  requests  ok    failures          p50 ms  p90 ms  p99 ms
    http://127.0.0.2:8001 up           0          120       118   dropped=1 venue=1  1.9     3.2     7.7
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProxyCounters", "ProxyStats", "format_stats", "percentile"]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values`` by nearest rank; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[rank]


@dataclass
class ProxyCounters:
    """The live counters of one proxy (mutated as requests go through it)."""

    in_flight: int = 0
    requests: int = 0
    successes: int = 0
    #: By kind: the proxy could not be reached or refused us (``connect``, ``auth``), a connection
    #: broke (``dropped``), no answer in time (``timeout``), the venue refused this proxy
    #: (``blocked``), the venue failed (``venue``).
    failures: Counter[str] = field(default_factory=Counter)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=2048))

    def p50(self) -> float:
        return percentile(list(self.latencies), 0.5)


@dataclass(frozen=True)
class ProxyStats:
    """A snapshot of one proxy's counters and state; latencies in seconds."""

    proxy: str
    pool: str
    state: str
    in_flight: int
    requests: int
    successes: int
    failures: dict[str, int]
    p50: float
    p90: float
    p99: float
    blocked_by: tuple[str, ...] = ()

    @classmethod
    def of(cls, proxy: str, pool: str, state: str, counters: ProxyCounters,
           blocked_by: tuple[str, ...] = ()) -> ProxyStats:
        lat = list(counters.latencies)
        return cls(proxy, pool, state, counters.in_flight, counters.requests, counters.successes,
                   dict(counters.failures), percentile(lat, 0.5), percentile(lat, 0.9),
                   percentile(lat, 0.99), blocked_by)

    def as_dict(self) -> dict[str, Any]:
        return {
            "proxy": self.proxy, "pool": self.pool, "state": self.state, "in_flight": self.in_flight,
            "requests": self.requests, "successes": self.successes, "failures": self.failures,
            "latency_ms": {"p50": round(self.p50 * 1000, 3), "p90": round(self.p90 * 1000, 3),
                           "p99": round(self.p99 * 1000, 3)},
            "blocked_by": list(self.blocked_by),
        }


def format_stats(stats: list[ProxyStats]) -> str:
    """A fixed-width table of proxy stats, one line per proxy."""
    head = ("proxy", "pool", "state", "in flight", "requests", "ok", "failures", "p50 ms", "p90 ms", "p99 ms")
    rows = [head]
    for s in stats:
        failures = " ".join(f"{k}={v}" for k, v in sorted(s.failures.items()) if v) or "-"
        state = s.state + (f" (blocked by {','.join(s.blocked_by)})" if s.blocked_by else "")
        rows.append((s.proxy, s.pool, state, str(s.in_flight), str(s.requests), str(s.successes), failures,
                     f"{s.p50 * 1000:.1f}", f"{s.p90 * 1000:.1f}", f"{s.p99 * 1000:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
