"""Per-key request rates: a token bucket per API key (or client address without keys)."""

from __future__ import annotations

import time

from ._settings import ServerSettings

__all__ = ["KeyLimits"]


class KeyLimits:
    """``take(key)`` spends one request; returns the seconds to wait when the bucket is empty."""

    def __init__(self, settings: ServerSettings) -> None:
        self.rate = float(settings.requests_per_second)
        self.burst = float(settings.burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float | None:
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:  # forget full buckets of keys gone quiet
            self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.burst}
        return None
