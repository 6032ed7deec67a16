"""RateLimits: the sliding windows of one egress, by (venue, rate-limit group), shared in a process.

A venue counts requests per client IP, so every session of a process that
leaves through the same egress must draw on the same windows, or two sessions
at the limit together send twice it. :meth:`RateLimits.for_egress` hands out one
set of windows per (egress, clock):

* the egress is ``"direct"`` (the host's own address), ``"local:<address>"`` for a
  transport bound to a local address, ``"proxy:<url>"`` for a proxy, or the
  transport object itself for any other transport (an in-process simulator, a
  mock: shared only by sessions given that same object);
* the clock is the live clock (every :class:`~tradeflood.clock.LiveClock` is the
  same time) or the clock object itself: sessions on a ``ScaledClock`` or a
  ``VirtualClock`` never share windows with sessions on another clock.

Shared windows are held weakly: they live while a session or proxy uses them,
and after the last one is closed (:meth:`RateLimits.linger`) only until their
weight has expired. Across processes, ``tradeflood.bus.SharedRateLimits``
shares them through Redis.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from .clock import Clock, LiveClock
from .ratelimit import SlidingWindow

if TYPE_CHECKING:
    from .connector import Connector
    from .turns import Turn

__all__ = ["RateLimits", "egress_of"]


class RateLimits:
    """The sliding windows of one client identity (an egress), made on first use."""

    _shared: weakref.WeakValueDictionary[tuple[Hashable, Hashable], RateLimits] = (
        weakref.WeakValueDictionary())
    _lingering: set[RateLimits] = set()
    _lock = threading.Lock()

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str], SlidingWindow] = {}
        self._apis: dict[str, Connector] = {}  # the connector each venue's windows were made for
        self._anchor: Any = None  # what a shared set's key names by identity, kept alive with it

    @classmethod
    def for_egress(cls, egress: Hashable, clock: Clock) -> RateLimits:
        """The windows every session of this process sending through ``egress`` on ``clock``
        shares (see the module docstring), made on first use."""
        clock_key: Hashable = "live" if type(clock) is LiveClock else _Identity(clock)
        egress_key = egress if isinstance(egress, str) else _Identity(egress)
        key = (egress_key, clock_key)
        with cls._lock:
            cls._lingering = {limits for limits in cls._lingering if not limits.idle()}
            limits = cls._shared.get(key)
            if limits is None:
                limits = cls(clock)
                limits._anchor = (egress, clock)
                cls._shared[key] = limits
            return limits

    def linger(self) -> None:
        """Keep these windows alive, when nothing else uses them, until their weight has expired
        (a session that closes calls it, so that the next one still sees what it sent)."""
        if not self.idle():
            with RateLimits._lock:
                RateLimits._lingering.add(self)

    def idle(self) -> bool:
        """Whether no window holds weight or has a request waiting."""
        return all(w.in_window == 0 and not w.waiting for w in list(self._windows.values()))

    def windows(self, turn: Turn, api: Connector | None = None) -> list[SlidingWindow]:
        """The windows ``turn`` is charged to under its venue's connector ``api`` (by default
        the one this venue's windows were made for, else the registered venue's)."""
        if api is None:
            api = self._apis.get(turn.venue) or _registered(turn.venue)
            if api is None:
                return []
        self._apis.setdefault(turn.venue, api)
        out = []
        for group in api.groups(turn):
            key = (turn.venue, group)
            window = self._windows.get(key)
            if window is None:  # setdefault: two threads making the same window keep one
                window = self._windows.setdefault(
                    key, SlidingWindow(api.limits[group], self._clock, name=f"{key[0]}/{key[1]}",
                                       adaptive=True))
            out.append(window)
        return out

    def get(self, venue: str, group: str) -> SlidingWindow | None:
        return self._windows.get((venue, group))

    def learned(self) -> dict[tuple[str, str], float]:
        """The rates (weight per second) learned below the declared ones, by (venue, group):
        what the venues have shown this identity to really allow (:mod:`tradeflood.adaptive`)."""
        return {key: w.rate for key, w in self._windows.items()
                if w.adaptive is not None and w.adaptive.learned}


def egress_of(transport: Any) -> Hashable:
    """The egress requests sent through ``transport`` leave by (see the module docstring)."""
    if transport is None:
        return "direct"
    pool = getattr(transport, "_pool", None)
    if type(transport).__module__.startswith("httpx") and pool is not None:
        proxy = getattr(pool, "_proxy_url", None)
        if proxy is not None:
            return f"proxy:{_url_text(proxy)}"
        local = getattr(pool, "_local_address", None)
        return f"local:{local}" if local else "direct"
    egress: Hashable = transport
    return egress


def _url_text(url: Any) -> str:
    scheme, host, port = (getattr(url, name, None) for name in ("scheme", "host", "port"))
    if isinstance(scheme, bytes) and isinstance(host, bytes):
        return f"{scheme.decode()}://{host.decode()}:{port}"
    return str(url)


class _Identity:
    """A key that names an object by identity (the object stays alive with the shared windows)."""

    __slots__ = ("_id",)

    def __init__(self, obj: object) -> None:
        self._id = id(obj)

    def __hash__(self) -> int:
        return self._id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other._id == self._id


def _forget_after_fork() -> None:
    # A forked child's windows start empty: the parent's threads, loops and locks are not its own.
    RateLimits._shared = weakref.WeakValueDictionary()
    RateLimits._lingering = set()
    RateLimits._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _registered(venue: str) -> Connector | None:
    from . import registry  # the registry loads the built-in venues: only when asked for one

    cls = registry.connector_class(venue)
    return None if cls is None else cls()
