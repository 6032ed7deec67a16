"""Rate limits as the venues enforce them, per client IP.

:class:`RollingLimit` is Bitget's rule: at most N requests per endpoint per IP
in any rolling one-second window. :class:`WeightBudget` is Binance's rule:
request weight summed per IP over fixed clock-minute windows, 429 once the
budget is spent, and an automatic IP ban (HTTP 418) for clients that keep
going after repeated 429s, growing for repeat offenders.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Admission", "RollingLimit", "WeightBudget"]


@dataclass
class RollingLimit:
    """At most ``per_window`` requests per key (IP and endpoint) in ``window_s`` seconds."""

    per_window: int = 20
    window_s: float = 1.0
    _seen: dict[tuple[str, str], deque[float]] = field(
        default_factory=lambda: defaultdict(deque), repr=False
    )

    def admit(self, ip: str, endpoint: str, now: float) -> bool:
        """Record and admit the request, or refuse it (a refused request is not recorded)."""
        times = self._seen[(ip, endpoint)]
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.per_window:
            return False
        times.append(now)
        return True


@dataclass(frozen=True)
class Admission:
    """The verdict on one weighted request: what to answer and the weight now used."""

    verdict: Literal["ok", "429", "418"]
    used: int
    retry_after: int = 0
    banned_until: float = 0.0


@dataclass
class WeightBudget:
    """Request weight per IP per fixed window, with automatic bans after repeated 429s.

    A client refused ``ban_after`` times within ``strike_window_s`` seconds is
    banned for ``ban_seconds``, doubled on each further ban up to
    ``max_ban_seconds`` (Binance: "from 2 minutes to 3 days").
    """

    limit: int = 6000
    window_s: int = 60
    ban_after: int = 3
    strike_window_s: float = 60.0
    ban_seconds: float = 120.0
    max_ban_seconds: float = 3 * 86_400.0
    _used: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    _strikes: dict[str, deque[float]] = field(
        default_factory=lambda: defaultdict(deque), repr=False
    )
    _bans: dict[str, float] = field(default_factory=dict, repr=False)
    _offences: dict[str, int] = field(default_factory=lambda: defaultdict(int), repr=False)

    def used(self, ip: str, now: float) -> int:
        """Weight used by ``ip`` in the current window."""
        window, used = self._used.get(ip, (-1, 0))
        return used if window == self._window(now) else 0

    def ban(self, ip: str, now: float, seconds: float | None = None) -> float:
        """Ban ``ip`` from ``now``; returns the time the ban ends."""
        if seconds is None:
            seconds = min(self.max_ban_seconds, self.ban_seconds * 2 ** self._offences[ip])
            self._offences[ip] += 1
        self._bans[ip] = now + seconds
        return self._bans[ip]

    def unban(self, ip: str) -> None:
        self._bans.pop(ip, None)

    def charge(self, ip: str, weight: int, now: float) -> Admission:
        """Admit a request of ``weight`` from ``ip`` or refuse it with 429 or 418."""
        until = self._bans.get(ip, 0.0)
        if until > now:
            return Admission("418", self.used(ip, now), math.ceil(until - now), until)
        used = self.used(ip, now)
        if used + weight > self.limit:
            strikes = self._strikes[ip]
            strikes.append(now)
            while strikes and strikes[0] <= now - self.strike_window_s:
                strikes.popleft()
            if len(strikes) > self.ban_after:
                strikes.clear()
                until = self.ban(ip, now)
                return Admission("418", used, math.ceil(until - now), until)
            next_window = (self._window(now) + 1) * self.window_s
            return Admission("429", used, max(1, math.ceil(next_window - now)))
        self._used[ip] = (self._window(now), used + weight)
        return Admission("ok", used + weight)

    def _window(self, now: float) -> int:
        return int(now // self.window_s)
