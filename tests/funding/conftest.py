"""The four simulated venues on one virtual clock, and what the funding tests share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tradeflood import Session, VirtualClock
from tradeflood.testing import SimulatorTransport
from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._bitget import BitgetVenue
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._market import Instrument
from tradeflood.testing._okx import OkxVenue
from tradeflood.testing._venue import Venue

NOW = 1_717_210_830_000  # 2024-06-01T03:00:30Z: the 00:00 funding is the newest settled, 08:00 comes next
HOUR, DAY = 3_600_000, 86_400_000
STEP = 8 * HOUR
SYMBOL = "BTC/USDT:USDT"


@dataclass(frozen=True)
class VenueCase:
    """What a funding test needs to know of one venue."""

    name: str
    make: Callable[..., Venue]
    funding_path: str
    funding_page: int
    funding_days: int  # a history range inside the look-back window (several pages where it holds them)
    oi_path: str | None  # None: no open-interest history
    oi_page: int = 0


CASES = [
    VenueCase("bitget", BitgetVenue, "/api/v2/mix/market/history-fund-rate", 100, 100, None),
    VenueCase(
        "binance", BinanceVenue, "/fapi/v1/fundingRate", 1000, 1100, "/futures/data/openInterestHist", 500
    ),
    VenueCase("bybit", BybitVenue, "/v5/market/funding/history", 200, 200, "/v5/market/open-interest", 200),
    VenueCase(
        "okx",
        OkxVenue,
        "/api/v5/public/funding-rate-history",
        400,
        80,
        "/api/v5/rubik/stat/contracts/open-interest-history",
        100,
    ),
]
BY_NAME = {c.name: c for c in CASES}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=NOW / 1000)


def make_session(venue: Venue, clock: VirtualClock, store: Any = False) -> Session:
    return Session(transport=SimulatorTransport({venue.name: venue}), clock=clock, store=store)


def perp(venue: Venue, base: str = "BTC") -> Instrument:
    inst = next(i for i in venue.market.instruments if i.base == base and i.kind == "perp")
    return inst


def on_grid(start: int, end: int, step: int) -> list[int]:
    """The grid times in ``[start, end)`` up to NOW."""
    return list(range(-(-start // step) * step, min(end, NOW + 1), step))
