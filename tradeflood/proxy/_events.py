"""What a proxy scheme tells its ``on_event`` callback: typed diagnoses with their evidence.

::

    def on_event(event: ProxyEvent) -> None:
        if isinstance(event, ProxyDown):
            alert(f"{event.proxy} is down: {event.evidence}")

    ProxyScheme(pools=..., on_event=on_event)     # or on_event=print: every event reads as one line

``evidence`` holds the observations the diagnosis rests on, newest last
(``"connect: ConnectError('[Errno 111] Connection refused') (example)"``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ProxyBlocked",
    "ProxyDown",
    "ProxyEvent",
    "ProxySlow",
    "ProxyUnblocked",
    "ProxyUp",
    "VenueDown",
    "VenueUp",
]


@dataclass(frozen=True, slots=True)
class ProxyEvent:
    """A change in what is known about a proxy or a venue, at ``at`` (clock seconds)."""

    proxy: str | None
    venue: str | None
    evidence: tuple[str, ...]
    at: float

    def describe(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        shown = "; ".join(self.evidence[-3:])
        return f"[tradeflood.proxy] {self.describe()}" + (f" (evidence: {shown})" if shown else "")


@dataclass(frozen=True, slots=True)
class ProxyDown(ProxyEvent):
    """The proxy itself fails (connect, auth or repeated dropped connections): quarantined
    until a probe succeeds; its requests go through the others."""

    retry_in: float = 0.0

    def describe(self) -> str:
        return f"proxy {self.proxy} is down; quarantined, next probe in {self.retry_in:.1f}s"


@dataclass(frozen=True, slots=True)
class ProxyUp(ProxyEvent):
    """A quarantined proxy answered a probe and is back in service."""

    def describe(self) -> str:
        return f"proxy {self.proxy} is back in service"


@dataclass(frozen=True, slots=True)
class ProxyBlocked(ProxyEvent):
    """One venue refuses one proxy (HTTP 403/418, repeated 429, a ban body) while the
    proxy itself works: that venue's requests avoid it for ``retry_in`` seconds."""

    status: int | None = None
    retry_in: float = 0.0

    def describe(self) -> str:
        return (f"proxy {self.proxy} is blocked by {self.venue} (HTTP {self.status}); "
                f"routed around for {self.retry_in:.1f}s")


@dataclass(frozen=True, slots=True)
class ProxyUnblocked(ProxyEvent):
    """A venue served a proxy it had blocked."""

    def describe(self) -> str:
        return f"proxy {self.proxy} is served by {self.venue} again"


@dataclass(frozen=True, slots=True)
class VenueDown(ProxyEvent):
    """Every proxy that tried fails for one venue while they work: the venue is down,
    not the proxies (none is quarantined for it)."""

    proxies: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"venue {self.venue} is down: it failed through {', '.join(self.proxies)}"


@dataclass(frozen=True, slots=True)
class VenueUp(ProxyEvent):
    """A venue diagnosed down answered again."""

    def describe(self) -> str:
        return f"venue {self.venue} answers again (through {self.proxy})"


@dataclass(frozen=True, slots=True)
class ProxySlow(ProxyEvent):
    """A proxy's median latency is an outlier against the others' (``factor`` times theirs)."""

    p50: float = 0.0
    others_p50: float = 0.0

    def describe(self) -> str:
        return (f"proxy {self.proxy} is slow: median {self.p50 * 1000:.1f} ms against "
                f"{self.others_p50 * 1000:.1f} ms through the others")
