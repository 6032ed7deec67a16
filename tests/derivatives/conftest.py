"""The four simulated venues in-process on one virtual clock, for the derivatives tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tradeflood import Session, VirtualClock
from tradeflood.testing import SimulatorTransport
from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._bitget import BitgetVenue
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._okx import OkxVenue
from tradeflood.testing._venue import Venue

NOW = 1_717_200_030_000  # 2024-06-01T00:00:30Z: the current minute is still forming
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
VENUES: dict[str, Callable[..., Venue]] = {
    "binance": BinanceVenue, "bitget": BitgetVenue, "bybit": BybitVenue, "okx": OkxVenue}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=NOW / 1000)


def make(name: str, clock: VirtualClock) -> Venue:
    return VENUES[name](clock=clock)


def session(venue: Venue, clock: VirtualClock, **kw: object) -> Session:
    return Session(transport=SimulatorTransport({venue.name: venue}), clock=clock,
                   **{"store": False, **kw})  # type: ignore[arg-type]
