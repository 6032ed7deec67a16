"""Funding histories at the instrument's own funding interval (8, 4, 2 or 1 hours), on any venue.

Most perpetuals fund every 8 hours, but venues run some contracts hourly or
4-hourly (and change a contract's interval when markets move). A history is
planned before any row is seen, so :class:`FundingHistoryBinding` plans with
the interval it knows for the symbol: the one it learned earlier in the session
(from history rows, or the interval a venue states with the current rate), else
the one the venue states for it (:meth:`~FundingHistoryBinding.interval_sources`,
sent as the query's prerequisites before its pages are planned, shared by the
queries of a fetch), else 8 hours. When the rows come back it learns the real
interval from them (the
coarsest standard interval that every funding time sits on and that no two
rows are closer than), and where a page came back full but covered only part
of its window (an hourly contract paged as if 8-hourly), it asks, in the one
repair round, for the uncovered rest, paged at the learned interval. Gaps are
then judged on that interval.

A range in which the contract changed its interval is judged at the finest
interval seen, so the coarser part shows its skipped hours as gaps: the rows
are all there, and the gaps say where the venue had no funding.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from .binding import ParseContext, Part
from .errors import PayloadError
from .latest import LatestOrHistoryBinding
from .paging import plan_pages
from .perpetuals import FundingQueries

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .query import Query
    from .turns import Turn, TurnKey

__all__ = ["DEFAULT_FUNDING_MS", "STANDARD_FUNDING_MS", "FundingHistoryBinding", "infer_funding_interval"]

_HOUR = 3_600_000
DEFAULT_FUNDING_MS = 8 * _HOUR
"""The interval assumed for a symbol nothing is known of yet."""
STANDARD_FUNDING_MS = (8 * _HOUR, 4 * _HOUR, 2 * _HOUR, _HOUR)
"""The funding intervals venues use, coarsest first."""


def infer_funding_interval(times: Iterable[int], default: int = DEFAULT_FUNDING_MS) -> int:
    """The funding interval that ``times`` (funding times, UTC ms) show.

    The coarsest standard interval that divides every time and is no longer than
    the closest two rows; failing that (times off every standard grid), the
    greatest common divisor of the spacings; ``default`` with no row at all.

    >>> infer_funding_interval([0, 3_600_000, 7_200_000])
    3600000
    >>> infer_funding_interval([57_600_000]) == 8 * 3_600_000   # one row at 16:00: nothing finer shown
    True
    """
    ts = sorted(set(times))
    if not ts:
        return default
    closest = min((b - a for a, b in pairwise(ts)), default=None)
    for step in STANDARD_FUNDING_MS:
        if (closest is None or step <= closest) and all(t % step == 0 for t in ts):
            return step
    spacing = 0
    for a, b in pairwise(ts):
        spacing = math.gcd(spacing, b - a)
    return spacing or default


class FundingHistoryBinding(FundingQueries, LatestOrHistoryBinding):
    """A funding-rate binding (current value and history) that follows each symbol's funding
    interval: see the module doc. Venues subclass it as :class:`LatestOrHistoryBinding`
    (the query check is shared), and where they state a contract's interval apart
    from its rows, name the turns that do (:meth:`interval_sources`) and read them
    (:meth:`stated_interval`)."""

    time_field = "funding_time"
    step_ms = DEFAULT_FUNDING_MS

    def _intervals(self) -> dict[str, int]:
        learned: dict[str, int] | None = self.__dict__.get("_learned_intervals")
        if learned is None:
            learned = self.__dict__["_learned_intervals"] = {}
        return learned

    def funding_interval(self, query: Query) -> int:
        """The interval the symbol is known to fund at (8 hours until learned otherwise)."""
        return self._intervals().get(query.symbol or "", self.step_ms)

    def learn_interval(self, symbol: str, interval_ms: int | None) -> None:
        """Take ``interval_ms`` as the symbol's funding interval if finer than the one known.

        Nothing finer than the finest standard interval is taken: rows stamped off every
        grid (a hostile or broken reply) must not make the planner page at a millisecond."""
        if interval_ms and interval_ms > 0:
            if interval_ms < STANDARD_FUNDING_MS[-1]:
                log.warning("%s: a funding interval of %d ms for %s is finer than any venue's; ignored",
                            self.connector.name, interval_ms, symbol)
                return
            known = self._intervals()
            known[symbol] = min(interval_ms, known.get(symbol, interval_ms))

    def step(self, query: Query) -> int:
        return self.funding_interval(query)

    def interval_sources(self, query: Query) -> Sequence[Turn]:
        """The turns whose replies state the symbol's funding interval (read by
        :meth:`stated_interval`); none by default: the interval is learned from the rows."""
        return ()

    def stated_interval(self, query: Query, payloads: Mapping[TurnKey, Any]) -> int | None:
        """The interval (ms) the replies of :meth:`interval_sources` state for the query's
        symbol (by turn key; a failed one is absent), or None where they state none."""
        return None

    def prerequisites(self, query: Query, now_ms: int) -> Sequence[Turn]:
        """A history of a symbol whose interval is not known yet: the turns that state it."""
        if self.serves_history(query) and (query.symbol or "") not in self._intervals():
            return self.interval_sources(query)
        return ()

    def prepare(self, query: Query, payloads: Mapping[TurnKey, Any]) -> None:
        """Learn the interval the venue states for the symbol; one that is not a standard
        interval is refused (the rows teach it instead), so a hostile reply cannot make the
        planner page at a millisecond."""
        if not self.serves_history(query):
            return
        stated = self.stated_interval(query, payloads)
        if stated is not None and stated not in STANDARD_FUNDING_MS:
            raise PayloadError(query.exchange, "FundingRate", f"the venue states a funding interval of "
                               f"{stated} ms for {query.symbol}, not one of 8, 4, 2 or 1 hours")
        self.learn_interval(query.symbol or "", stated)

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        rows = super().parse(query, turn, payload, ctx)
        if self.serves_history(query):
            if rows:
                self.learn_interval(query.symbol or "", infer_funding_interval(
                    (r.funding_time for r in rows), self.funding_interval(query)))
        else:
            for row in rows:
                self.learn_interval(query.symbol or "", getattr(row, "interval_ms", None))
        return rows

    def repair(self, query: Query, parts: Sequence[Part], now_ms: int) -> Sequence[Turn]:
        again = self.refill(query, parts, now_ms)
        return again if again else super().repair(query, parts, now_ms)

    def refill(self, query: Query, parts: Sequence[Part], now_ms: int) -> list[Turn]:
        """Pages for what full pages left uncovered of their windows: the part of a window
        before its oldest row and after its newest one, planned at the learned interval."""
        if not self.serves_history(query) or not parts:
            return []
        start, end = self.time_range(query, now_ms)
        step = self.step(query)
        origin = self.page_origin(query, now_ms)  # before page_sources, which may depend on it
        sources = self.page_sources(query)
        full = min(s.page_size for s in sources)
        asked = {p.turn.key for p in parts}
        out: list[Turn] = []
        for part in parts:
            window = part.turn.window
            if window is None or len(part.items) < full:
                continue  # a short page holds all its window has (the base class asks again if not)
            a, b = max(window[0], start), min(window[1], end, now_ms + 1)
            times = [getattr(r, self.time_field) for r in part.items]
            lo, hi = min(times), max(times)
            for u0, u1 in ((a, min(lo, b)), (max(hi + step, a), b)):
                if u0 >= u1 or self.first_time(u0, query) >= u1:
                    continue  # nothing the interval expects there
                for page in plan_pages(u0, u1, "", step, sources, now_ms,
                                       origin=u0 if origin is None else origin):
                    turn = page.turn()
                    if turn.key not in asked:
                        asked.add(turn.key)
                        out.append(turn)
        return out
