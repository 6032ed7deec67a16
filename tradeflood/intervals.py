"""Unified candle intervals and the arithmetic of their grids.

Intervals are ``1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M``. Every interval but
``1M`` has a fixed length; months are calendar months in UTC. Weekly bars open
on Monday 00:00 UTC, as on the built-in venues.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import InvalidIntervalError

__all__ = ["INTERVALS", "bar_open", "interval_end", "interval_ms", "validate_interval"]

_MINUTE = 60_000
_MONDAY = 4 * 86_400_000  # 1970-01-01 was a Thursday; weekly bars open on Mondays
INTERVALS: dict[str, int] = {
    "1m": _MINUTE,
    "3m": 3 * _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": 60 * _MINUTE,
    "2h": 120 * _MINUTE,
    "4h": 240 * _MINUTE,
    "6h": 360 * _MINUTE,
    "12h": 720 * _MINUTE,
    "1d": 1440 * _MINUTE,
    "1w": 7 * 1440 * _MINUTE,
    "1M": 31 * 1440 * _MINUTE,  # an upper bound; month edges are computed on the calendar
}


def validate_interval(interval: object, supported: tuple[str, ...] | None = None,
                      exchange: str | None = None) -> str:
    """Return ``interval`` if it is a unified interval (and supported), else raise."""
    valid = supported if supported is not None else tuple(INTERVALS)
    if not isinstance(interval, str) or interval not in valid:
        raise InvalidIntervalError(interval, valid, exchange)
    return interval


def interval_ms(interval: str) -> int:
    """Length of a fixed interval in milliseconds (``1M`` gives 31 days, an upper bound)."""
    try:
        return INTERVALS[interval]
    except KeyError:
        raise InvalidIntervalError(interval, tuple(INTERVALS)) from None


def interval_end(open_time: int, interval: str) -> int:
    """The exclusive end of the bar that opens at ``open_time``."""
    if interval != "1M":
        return open_time + interval_ms(interval)
    start = datetime.fromtimestamp(open_time / 1000, tz=UTC)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def bar_open(t: int, interval: str) -> int:
    """The open time of the bar of ``interval`` that contains ``t`` (UTC ms)."""
    if interval == "1M":
        d = datetime.fromtimestamp(t / 1000, tz=UTC)
        return int(datetime(d.year, d.month, 1, tzinfo=UTC).timestamp() * 1000)
    step = interval_ms(interval)
    offset = _MONDAY if interval == "1w" else 0
    return (t - offset) // step * step + offset
