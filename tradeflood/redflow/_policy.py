"""What happens to a cluster once its last source has left: evict, keep, or keep a while."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

from tradeflood.clock import Clock, LiveClock

__all__ = ["Clock", "EmptyPolicy", "Evict", "Grace", "Keep", "MonotonicClock"]

#: The default clock of a grace period: the system clock (its monotonic reading is used).
#: The name RedFlow has always exported for :class:`tradeflood.clock.LiveClock`.
MonotonicClock = LiveClock


class EmptyPolicy(ABC):
    """Decides when a cluster that lost its last source leaves the graph.

    A policy is consulted when a cluster empties; `deadline()` answers None to
    evict at once, `math.inf` to keep it, or a clock reading after which
    `expired()` lets `sweep()` evict it.

    >>> class EvictAfterThree(EmptyPolicy):
    ...     def __init__(self, clock): self.clock = clock
    ...     def deadline(self): return self.clock.monotonic() + 3
    ...     def expired(self, deadline): return self.clock.monotonic() >= deadline
    """

    __slots__ = ()

    @abstractmethod
    def deadline(self) -> float | None:
        """Return when a cluster emptied now may be evicted: None now, math.inf never."""

    def expired(self, deadline: float) -> bool:
        """Tell whether `deadline`, earlier returned by deadline(), has passed."""
        return False


class Evict(EmptyPolicy):
    """Default: an emptied cluster is evicted in the same operation that emptied it.

    >>> Evict().deadline() is None
    True
    """

    __slots__ = ()

    def deadline(self) -> None:
        return None

    def __repr__(self) -> str:
        return "Evict()"


class Keep(EmptyPolicy):
    """An emptied cluster stays (with its data and ctx) until `sweep(force=True)`.

    >>> Keep().deadline()
    inf
    """

    __slots__ = ()

    def deadline(self) -> float:
        return math.inf

    def __repr__(self) -> str:
        return "Keep()"


class Grace(EmptyPolicy):
    """An emptied cluster stays warm for `seconds`, so a consumer coming straight back finds it.

    It is evicted by the first `sweep()` or structural operation (add, remove,
    link, unlink) of its graph that runs once `seconds` have passed on `clock`
    (a :class:`tradeflood.clock.Clock`: its monotonic reading counts).

    >>> from tradeflood.clock import VirtualClock
    >>> clock = VirtualClock()
    >>> grace = Grace(30, clock=clock)
    >>> until = grace.deadline()
    >>> clock.advance(29.9); grace.expired(until)
    False
    >>> clock.advance(0.1); grace.expired(until)
    True
    """

    __slots__ = ("clock", "seconds")

    def __init__(self, seconds: float, clock: Clock | None = None) -> None:
        if not seconds >= 0:
            raise ValueError(f"Grace needs seconds >= 0, got {seconds!r}")
        self.seconds = float(seconds)
        self.clock: Clock = LiveClock() if clock is None else clock

    def deadline(self) -> float:
        return self.clock.monotonic() + self.seconds

    def expired(self, deadline: float) -> bool:
        return self.clock.monotonic() >= deadline

    def __repr__(self) -> str:
        return f"Grace({self.seconds!r})"
