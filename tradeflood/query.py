"""Query: what a caller asks for, validated before any request is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .errors import InvalidTimeError, QueryError
from .timeparse import TimeLike, format_ms, is_relative, parse_time

if TYPE_CHECKING:
    from tradeflood.models import Model

__all__ = ["Query", "QueryChecker"]


class QueryChecker(Protocol):
    """What :meth:`Query.resolve` needs of the binding that will answer a query (a fetch or
    stream binding class or instance)."""

    @property
    def connector(self) -> Any:
        """The venue's connector (class or instance); its ``name`` is the venue's canonical name."""

    @property
    def options(self) -> frozenset[str]:
        """The keyword arguments beyond the standard ones that the binding reads."""

    def check(self, query: Query) -> None: ...


class Query:
    """A model plus its parameters: exchange, symbol, interval, time range, depth, limit.

    Building a query is plain data work: it checks what needs nothing else (the
    symbol's form, positive depth and limit, absolute times, a non-empty range)
    and consults neither the venue registry nor a clock. What depends on the
    venue (the exchange and model exist, the interval, depth and other
    venue-specific arguments) and relative times such as ``-7d`` are checked and
    resolved by :meth:`resolve`, which the session calls when it builds
    (``Session.query``) or plans the query, still before any request. The symbol
    is checked against the venue's instrument list, the first request of a plan.
    Times are ISO-8601 strings with a timezone, integer UTC milliseconds, aware
    datetimes, or relative forms (resolved against ``now_ms`` when given here,
    else against the planning session's clock). ``start`` is inclusive and
    ``end`` exclusive.

    >>> from tradeflood.models import Candle
    >>> q = Query(Candle, exchange="example", symbol="BTC/USDT", interval="1h",
    ...           start="2024-01-01T00:00:00Z", end="2024-01-02T00:00:00Z")
    >>> q.end - q.start
    86400000
    """

    __slots__ = ("_relative", "_resolved", "depth", "end", "exchange", "interval", "limit", "live",
                 "model", "options", "start", "symbol")

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
        if not isinstance(exchange, str) or not exchange.strip():
            raise QueryError(f"exchange={exchange!r}: give a venue name; `tradeflood venues` lists them")
        self.model = model
        self.exchange: str = exchange.strip().lower()
        if symbol is not None and (not isinstance(symbol, str) or not symbol.strip()):
            raise QueryError(f"symbol={symbol!r}: give a unified symbol such as 'BTC/USDT'")
        self.symbol = symbol.strip().upper() if symbol else None
        self.interval = interval
        for name, value in (("depth", depth), ("limit", limit)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise QueryError(f"{name}={value!r}: give a positive integer")
        self.depth = depth
        self.limit = limit
        self.options = options
        self.live = live
        self._resolved = False
        #: The times as given, kept until :meth:`resolve` when one is relative and no ``now_ms`` came.
        self._relative: tuple[TimeLike | None, TimeLike | None] | None = None
        self.start: int | None = None
        self.end: int | None = None
        if now_ms is not None or not (is_relative(start) or is_relative(end)):
            self._set_times(start, end, now_ms)
        else:
            self._relative = (start, end)

    def _set_times(self, start: TimeLike | None, end: TimeLike | None, now_ms: int | None) -> None:
        self.start = None if start is None else parse_time(start, name="start", now_ms=now_ms)
        self.end = None if end is None else parse_time(end, name="end", now_ms=now_ms)
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise InvalidTimeError(
                f"start ({start!r}) must be before end ({end!r}); the range would be empty"
            )

    @property
    def resolved(self) -> bool:
        """Whether :meth:`resolve` has checked this query against its venue's binding."""
        return self._resolved

    def resolve(self, binding: QueryChecker, now_ms: int | None = None) -> Query:
        """Check this query against the ``binding`` that will answer it and resolve relative
        times against ``now_ms`` (UTC ms, the caller's clock; needed only for relative times
        and the check that a history has begun); returns the query itself. Raises a
        :class:`QueryError` for what that venue refuses. Resolving twice is a no-op."""
        if self._resolved:
            return self
        if self._relative is not None:
            start, end = self._relative
            self._set_times(start, end, now_ms)
            self._relative = None
        given_start, given_end = self.start, self.end
        self.exchange = binding.connector.name
        _check_arguments(self, binding, given_start=given_start, given_end=given_end, now_ms=now_ms)
        binding.check(self)
        self._resolved = True
        return self

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
#: Options every fetch takes besides its binding's own (``invalid``: see :mod:`tradeflood.checks`).
_FETCH_OPTIONS = frozenset({"invalid"})


def _check_arguments(query: Query, binding: Any, *, given_start: int | None, given_end: int | None,
                     now_ms: int | None) -> None:
    """Refuse what the query's binding would silently ignore: unknown keyword arguments, a
    time range or interval given to data that has none, a range that has not begun."""
    what = f"{query.model.__name__} on {query.exchange}"
    streamed = query.live or "poll" in query.options
    allowed = binding.options | (_STREAM_OPTIONS if streamed else _FETCH_OPTIONS)
    unknown = sorted(set(query.options) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise QueryError(f"unknown argument{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for "
                         f"{what}; the arguments beyond exchange, symbol, interval, start, end, depth "
                         f"and limit it takes: {takes}")
    if "invalid" in query.options:
        from .checks import check_invalid

        check_invalid(query.options["invalid"])
    history = bool(getattr(binding, "ranged", True))  # a binding from elsewhere: not judged
    if streamed or history:
        if (history and now_ms is not None and query.start is not None and query.end is None
                and query.start > now_ms):
            raise InvalidTimeError(f"start={format_ms(given_start)} is in the future: there is nothing to "
                                   "fetch yet")
        return
    if given_start is not None or given_end is not None:
        from . import registry  # resolving a query is where the registry is consulted

        ranged = sorted(v for (m, v), b in registry.bindings_for(query.model).items()
                        if getattr(b, "ranged", False))
        where = (f"venues serving {query.model.__name__} over a time range: {', '.join(ranged)}" if ranged
                 else "no venue serves it over a time range yet")
        raise QueryError(f"{what} is the venue's current or recent data and takes no start or end "
                         f"(the venue publishes no history of it by time); {where}")
    if query.interval is not None:
        raise QueryError(f"{what} takes no interval (candles do)")
