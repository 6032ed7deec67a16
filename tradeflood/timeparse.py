"""Parsing the times users give: ISO strings, integer milliseconds, aware datetimes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from .errors import InvalidTimeError

__all__ = ["RELATIVE", "TimeLike", "format_ms", "is_relative", "parse_time"]

TimeLike = str | int | datetime | date

RELATIVE = re.compile(r"^-(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Integer times below this are taken for seconds by mistake (it is 1973 in milliseconds).
_SMALLEST_MS = 100_000_000_000
# The last millisecond of year 9999: the last time a datetime (and so every model) can hold.
_LARGEST_MS = 253_402_300_799_999


def is_relative(value: object) -> bool:
    """Whether ``value`` is a relative time such as ``-7d`` (it needs a 'now' to mean anything)."""
    return isinstance(value, str) and RELATIVE.match(value.strip()) is not None


def format_ms(ms: int | None) -> str:
    """UTC milliseconds as ISO-8601 for messages (``None`` as ``'none'``)."""
    if ms is None:
        return "none"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: TimeLike, *, name: str = "time", now_ms: int | None = None) -> int:
    """Parse a user-given time into integer UTC milliseconds.

    Accepts integer milliseconds, aware datetimes, ``date`` objects and date-only
    strings (UTC midnight), ISO-8601 strings with a ``Z`` or an offset, and
    relative forms such as ``-7d`` (needs ``now_ms``). Naive datetimes and
    strings without an offset are refused: their meaning depends on the machine.
    """
    if isinstance(value, bool):
        raise InvalidTimeError(f"{name}={value!r}: a time cannot be a bool")
    if isinstance(value, int):
        if value < _SMALLEST_MS:
            raise InvalidTimeError(
                f"{name}={value} looks like seconds, not milliseconds; multiply by 1000"
            )
        if value > _LARGEST_MS:
            raise InvalidTimeError(f"{name}={value} is after the year 9999; give UTC milliseconds")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidTimeError(
                f"{name}={value.isoformat()} is a naive datetime; give it a timezone, "
                "e.g. datetime(..., tzinfo=timezone.utc)"
            )
        return int(value.timestamp() * 1000)
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000)
    if not isinstance(value, str):
        raise InvalidTimeError(
            f"{name}={value!r}: give an ISO-8601 string, integer milliseconds or an aware datetime"
        )
    text = value.strip()
    rel = RELATIVE.match(text)
    if rel:
        if now_ms is None:
            raise InvalidTimeError(f"{name}={value!r}: a relative time needs a reference 'now'")
        back_ms = int(rel[1]) * _UNITS[rel[2]] * 1000
        if back_ms > now_ms:
            raise InvalidTimeError(f"{name}={value!r} reaches back before 1970; give a shorter span")
        return now_ms - back_ms
    if text.isdigit():
        return parse_time(int(text), name=name)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidTimeError(
            f"{name}={value!r} is not a time; use ISO-8601 like '2024-01-01T00:00:00Z', "
            "'2024-01-01', integer milliseconds, or a relative time like '-7d'"
        ) from None
    if parsed.tzinfo is None:
        if len(text) == 10:  # a bare date: UTC midnight is its only sensible reading
            return int(parsed.replace(tzinfo=UTC).timestamp() * 1000)
        raise InvalidTimeError(
            f"{name}={value!r} has no timezone; add 'Z' for UTC or an offset like '+02:00'"
        )
    ms = int(parsed.timestamp() * 1000)
    if ms > _LARGEST_MS:  # an offset can push the last day of 9999 past it
        raise InvalidTimeError(f"{name}={value!r} is after the year 9999 in UTC")
    return ms
