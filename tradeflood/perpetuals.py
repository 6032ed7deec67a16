"""What funding-rate and open-interest bindings share, on any venue: the query checks, the
open-interest binding, and the reads of their records.

Both kinds of data exist for perpetual swaps only, so a spot symbol is refused
with the reason and the symbol to ask for instead. A funding rate's interval is
the venue's (no ``interval=``); an open-interest history is a statistic per
period, so it needs one, and the current value takes none.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tradeflood.models import FundingRate, OpenInterest, settled_rate

from .errors import QueryError
from .intervals import interval_ms
from .latest import LatestOrHistoryBinding
from .symbols import split_symbol, spot_or_usdt_linear

if TYPE_CHECKING:
    from .connector import Connector
    from .parsing import Reader
    from .query import Query

__all__ = ["FUNDING_STEP_MS", "FundingQueries", "OpenInterestBinding", "OpenInterestQueries",
           "check_funding_query", "check_open_interest_query", "open_interest", "perpetual_only",
           "settled_rates"]

#: The usual funding interval of perpetuals (8 hours); see :mod:`tradeflood.fundinghistory` for
#: contracts that fund more often.
FUNDING_STEP_MS = 8 * 3_600_000


def perpetual_only(exchange: str, symbol: str | None, what: str) -> None:
    """Refuse a spot symbol (or any market but a USDT-margined perpetual) for ``what``."""
    if symbol and split_symbol(symbol).kind == "spot":
        unified = split_symbol(symbol)
        raise QueryError(
            f"{what} exist only for perpetual swaps, and {symbol!r} is a spot pair: ask for the "
            f"perpetual '{unified.base}/{unified.quote}:{unified.quote}' instead (nothing was sent)")
    spot_or_usdt_linear(exchange, symbol, what)


def check_funding_query(exchange: str, query: Query) -> None:
    """A funding-rate query: a USDT perpetual, no interval (the venue's funding interval applies)."""
    perpetual_only(exchange, query.symbol, "funding rates")
    if query.interval is not None:
        raise QueryError(f"funding rates take no interval (interval={query.interval!r}): the venue "
                         "sets the funding interval, and each row says when it applied")


def check_open_interest_query(exchange: str, query: Query, periods: Collection[str] | None) -> None:
    """An open-interest query: a USDT perpetual; a history needs ``interval`` among ``periods``
    (None: the venue serves no open-interest history), the current value takes none."""
    perpetual_only(exchange, query.symbol, "open interest")
    history = query.start is not None or query.end is not None or query.limit is not None
    if not history:
        if query.interval is not None:
            raise QueryError(f"the current open interest takes no interval (interval={query.interval!r}); "
                             "give start=, end= or limit= with it for a history")
        return
    if periods is None:
        raise QueryError(f"{exchange} serves the current open interest only, no history of it: "
                         "drop start=, end= and limit=, or ask another venue")
    if query.interval not in periods:
        raise QueryError(f"an open-interest history on {exchange} needs interval= one of "
                         f"{', '.join(periods)} (got {query.interval!r})")


class FundingQueries:
    """Mixin giving a funding-rate binding (fetch or stream) its ``check``:
    :func:`check_funding_query` on the binding's venue."""

    connector: ClassVar[type[Connector]]

    @classmethod
    def check(cls, query: Query) -> None:
        check_funding_query(cls.connector.name, query)


class OpenInterestQueries:
    """Mixin giving an open-interest binding (fetch or stream) its ``check``:
    :func:`check_open_interest_query` on the binding's venue with :attr:`periods`."""

    #: The intervals an open-interest history takes (a mapping: keyed by them); None where the
    #: binding serves the current value only.
    periods: ClassVar[Collection[str] | None] = None
    connector: ClassVar[type[Connector]]

    @classmethod
    def check(cls, query: Query) -> None:
        check_open_interest_query(cls.connector.name, query, cls.periods)


class OpenInterestBinding(OpenInterestQueries, LatestOrHistoryBinding):
    """An open-interest binding: the current value and, where ``periods`` is set, its history
    per period (rows ``interval`` apart, one series per period)."""

    def step(self, query: Query) -> int:
        return interval_ms(query.interval or "5m")

    def series_key(self, query: Query) -> tuple[str, str, str]:
        return query.exchange, query.symbol or "", f"OpenInterest:{query.interval}"


def settled_rates(read: Reader, records: Sequence[dict[str, Any]], *, symbol: str, native: str, time: str,
                  rate: str, newest_first: bool = False) -> list[FundingRate]:
    """Settled rates, oldest first, from history records naming the native symbol, the funding
    time (UTC ms) and the rate (which may be negative) in the fields ``native``, ``time`` and
    ``rate``; ``newest_first`` where the venue sends them so."""
    out = []
    for i, rec in enumerate(reversed(records) if newest_first else records):
        r = read.at(rec, f"row {i}")
        out.append(settled_rate(read.venue, symbol, r.text(rec, native), r.ms(r.field(rec, time), time),
                                r.decimal(r.field(rec, rate), rate, negative=True)))
    return out


def open_interest(r: Reader, record: Mapping[str, Any], *, symbol: str, native_symbol: str, timestamp: int,
                  size: str, value: str | None = None, **more: Any) -> OpenInterest:
    """One open interest: its size from ``record[size]`` and, where the venue gives one, its value
    from ``record[value]``; both are read signed, and the model's checks judge the sign."""
    amounts: dict[str, Any] = {"size": r.decimal(r.field(record, size), size, negative=True)}
    if value is not None:
        amounts["value"] = r.optional_decimal(record.get(value), value, negative=True)
    return r.model(OpenInterest, exchange=r.venue, symbol=symbol, native_symbol=native_symbol,
                   timestamp=timestamp, **amounts, **more)
