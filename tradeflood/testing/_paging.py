"""Choosing which candles a page holds: range, listing, open candle, gaps and page size.

Venues differ in where a page is anchored: Binance fills a page forward from
``startTime``, Bitget backward from ``endTime``. Either way only candles that
exist are served: none before the listing, none opening after "now" (the one
containing now is the open candle), none inside a gap.
"""

from __future__ import annotations

from itertools import islice

from tradeflood.testing._grid import Grid
from tradeflood.testing._market import Bar, Instrument
from tradeflood.testing._venue import Call, Venue

__all__ = ["page"]


def page(
    venue: Venue,
    call: Call,
    inst: Instrument,
    grid: Grid,
    *,
    first_ms: int,
    end_ms: int,
    limit: int,
    from_end: bool,
) -> list[Bar]:
    """Up to ``limit`` candles opening in ``[first_ms, end_ms)``, oldest first.

    ``from_end`` takes the newest ``limit`` of the range (Bitget), otherwise the
    oldest (Binance). A short-page fault keeps only the half nearest the anchor.
    """
    now = call.now_ms
    first = max(first_ms, grid.floor(inst.listed_ms))
    last = min(end_ms - 1, now)
    if limit <= 0 or last < first:
        return []
    names = venue.names(inst)
    opens = grid.backward(last, first) if from_end else grid.forward(first, last)
    kept = (t for t in opens if not venue.gaps.hides(names, t))
    chosen = list(islice(kept, limit))
    chosen = call.short_paged(chosen, keep_first=True)
    if from_end:
        chosen.reverse()
    return [venue.market.bar(inst, grid, t, now) for t in chosen]
