"""A one-line progress display for long fetches: requests done of total, rate and ETA.

Shown only on a terminal; when output is piped it stays quiet.
"""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["ProgressLine"]


class ProgressLine:
    """Call with ``(done, total)`` as requests complete; redraws at most ten times a second."""

    def __init__(self, stream: TextIO, *, label: str = "requests") -> None:
        self.stream = stream
        self.label = label
        self.enabled = stream.isatty()
        self._started = time.monotonic()
        self._drawn = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._drawn < 0.1:
            return
        self._drawn = now
        elapsed = max(now - self._started, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else 0.0
        width = 30
        filled = int(width * done / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} {self.label}  {rate:.1f}/s  ETA {eta:4.0f}s ")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
