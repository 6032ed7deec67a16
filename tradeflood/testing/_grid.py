"""Candle time grids: where a venue's candles of one interval open.

A :class:`Grid` turns an interval spelling of a venue into open times. Fixed
intervals are a length plus an alignment offset (Binance weeks open on Monday,
Bitget's non-UTC day candles open at midnight UTC+8); months are calendar months.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["Grid"]

SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
# 1970-01-01 was a Thursday: Monday-aligned weeks start four days after the epoch.
_MONDAY = 4 * DAY


@dataclass(frozen=True)
class Grid:
    """The open times of one candle interval.

    ``length_ms`` is the candle length for fixed intervals (0 for months);
    ``offset_ms`` shifts the alignment (open times satisfy
    ``(t - offset_ms) % length_ms == 0``); ``months`` is the number of calendar
    months per candle, whose boundaries are taken at ``tz_hours`` east of UTC.
    """

    length_ms: int = 0
    offset_ms: int = 0
    months: int = 0
    tz_hours: int = 0

    @classmethod
    def fixed(cls, length_ms: int, *, tz_hours: int = 0, weekly: bool = False) -> Grid:
        """A fixed-length grid; ``weekly`` aligns to Mondays, ``tz_hours`` to local midnight."""
        offset = (_MONDAY if weekly else 0) - tz_hours * HOUR
        return cls(length_ms=length_ms, offset_ms=offset % length_ms)

    @classmethod
    def monthly(cls, *, tz_hours: int = 0) -> Grid:
        """Calendar months, starting at local midnight ``tz_hours`` east of UTC."""
        return cls(months=1, tz_hours=tz_hours)

    @property
    def nominal_ms(self) -> int:
        """A typical candle length (31 days for months), for look-back windows and sizing."""
        return self.length_ms or 31 * DAY

    def floor(self, t_ms: int) -> int:
        """Open time of the candle that contains ``t_ms``."""
        if self.length_ms:
            return t_ms - (t_ms - self.offset_ms) % self.length_ms
        local = _local(t_ms, self.tz_hours)
        return _to_ms(datetime(local.year, local.month, 1, tzinfo=UTC), self.tz_hours)

    def ceil(self, t_ms: int) -> int:
        """The first open time at or after ``t_ms``."""
        start = self.floor(t_ms)
        return start if start == t_ms else self.next(start)

    def next(self, open_ms: int) -> int:
        """Open time of the candle after the one opening at ``open_ms``."""
        if self.length_ms:
            return open_ms + self.length_ms
        local = _local(open_ms, self.tz_hours)
        year, month = divmod(local.month, 12)
        return _to_ms(datetime(local.year + year, month + 1, 1, tzinfo=UTC), self.tz_hours)

    def prev(self, open_ms: int) -> int:
        """Open time of the candle before the one opening at ``open_ms``."""
        if self.length_ms:
            return open_ms - self.length_ms
        return self.floor(open_ms - 1)

    def forward(self, first_ms: int, last_ms: int) -> Iterator[int]:
        """Open times from ``ceil(first_ms)`` up to ``last_ms`` inclusive, oldest first."""
        t = self.ceil(first_ms)
        while t <= last_ms:
            yield t
            t = self.next(t)

    def backward(self, last_ms: int, first_ms: int) -> Iterator[int]:
        """Open times from ``floor(last_ms)`` down to ``first_ms`` inclusive, newest first."""
        t = self.floor(last_ms)
        while t >= first_ms:
            yield t
            t = self.prev(t)


def _local(t_ms: int, tz_hours: int) -> datetime:
    return datetime.fromtimestamp(t_ms / 1000, tz=UTC) + timedelta(hours=tz_hours)


def _to_ms(local: datetime, tz_hours: int) -> int:
    return int((local - timedelta(hours=tz_hours)).timestamp() * 1000)
