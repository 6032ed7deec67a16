"""Change-driven channels: a topic the venue pushes only when its value changes may be silent for
minutes beside busy ones; that silence costs no resubscription and no reconnection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

import tradeflood
from tradeflood import Query
from tradeflood.bindings.okx import (
    OkxFundingRateStream,
    OkxLiquidationStream,
    OkxOpenInterestStream,
    OkxTickerStream,
)
from tradeflood.clock import ScaledClock
from tradeflood.connectors.okx import Okx
from tradeflood.models import FundingRate, Instrument, OpenInterest, Ticker
from tradeflood.streams import Backoff, StreamBinding, StreamSettings
from tradeflood.testing import Simulator
from tradeflood.testing import _funding_market as fm
from tradeflood.testing._okx import OkxVenue

QUIET = 300.0  # clock seconds: five minutes, 20 times the 15 s the open-interest topic once expected


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    """Wait (real time) until ``predicate()`` holds."""
    async def run() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(run(), timeout)


@pytest.fixture
async def okx() -> AsyncIterator[tuple[tradeflood.Session, Simulator, ScaledClock]]:
    clock = ScaledClock(60.0)
    settings = StreamSettings(backoff=Backoff(first=0.5, most=3.0), stale_after=3.0, open_timeout=5.0)
    async with Simulator({"okx": OkxVenue(clock=clock)}) as sim, \
            tradeflood.Session(urls=sim.urls(), clock=clock, store=False, stream_settings=settings) as s:
        sim.streams["okx"].ticker_interval = 3.0  # type: ignore[attr-defined]  # OKX: "every 3 seconds"
        yield s, sim, clock


def _open_interest_is_the_markets(sim: Simulator, base: str, items: list[Any]) -> None:
    market = sim.venues["okx"].market
    inst = market.find(f"{base}USDT", "perp")
    assert inst is not None and items
    for oi in items:
        assert isinstance(oi, OpenInterest) and oi.symbol == f"{base}/USDT:USDT" and oi.size > 0
        assert oi.size == fm.open_interest(market, inst, oi.timestamp)
        assert oi.value == fm.open_interest_value(market, inst, oi.timestamp)


def _ticker_is_the_markets(sim: Simulator, base: str, items: list[Any]) -> None:
    market = sim.venues["okx"].market
    inst = market.find(f"{base}USDT", "perp")
    assert inst is not None and items
    for t in items:
        assert isinstance(t, Ticker) and t.symbol == f"{base}/USDT:USDT"
        bids, asks = market.book(inst, t.timestamp, 1)
        day = market.window(inst, t.timestamp)
        assert (t.bid, t.ask, t.last) == (bids[0].price, asks[0].price, day.close)


@pytest.mark.parametrize(("model", "channel", "check"), [
    (OpenInterest, "open-interest", _open_interest_is_the_markets),
    (Ticker, "tickers", _ticker_is_the_markets),
])
async def test_a_quiet_okx_change_driven_topic_beside_an_active_one_is_left_alone(
        okx: tuple[tradeflood.Session, Simulator, ScaledClock], model: type, channel: str,
        check: Callable[[Simulator, str, list[Any]], None]) -> None:
    s, sim, clock = okx
    stats = sim.streams["okx"].stats
    got: dict[str, list[Any]] = {"BTC": [], "ETH": []}
    told: list[Any] = []
    subs = [s.subscribe(model, got[base].append, on_event=told.append, exchange="okx",
                        symbol=f"{base}/USDT:USDT") for base in got]
    for sub in subs:
        await sub.ready()
    await until(lambda: all(len(items) >= 3 for items in got.values()), timeout=20)
    subscribes = stats.subscribe_messages
    quiet_from = int(clock.time() * 1000)
    sim.quiet_topic("okx", f"{channel}:ETH-USDT-SWAP", QUIET)
    end = clock.monotonic() + QUIET
    await until(lambda: clock.monotonic() > end + 3.0, timeout=30)  # five clock minutes go by
    heard = len(got["ETH"])
    await until(lambda: len(got["ETH"]) >= heard + 3, timeout=20)  # and it speaks again by itself
    for sub in subs:
        await sub.close()
    assert stats.subscribe_messages == subscribes  # the quiet topic was not resubscribed
    assert stats.connections_accepted == 1 and told == []  # never reconnected, no event
    for base, items in got.items():
        check(sim, base, items)
    quiet_to = quiet_from + int(QUIET * 1000)
    eth = [x.timestamp for x in got["ETH"]]
    assert not [t for t in eth if quiet_from + 1_000 < t < quiet_to - 1_000]  # silent all along
    assert max(eth) >= quiet_to - 1_000
    btc = [x.timestamp for x in got["BTC"]]  # while the active topic went on every 3 clock seconds
    assert len([t for t in btc if quiet_from < t < quiet_to]) >= QUIET / 3 * 0.8


def _instrument(native: str) -> Instrument:
    return Instrument(exchange="okx", symbol="BTC/USDT:USDT", native_symbol=native, kind="linear",
                      base="BTC", quote="USDT", settle="USDT", contract_size=Decimal("0.01"), active=True)


@pytest.mark.parametrize("binding", [OkxOpenInterestStream, OkxTickerStream, OkxLiquidationStream])
def test_okx_change_driven_topics_expect_no_push_period(binding: type[StreamBinding]) -> None:
    """A topic the venue pushes only on change names no period to expect it at; OKX's funding
    rate, pushed every 30 to 90 seconds whatever happens, still does."""
    query = Query(binding.model, exchange="okx", symbol="BTC/USDT:USDT", live=True)
    assert binding(Okx()).topic(query, _instrument("BTC-USDT-SWAP")).expected_every is None
    funding = Query(FundingRate, exchange="okx", symbol="BTC/USDT:USDT", live=True)
    assert OkxFundingRateStream(Okx()).topic(funding, _instrument("BTC-USDT-SWAP")).expected_every == 180.0
