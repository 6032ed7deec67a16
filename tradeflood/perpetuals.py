"""What funding-rate and open-interest queries must be, on any venue: checked before any request.

Both kinds of data exist for perpetual swaps only, so a spot symbol is refused
with the reason and the symbol to ask for instead. A funding rate's interval is
the venue's (no ``interval=``); an open-interest history is a statistic per
period, so it needs one, and the current value takes none.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from .errors import QueryError
from .symbols import split_symbol, spot_or_usdt_linear

if TYPE_CHECKING:
    from .query import Query

__all__ = ["FUNDING_STEP_MS", "check_funding_query", "check_open_interest_query", "perpetual_only"]

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
