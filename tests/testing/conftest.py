"""Fixtures for the venue simulator tests: a virtual clock and clients over the transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tradeflood.clock import VirtualClock
from tradeflood.testing import BinanceVenue, BitgetVenue, Simulator, SimulatorTransport

# 2024-06-01T00:00:30Z: half a minute into a minute, so an open candle exists.
NOW = 1_717_200_030.0
BITGET = "https://api.bitget.com"
BINANCE = "https://api.binance.com"
FAPI = "https://fapi.binance.com"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=NOW)


@pytest.fixture
def bitget(clock: VirtualClock) -> BitgetVenue:
    return BitgetVenue(clock=clock)


@pytest.fixture
def binance(clock: VirtualClock) -> BinanceVenue:
    return BinanceVenue(clock=clock)


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def client(bitget: BitgetVenue, binance: BinanceVenue) -> AsyncIterator[ClientFactory]:
    """Make clients over one transport serving both venues; closed after the test."""
    transport = SimulatorTransport({"bitget": bitget, "binance": binance})
    made: list[httpx.AsyncClient] = []

    def make(base_url: str = BITGET, **kwargs: object) -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=transport, base_url=base_url, **kwargs)  # type: ignore[arg-type]
        made.append(c)
        return c

    yield make
    for c in made:
        await c.aclose()


@pytest.fixture
async def ws_sim(clock: VirtualClock) -> AsyncIterator[Simulator]:
    """Both venues on a virtual clock, REST and WebSocket served on 127.0.0.1 in the test's loop.

    The venues' clock only moves when a test advances it; the servers pace themselves in real
    time, shortened here so that a test sees a book tick every 10 ms of waiting.
    """
    venues = {"bitget": BitgetVenue(clock=clock), "binance": BinanceVenue(clock=clock)}
    async with Simulator(venues) as sim:
        bitget, binance = sim.streams["bitget"], sim.streams["binance"]
        bitget.book_interval = bitget.trade_interval = bitget.candle_interval = 0.01
        bitget.ticker_interval = 0.01
        binance.pacing.update(depth=0.01, trade=0.01, kline=0.01, ticker=0.01)
        yield sim
