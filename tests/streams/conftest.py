"""Live-stream tests run against the simulator's WebSocket servers on 127.0.0.1.

Time runs 60 times faster than real time (a ScaledClock shared by the venues
and the session), so a one-minute candle closes every real second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.streams import Backoff, StreamSettings
from tradeflood.testing import BinanceVenue, BitgetVenue, Simulator

FACTOR = 60.0


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ScaledClock:
    """60x real time, or ``@pytest.mark.speed(1)`` for tests that want the venue's real pace
    (books: the simulator computes a 100 ms book tick by tick, which 60x would starve)."""
    marker = request.node.get_closest_marker("speed")
    return ScaledClock(marker.args[0] if marker else FACTOR)


@pytest.fixture
async def sim(clock: ScaledClock) -> AsyncIterator[Simulator]:
    venues = {"bitget": BitgetVenue(clock=clock), "binance": BinanceVenue(clock=clock)}
    async with Simulator(venues) as simulator:
        yield simulator


def settings() -> StreamSettings:
    # Reconnect quickly (clock seconds: /60 in real time) and call a topic stale early.
    return StreamSettings(backoff=Backoff(first=0.5, most=3.0), stale_after=3.0, open_timeout=5.0)


@pytest.fixture
async def session(sim: Simulator, clock: ScaledClock) -> AsyncIterator[tradeflood.Session]:
    async with tradeflood.Session(urls=sim.urls(), clock=clock, store=False,
                                  stream_settings=settings()) as s:
        yield s



async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (real time) until ``predicate()`` holds."""
    async def run() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(run(), timeout)
