"""Health of one proxy: in service, or quarantined until a probe succeeds; venues that block it.

A proxy that fails (connect or auth failure, or ``max_failures`` dropped
connections or timeouts in a row) is quarantined for a jittered exponential
backoff (``base * 2**n`` seconds, ``n`` the quarantines in a row, capped, times
a random factor in [0.5, 1]); when that has passed, a probe (a TCP connection
to the proxy) puts it back in service or quarantines it again for longer. A
venue that blocks the proxy is avoided, for that venue only, until its
``Retry-After`` or the same kind of backoff has passed; then one request tries.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["Backoff", "Health", "probe"]


@dataclass(frozen=True)
class Backoff:
    """Jittered exponential backoff: ``min(cap, base * 2**n) * uniform(0.5, 1)`` seconds."""

    base: float = 1.0
    cap: float = 60.0

    def delay(self, n: int, rng: random.Random) -> float:
        return float(min(self.cap, self.base * 2 ** max(0, n)) * rng.uniform(0.5, 1.0))


@dataclass
class Blocked:
    """One venue's refusal of one proxy: until when, and how many times in a row."""

    until: float = 0.0
    strikes: int = 0  # 429s in a row, before the proxy is taken as blocked
    times: int = 0  # blocks in a row, for the backoff


@dataclass
class Health:
    """What is known of one proxy's health; changed only by the scheme's diagnosis."""

    down: bool = False
    retry_at: float = 0.0  # when a quarantined proxy may be probed
    quarantines: int = 0  # in a row, for the backoff; reset by a successful request
    soft_failures: int = 0  # dropped connections and timeouts in a row
    probing: bool = False
    slow: bool = False
    blocked: dict[str, Blocked] = field(default_factory=dict)
    evidence: deque[str] = field(default_factory=lambda: deque(maxlen=8))

    def usable_for(self, venue: str, now: float) -> bool:
        """In service, and not blocked by ``venue`` (a block whose time has passed lets one try)."""
        if self.down:
            return False
        block = self.blocked.get(venue)
        return block is None or block.until <= now

    def blocked_by(self, now: float) -> tuple[str, ...]:
        return tuple(sorted(v for v, b in self.blocked.items() if b.until > now))

    def state(self, now: float) -> str:
        if self.down:
            return "down"
        return "slow" if self.slow else "up"


def proxy_address(url: str) -> tuple[str, int]:
    """The host and port a proxy URL points at (the scheme's default port if none)."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}.get(parts.scheme, 80)
    return parts.hostname or "", parts.port or default


async def probe(url: str, timeout: float) -> str | None:
    """Open and close a TCP connection to the proxy; None if it accepted, else why not."""
    host, port = proxy_address(url)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError) as exc:
        return f"probe: {exc!r}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None
