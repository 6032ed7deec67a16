"""Query: what a caller asks for, validated before any request is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import InvalidTimeError, QueryError
from .timeparse import TimeLike, parse_time

if TYPE_CHECKING:
    from tradeflood.models import Model

__all__ = ["Query"]


class Query:
    """A model plus its parameters: exchange, symbol, interval, time range, depth, limit.

    The exchange and model are checked at once (a :class:`QueryError` names the
    valid choices); the interval, depth and other venue-specific parameters are
    checked by the venue's binding when the query is planned, still before any
    request. The symbol is checked against the venue's instrument list, which is
    the first request of a plan. Times are ISO-8601 strings with a timezone,
    integer UTC milliseconds, aware datetimes, or relative forms such as ``-7d``
    (resolved against ``now_ms``, by default the wall clock). ``start`` is
    inclusive and ``end`` exclusive.

    >>> from tradeflood.models import Candle
    >>> q = Query(Candle, exchange="example", symbol="BTC/USDT", interval="1h",
    ...           start="2024-01-01T00:00:00Z", end="2024-01-02T00:00:00Z")
    >>> q.end - q.start
    86400000
    """

    __slots__ = ("depth", "end", "exchange", "interval", "limit", "live", "model", "options", "start",
                 "symbol")

    def __init__(
        self,
        model: type[Model],
        *,
        exchange: str,
        symbol: str | None = None,
        interval: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        depth: int | None = None,
        limit: int | None = None,
        now_ms: int | None = None,
        live: bool = False,
        **options: Any,
    ) -> None:
        from . import registry

        # A live query (a stream) is checked by the venue's stream binding instead.
        binding = registry.lookup_stream(model, exchange) if live else registry.lookup(model, exchange)
        self.model = model
        self.exchange: str = binding.connector.name
        if symbol is not None and (not isinstance(symbol, str) or not symbol.strip()):
            raise QueryError(f"symbol={symbol!r}: give a unified symbol such as 'BTC/USDT'")
        self.symbol = symbol.strip().upper() if symbol else None
        self.interval = interval
        if now_ms is None:
            from .clock import LiveClock

            now_ms = LiveClock().time_ms()
        self.start = None if start is None else parse_time(start, name="start", now_ms=now_ms)
        self.end = None if end is None else parse_time(end, name="end", now_ms=now_ms)
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise InvalidTimeError(
                f"start ({start!r}) must be before end ({end!r}); the range would be empty"
            )
        for name, value in (("depth", depth), ("limit", limit)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise QueryError(f"{name}={value!r}: give a positive integer")
        self.depth = depth
        self.limit = limit
        self.options = options
        self.live = live
        _check_arguments(self, binding, start=start, end=end, interval=interval, now_ms=now_ms)
        binding.check(self)

    def describe(self) -> str:
        """A one-line human description, for plans and errors."""
        parts = [f"{self.model.__name__} {self.exchange}"]
        if self.symbol:
            parts.append(self.symbol)
        if self.interval:
            parts.append(self.interval)
        if self.start is not None or self.end is not None:
            from tradeflood.models import ms_to_datetime

            a = ms_to_datetime(self.start).isoformat() if self.start is not None else "…"
            b = ms_to_datetime(self.end).isoformat() if self.end is not None else "now"
            parts.append(f"[{a} .. {b})")
        if self.depth:
            parts.append(f"depth={self.depth}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"Query({self.describe()})"


#: Options every stream takes besides its binding's own (``poll`` turns it into polling).
_STREAM_OPTIONS = frozenset({"poll"})


def _check_arguments(query: Query, binding: Any, *, start: Any, end: Any, interval: Any,
                     now_ms: int) -> None:
    """Refuse what the query's binding would silently ignore: unknown keyword arguments, a
    time range or interval given to data that has none, a range that has not begun."""
    what = f"{query.model.__name__} on {query.exchange}"
    allowed = binding.options | (_STREAM_OPTIONS if query.live or "poll" in query.options else frozenset())
    unknown = sorted(set(query.options) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise QueryError(f"unknown argument{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for "
                         f"{what}; the arguments beyond exchange, symbol, interval, start, end, depth "
                         f"and limit it takes: {takes}")
    history = bool(getattr(binding, "ranged", True))  # a binding from elsewhere: not judged
    if query.live or "poll" in query.options or history:
        if history and query.start is not None and query.end is None and query.start > now_ms:
            raise InvalidTimeError(f"start={start!r} is in the future: there is nothing to fetch yet")
        return
    if start is not None or end is not None:
        from . import registry

        ranged = sorted(v for (m, v), b in registry.bindings_for(query.model).items()
                        if getattr(b, "ranged", False))
        where = (f"venues serving {query.model.__name__} over a time range: {', '.join(ranged)}" if ranged
                 else "no venue serves it over a time range yet")
        raise QueryError(f"{what} is the venue's current or recent data and takes no start or end "
                         f"(the venue publishes no history of it by time); {where}")
    if interval is not None:
        raise QueryError(f"{what} takes no interval (candles do)")
