"""Time ranges paged on a fixed grid, choosing per segment the endpoint with the largest page.

Page edges sit at multiples of ``page_size x interval`` since the epoch, so any
two queries whose ranges overlap produce identical pages for the overlap, and
the planner requests each once. A venue may serve big pages only for recent
data (say 1000 candles within a look-back window, 200 beyond it); each page
of the biggest source that starts inside that source's window uses it, and the
older ones are split on the grid of the next source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .turns import Turn

__all__ = ["Page", "PageSource", "plan_pages"]

# Pages this close to a source's look-back edge go to the next source: planning
# happens a little before sending, and the edge moves with the clock.
_LOOKBACK_SAFETY_MS = 10 * 60_000


@dataclass(frozen=True, slots=True)
class PageSource:
    """One endpoint that serves candle pages.

    ``declare(start_ms, end_ms, limit)`` returns the turn for the page of open
    times ``start_ms <= t < end_ms``. ``lookback_ms(interval)`` is how far back
    from now the endpoint serves data, or None for no limit.
    """

    name: str
    page_size: int
    declare: Callable[[int, int, int], Turn]
    lookback_ms: Callable[[str], int | None] = lambda interval: None


@dataclass(frozen=True, slots=True)
class Page:
    """One grid page of open times ``[start, end)`` and the source that serves it."""

    start: int
    end: int
    source: PageSource

    def turn(self) -> Turn:
        turn = self.source.declare(self.start, self.end, self.source.page_size)
        turn.window = (self.start, self.end)
        return turn


def plan_pages(
    start: int,
    end: int,
    interval: str,
    step_ms: int,
    sources: Sequence[PageSource],
    now_ms: int,
    *,
    origin: int = 0,
) -> list[Page]:
    """The pages covering ``[start, end)``, each with its best source.

    Page edges sit at ``origin + k x page_size x step`` (the shared grid when
    ``origin`` is 0; a query's own paging when it is its start). ``sources`` are
    tried largest page first; a page goes to the first source whose look-back
    window contains the page's start. ``step_ms`` is the interval's length (an
    upper bound for calendar months).
    """
    if not sources:
        raise ValueError("plan_pages needs at least one page source")
    ordered = sorted(sources, key=lambda s: s.page_size, reverse=True)
    end = min(end, now_ms + 1)
    pages: list[Page] = []
    _split(start, end, interval, step_ms, ordered, now_ms, origin, pages)
    return pages


def _split(
    start: int, end: int, interval: str, step_ms: int,
    sources: Sequence[PageSource], now_ms: int, origin: int, out: list[Page],
) -> None:
    source, rest = sources[0], sources[1:]
    size = source.page_size * step_ms
    lookback = source.lookback_ms(interval)
    first = origin + (start - origin) // size * size
    for page_start in range(first, end, size):
        page_end = page_start + size
        in_window = lookback is None or page_start >= now_ms - lookback + _LOOKBACK_SAFETY_MS
        if in_window or not rest:
            out.append(Page(page_start, page_end, source))
        else:
            _split(max(start, page_start), min(end, page_end), interval, step_ms, rest, now_ms, origin,
                   out)
