"""The simulated order book: a grid of price levels whose sizes change now and then.

The book is quantised to ticks of ``Market.book_tick_ms`` (100 ms): tick ``k``
is the update id both venues' depth answers and streams carry. Within a tick
the book is fixed; from one tick to the next only a few levels change, so the
difference between two ticks is a realistic depth delta. A level at price
``p`` (in ticks of the instrument) is either always present or always absent;
while present, its size is redrawn every ``period(p)`` book ticks at a phase of
its own. Bids are the present levels at or below the mid, asks those above it;
the mid follows the slow part of the price path (no per-millisecond noise), so
it moves by a tick or two between book ticks. Everything is a pure function
of the seed, the instrument and the tick; the caches only save recomputation.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import TYPE_CHECKING

# import cycle: types only: a market holds its books, which read its instruments' prices
if TYPE_CHECKING:
    from tradeflood.testing._market import Instrument, Market

__all__ = ["BookSide", "LevelGrid"]

# One side of a book in integer units: (price in ticks, size in lots), best first.
BookSide = list[tuple[int, int]]

_MASK = (1 << 64) - 1
_PRESENT = 0.6  # share of price levels that hold orders
_MIN_PERIOD, _MAX_PERIOD = 10, 100  # book ticks between two redraws of a level's size
_CACHE_LIMIT = 500_000


def _mix(*values: int) -> int:
    """A fast 64-bit hash of integers (splitmix64 steps): cheap enough to run per level and tick."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (v & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & _MASK
        h ^= h >> 29
    return h


class LevelGrid:
    """The level grid of one instrument: which prices hold orders and how big they are at a tick."""

    def __init__(self, market: Market, inst: Instrument) -> None:
        self.market = market
        self.inst = inst
        self.salt = _mix(market.seed, *inst.symbol.encode())
        # Size scale in lots, as the earlier random book used: 200 USDT-ish per level.
        self.scale = 200 / float(inst.start_price) / float(inst.lot)
        self._static: dict[int, tuple[int, int] | None] = {}  # price -> (period, phase) or absent
        self._sizes: dict[int, tuple[int, int]] = {}  # price -> (epoch, size in lots)
        self._prices: list[int] = []  # present prices over [_lo, _hi], ascending
        self._lo, self._hi = 1 << 62, 0

    def mid(self, tick: int) -> int:
        """The last bid price (in ticks) at book tick ``tick``."""
        t_ms = tick * self.market.book_tick_ms
        return max(1, round(self.market.raw_price(self.inst, t_ms, noise=False) / float(self.inst.tick)))

    def _level(self, price: int) -> tuple[int, int] | None:
        found = self._static.get(price, False)
        if found is False:
            h = _mix(self.salt, price)
            if (h & 0xFFFF) / 0x10000 >= _PRESENT:
                found = None
            else:
                period = _MIN_PERIOD + (h >> 16) % (_MAX_PERIOD - _MIN_PERIOD + 1)
                found = (period, (h >> 32) % period)
            if len(self._static) > _CACHE_LIMIT:
                self._static.clear()
            self._static[price] = found
        return found  # type: ignore[return-value]

    def size(self, price: int, tick: int) -> int:
        """The size in lots at ``price`` during ``tick`` (the level must be present)."""
        level = self._level(price)
        assert level is not None
        period, phase = level
        epoch = (tick + phase) // period
        cached = self._sizes.get(price)
        if cached is not None and cached[0] == epoch:
            return cached[1]
        u = (_mix(self.salt, price, epoch, 7) >> 11) / 2**53
        size = max(1, math.floor((0.01 + 5 * u * u) * self.scale + 0.5))
        if len(self._sizes) > _CACHE_LIMIT:
            self._sizes.clear()
        self._sizes[price] = (epoch, size)
        return size

    def side(self, tick: int, depth: int, *, bids: bool) -> BookSide:
        """The best ``depth`` levels of one side at ``tick``."""
        mid = self.mid(tick)
        while True:
            if not self._lo <= mid <= self._hi:  # the band must reach the mid, or its edge looks like it
                self._widen(mid, depth)
            prices = self._prices
            cut = bisect_right(prices, mid)
            if bids:
                chosen = prices[max(0, cut - depth):cut][::-1]
                if len(chosen) == depth or self._lo <= 1:
                    break
                self._widen(mid, depth)
            else:
                chosen = prices[cut:cut + depth]
                if len(chosen) == depth:
                    break
                self._widen(mid, depth)
        size = self.size
        return [(p, size(p, tick)) for p in chosen]

    def _widen(self, mid: int, depth: int) -> None:
        """Index the present prices over a band around ``mid`` wide enough for ``depth`` levels a side."""
        if self._lo <= mid <= self._hi:  # deeper around the same place: grow the band
            span = max(4 * depth, 2 * (self._hi - self._lo))
            lo, hi = max(1, min(self._lo, mid - span)), max(self._hi, mid + span)
        else:  # somewhere else in time: start a band there
            lo, hi = max(1, mid - 4 * depth), mid + 4 * depth
        level = self._level
        self._prices = [p for p in range(lo, hi + 1) if level(p) is not None]
        self._lo, self._hi = lo, hi

    def book(self, tick: int, depth: int) -> tuple[BookSide, BookSide]:
        return self.side(tick, depth, bids=True), self.side(tick, depth, bids=False)


def diff(old: BookSide, new: BookSide) -> BookSide:
    """Levels to send so that a holder of ``old`` ends with ``new``: changed sizes, and 0 for removals."""
    before = dict(old)
    after = dict(new)
    changes = [(p, s) for p, s in new if before.get(p) != s]
    changes += [(p, 0) for p in before if p not in after]
    return changes
