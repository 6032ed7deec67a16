"""Funding rates and open interest of the simulated perpetuals: pure functions of seed, instrument, time.

BTC and ETH perpetuals settle funding every 8 hours (00:00, 08:00, 16:00 UTC) from
their listing on; the SOL perpetual settles every hour, as venues run some contracts,
so that histories of a contract funding more often are exercised too. A rate is a
number of millionths between -0.000140 and +0.000260, hashed from its funding time, so
any page of any venue agrees with any other.
Open interest drifts smoothly (a day-long wave plus hashed noise) around about
fifty million quote units' worth of the base coin; its value is the size times
the price path at that time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal

from tradeflood.testing._market import Instrument, Market
from tradeflood.testing._venue import Venue

__all__ = ["FUNDING_STEP_MS", "HOURLY_FUNDING", "funding_rate", "funding_step", "funding_times",
           "index_price", "latest_funding", "next_funding", "open_interest", "open_interest_value"]

FUNDING_STEP_MS = 8 * 3_600_000
HOURLY_FUNDING = frozenset({"SOL"})
"""Bases whose perpetual funds every hour."""
_MILLIONTH = Decimal("0.000001")
_DAY = 86_400_000


def funding_rate(market: Market, inst: Instrument, t_ms: int) -> Decimal:
    """The rate settled at funding time ``t_ms`` (or to settle there, for a coming one)."""
    millionths = int(400 * market.unit(inst, "funding", t_ms)) - 140
    return (millionths * _MILLIONTH).quantize(_MILLIONTH)


def funding_step(inst: Instrument | None) -> int:
    """The instrument's funding interval in ms (8 hours, or 1 hour for the hourly ones)."""
    return 3_600_000 if inst is not None and inst.base in HOURLY_FUNDING else FUNDING_STEP_MS


def latest_funding(now_ms: int, inst: Instrument | None = None) -> int:
    """The newest funding time at or before ``now_ms``."""
    step = funding_step(inst)
    return now_ms // step * step


def next_funding(now_ms: int, inst: Instrument | None = None) -> int:
    """The first funding time after ``now_ms``."""
    return latest_funding(now_ms, inst) + funding_step(inst)


def funding_times(venue: Venue, inst: Instrument, newest: int, oldest: int) -> Iterator[int]:
    """Settled funding times from ``newest`` down to ``oldest`` (both inclusive, on the grid),
    skipping spans the venue lacks and times before the listing."""
    first = max(oldest, inst.listed_ms)
    step = funding_step(inst)
    t = newest // step * step
    names = venue.names(inst)
    while t >= first:
        if not venue.gaps.hides(names, t):
            yield t
        t -= step


def open_interest(market: Market, inst: Instrument, t_ms: int) -> Decimal:
    """Open interest in the base coin at ``t_ms``, on the instrument's lot grid."""
    wave = 1 + 0.15 * math.sin(2 * math.pi * t_ms / _DAY + 6 * market.unit(inst, "oi-phase"))
    noise = 1 + 0.02 * (market.unit(inst, "oi", t_ms) - 0.5)
    base = 50_000_000 / float(inst.start_price) * wave * noise
    return (Decimal(repr(base)) / inst.lot).to_integral_value() * inst.lot


def open_interest_value(market: Market, inst: Instrument, t_ms: int) -> Decimal:
    """The open interest's worth in the quote coin at ``t_ms`` (two decimals)."""
    return (open_interest(market, inst, t_ms) * market.price(inst, t_ms)).quantize(Decimal("0.01"))


def index_price(market: Market, inst: Instrument, t_ms: int) -> Decimal:
    """The index: the price path a hair below the mark, on the tick grid."""
    return (market.price(inst, t_ms) * Decimal("0.9999")).quantize(inst.tick)
