"""Fault injection: seeded, reproducible misbehaviour of a simulated venue.

A venue asks its :class:`Faults` for a verdict on every request. Explicit
schedules are served first (``schedule("/api/v3/klines", "error_5xx", 2)``:
the next two matching requests fail), then the probabilities are drawn from a
private seeded generator, so a run with the same seed and the same request
order fails in the same places. :class:`Gaps` removes candles from time spans,
like a venue whose history has holes.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["FaultKind", "Faults", "Gaps"]


class FaultKind(StrEnum):
    """What can go wrong with one request."""

    ERROR_5XX = "error_5xx"  # 502 or 503 with an HTML body, like a failing edge proxy
    RATE_429 = "rate_429"  # the venue's own rate-limit answer, though the limit is not reached
    TIMEOUT = "timeout"  # the answer is held for ``timeout_seconds``, or never sent
    MALFORMED = "malformed"  # a 200 whose JSON body is cut in the middle
    NON_JSON = "non_json"  # a 200 whose body is an HTML page
    SHORT_PAGE = "short_page"  # fewer rows than asked although more exist
    DROP = "drop"  # the connection is closed before any answer (the client sees no response)
    RESET = "reset"  # the connection is closed after the headers and half of the body


@dataclass
class _Scheduled:
    path_prefix: str
    kind: FaultKind
    remaining: int


@dataclass
class Faults:
    """Probabilities and schedules of faults, plus a latency range, drawn from ``seed``.

    ``latency`` is a ``(low, high)`` range of seconds added to every answer (after the
    venue counted the request); ``request_latency`` one that every request travels before
    the venue sees and counts it (the other half of a network round trip).
    ``timeout_seconds`` is how long a ``timeout`` fault holds the answer; ``None``
    means the answer never comes (the client's own timeout fires).
    """

    error_5xx: float = 0.0
    rate_429: float = 0.0
    timeout: float = 0.0
    malformed: float = 0.0
    non_json: float = 0.0
    short_page: float = 0.0
    drop: float = 0.0
    reset: float = 0.0
    latency: tuple[float, float] = (0.0, 0.0)
    request_latency: tuple[float, float] = (0.0, 0.0)
    timeout_seconds: float | None = None
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _queue: deque[_Scheduled] = field(init=False, repr=False, default_factory=deque)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def schedule(self, path_prefix: str, kind: FaultKind | str, count: int = 1) -> None:
        """Make the next ``count`` requests whose path starts with ``path_prefix`` fail."""
        self._queue.append(_Scheduled(path_prefix, FaultKind(kind), count))

    def draw(self, path: str) -> FaultKind | None:
        """The fault for a request to ``path``, or ``None`` for a normal answer."""
        for item in self._queue:
            if path.startswith(item.path_prefix):
                item.remaining -= 1
                if item.remaining <= 0:
                    self._queue.remove(item)
                return item.kind
        roll = self._rng.random()
        for kind in FaultKind:
            chance = float(getattr(self, kind.value))
            if roll < chance:
                return kind
            roll -= chance
        return None

    def delay(self) -> float:
        """Seconds of latency for one answer."""
        low, high = self.latency
        return low if high <= low else self._rng.uniform(low, high)

    def request_delay(self) -> float:
        """Seconds one request travels before the venue counts it."""
        low, high = self.request_latency
        return low if high <= low else self._rng.uniform(low, high)

    def pick(self, *options: int) -> int:
        """A seeded choice among ``options`` (e.g. 502 or 503)."""
        return self._rng.choice(options)


@dataclass
class Gaps:
    """Time spans where a venue has no candles, per symbol (unified or venue id)."""

    _spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def add(self, symbol: str, start_ms: int, end_ms: int) -> None:
        """Drop every candle of ``symbol`` opening in ``[start_ms, end_ms)``."""
        self._spans.setdefault(symbol, []).append((start_ms, end_ms))

    def clear(self) -> None:
        self._spans.clear()

    def hides(self, names: tuple[str, ...], open_ms: int) -> bool:
        """Whether a candle of the instrument known by ``names`` opening at ``open_ms`` is gone."""
        for name in names:
            for start, end in self._spans.get(name, ()):
                if start <= open_ms < end:
                    return True
        return False
