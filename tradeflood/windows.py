"""RateLimits: the sliding windows of one client identity, by (venue, rate-limit group)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .clock import Clock
from .ratelimit import SlidingWindow

if TYPE_CHECKING:
    from .connector import Connector
    from .turns import Turn

__all__ = ["RateLimits"]


class RateLimits:
    """The sliding windows of one client identity (the session, or one proxy), made on first use."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str], SlidingWindow] = {}
        self._apis: dict[str, Connector] = {}  # the connector each venue's windows were made for

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
            if window is None:
                window = SlidingWindow(api.limits[group], self._clock, name=f"{key[0]}/{key[1]}",
                                       adaptive=True)
                self._windows[key] = window
            out.append(window)
        return out

    def get(self, venue: str, group: str) -> SlidingWindow | None:
        return self._windows.get((venue, group))

    def learned(self) -> dict[tuple[str, str], float]:
        """The rates (weight per second) learned below the declared ones, by (venue, group):
        what the venues have shown this identity to really allow (:mod:`tradeflood.adaptive`)."""
        return {key: w.rate for key, w in self._windows.items()
                if w.adaptive is not None and w.adaptive.learned}


def _registered(venue: str) -> Connector | None:
    from . import registry  # the registry loads the built-in venues: only when asked for one

    cls = registry.connector_class(venue)
    return None if cls is None else cls()
