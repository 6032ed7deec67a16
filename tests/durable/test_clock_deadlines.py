"""Deadlines read the Session's Clock (issue 12 scope 3): a virtual clock drives them, and a
request deadline on a sped-up clock is never shorter than its seconds of real time.

A venue in-process whose candle replies drip on the same virtual clock: each
byte of a body comes ``drip`` clock-seconds after the one before. The request
deadline and the fetch deadline must stop it at exactly their clock times, and
the test runs in well under a second of real time however long the clock says.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tradeflood import FetchError, RetryPolicy, Session, VirtualClock
from tradeflood.clock import ScaledClock, network_timeout, timeout, timeout_at
from tradeflood.errors import FetchDeadlineError, RequestTimeoutError
from tradeflood.models import Candle
from tradeflood.recording._clock import ReplayClock
from tradeflood.testing import BinanceVenue, BitgetVenue, Faults, Simulator, SimulatorTransport

from .hostile import HostileVenue

NOW = 1_717_200_030_000
HOUR = 3_600_000
CANDLES = ("/api/v2/spot/market/candles", "/api/v2/spot/market/history-candles")


class _Drip(httpx.AsyncByteStream):
    def __init__(self, body: bytes, clock: VirtualClock, every: float) -> None:
        self.body, self.clock, self.every = body, clock, every

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(len(self.body)):
            await self.clock.sleep(self.every)
            yield self.body[i:i + 1]


class Dripping(httpx.AsyncBaseTransport):
    """The simulator, but candle replies for ``symbol`` drip one byte per ``every`` clock seconds;
    ``delay`` clock seconds pass before any reply's headers."""

    def __init__(self, venue: BitgetVenue, clock: VirtualClock, *, every: float = 0.0,
                 delay: float = 0.0, symbol: str = "BTCUSDT") -> None:
        self.inner = SimulatorTransport({"bitget": venue})
        self.clock, self.every, self.delay, self.symbol = clock, every, delay, symbol
        self.started: list[float] = []  # clock time each candle request began

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        candle = request.url.path in CANDLES
        if candle:
            self.started.append(self.clock.monotonic())
            await self.clock.sleep(self.delay)
        response = await self.inner.handle_async_request(request)
        if not candle or not self.every or request.url.params.get("symbol") != self.symbol:
            return response
        body = await response.aread()
        return httpx.Response(200, headers={"content-type": "application/json"},
                              stream=_Drip(body, self.clock, self.every), request=request)


def _session(transport: httpx.AsyncBaseTransport, clock: VirtualClock, **kw: Any) -> Session:
    return Session(transport=transport, clock=clock, store=False, **kw)


async def test_timeout_at_on_a_virtual_clock_fires_at_its_clock_time() -> None:
    clock = VirtualClock(start=1000.0)
    real = time.monotonic()
    with pytest.raises(TimeoutError):
        async with timeout_at(clock, clock.monotonic() + 3600):
            await clock.sleep(7200)
    assert clock.monotonic() == 1000.0 + 3600
    async with timeout(clock, 10):  # a body that ends in time is left alone
        await clock.sleep(9)
    assert clock.monotonic() == 1000.0 + 3609
    assert time.monotonic() - real < 2  # an hour of clock time, no real wait


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    clock = VirtualClock()

    async def body() -> None:
        async with timeout(clock, 100):
            await asyncio.Event().wait()

    task = asyncio.ensure_future(body())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_scaled_clock_shortens_the_deadline() -> None:
    clock = ScaledClock(100.0)
    real = time.monotonic()
    with pytest.raises(TimeoutError):
        async with timeout(clock, 50):  # 0.5 s of real time
            await asyncio.sleep(30)
    assert 0.3 < time.monotonic() - real < 5


async def test_the_request_deadline_runs_on_the_session_clock() -> None:
    clock = VirtualClock(start=NOW / 1000)
    transport = Dripping(BitgetVenue(clock=clock), clock, every=2.0)  # a 2 s pause before each byte
    tries = RetryPolicy(attempts=3, backoff=1.0, max_backoff=1.0)
    async with _session(transport, clock, request_deadline=30.0, retry=tries) as s:
        real, began = time.monotonic(), clock.monotonic()
        with pytest.raises(FetchError) as caught:
            await s.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h", start="-2d",
                           end="-1d")
        took = clock.monotonic() - began
    assert isinstance(caught.value.cause, RequestTimeoutError)
    assert "request deadline of 30 s" in str(caught.value.cause)
    starts = transport.started
    assert len(starts) == 3  # every try stopped at its deadline, then retried
    # Each try ran its 30 clock seconds to the deadline, then waited its backoff (1 s + jitter).
    assert all(30.0 <= b - a <= 32.0 for a, b in itertools.pairwise(starts)), starts
    assert 90.0 <= took <= 95.0, took
    assert time.monotonic() - real < 5  # the drip alone would take 2 s x ~1,000 bytes a try


async def test_the_fetch_deadline_runs_on_the_session_clock() -> None:
    clock = VirtualClock(start=NOW / 1000)
    # Every candle reply takes 40 clock seconds; ETH/USDT comes whole, BTC/USDT drips for ever.
    transport = Dripping(BitgetVenue(clock=clock), clock, every=5.0, delay=40.0)
    async with _session(transport, clock, deadline=100.0) as s:
        good = s.query(Candle, exchange="bitget", symbol="ETH/USDT", interval="1h", start="-2d", end="-1d")
        bad = s.query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h", start="-2d", end="-1d")
        real, began = time.monotonic(), clock.monotonic()
        with pytest.raises(FetchDeadlineError) as caught:
            await s.agather(good, bad)
        took = clock.monotonic() - began
        # A deadline on one call overrides the session's, on the same clock.
        began = clock.monotonic()
        with pytest.raises(FetchDeadlineError):
            await s.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h", start="-2d",
                           end="-1d", deadline=45.0)
        one_call = clock.monotonic() - began
    assert took == pytest.approx(100.0, abs=0.01)
    assert one_call == pytest.approx(45.0, abs=0.01)
    error = caught.value
    assert error.deadline == 100.0
    assert len(error.partial[0]) == 24 and [c.open_time % HOUR for c in error.partial[0]] == [0] * 24
    assert list(error.partial[1]) == []
    assert time.monotonic() - real < 5


# -- A request deadline bounds real network I/O: on a sped-up clock, never shorter in real time ----


async def test_a_network_deadline_on_a_scaled_clock_lasts_its_real_seconds() -> None:
    clock = ScaledClock(100.0)
    real = time.monotonic()
    with pytest.raises(TimeoutError):
        async with network_timeout(clock, 1.0):  # 0.01 s of real time on the clock alone
            await asyncio.sleep(30)
    waited = time.monotonic() - real
    assert 1.0 <= waited < 5, waited
    assert clock.monotonic() >= 100.0  # by then the clock had run well past its own 1 s
    real = time.monotonic()
    async with network_timeout(clock, 1.0):  # an I/O that takes 0.3 real s (30 clock s) is left alone
        await asyncio.sleep(0.3)
    assert time.monotonic() - real < 1.0


async def test_a_network_deadline_on_a_slowed_clock_keeps_the_clock_time() -> None:
    clock = ScaledClock(0.5)  # slower than real time: the clock's own deadline is the later one
    real = time.monotonic()
    with pytest.raises(TimeoutError):
        async with network_timeout(clock, 0.5):
            await asyncio.sleep(30)
    assert 1.0 <= time.monotonic() - real < 5


async def test_a_network_deadline_on_a_virtual_clock_fires_at_its_exact_instant() -> None:
    clock = VirtualClock(start=1000.0)
    real = time.monotonic()
    with pytest.raises(TimeoutError):
        async with network_timeout(clock, 3600):
            await clock.sleep(7200)
    assert clock.monotonic() == 1000.0 + 3600
    assert time.monotonic() - real < 2  # no real floor where no real time passes


async def test_a_scaled_session_waits_for_a_slow_venue_within_its_request_deadline() -> None:
    """60x: a 60 s request deadline is one real second on the clock, but the venue answers every
    request after 1.5 real seconds; the deadline bounds network I/O, so it waits a real minute."""
    clock = ScaledClock(60.0, start=NOW / 1000)
    venue = BinanceVenue(clock=clock, faults=Faults(latency=(1.5, 1.5)))
    async with Simulator({"binance": venue}, ws=False) as sim, \
            Session(urls=sim.urls(), clock=clock, store=False, request_deadline=60.0,
                    retry=RetryPolicy(attempts=1)) as s:
        real = time.monotonic()
        candles = await s.afetch(Candle, exchange="binance", symbol="BTC/USDT", interval="1h",
                                 start="-2d", end="-1d")
        took = time.monotonic() - real
        stats = s.stats
    assert took >= 1.5  # every answer came after the venue's real 1.5 s: past the clock's 60 s
    assert len(candles) == 24
    assert [c.open_time % HOUR for c in candles] == [0] * 24
    assert all(c.low <= min(c.open, c.close) and max(c.open, c.close) <= c.high for c in candles)
    assert stats.retries == 0 and stats.failures == 0


async def test_a_scaled_session_still_stops_a_dripping_body_at_its_request_deadline() -> None:
    """The floor is the deadline's own seconds in real time, no more: a body dripping for ever
    stops after about 1 real second on a 60x clock with a 1 s request deadline."""
    clock = ScaledClock(60.0, start=NOW / 1000)
    async with HostileVenue(BinanceVenue(clock=clock), "BTCUSDT", mode="drip", drip_every=0.2) as hostile, \
            Session(urls={"binance": {"rest": hostile.url}}, clock=clock, store=False,
                    request_deadline=1.0, retry=RetryPolicy(attempts=1)) as s:
        real = time.monotonic()
        with pytest.raises(FetchError) as caught:
            await s.afetch(Candle, exchange="binance", symbol="BTC/USDT", interval="1h", start="-2d",
                           end="-1d")
        took = time.monotonic() - real
    assert isinstance(caught.value.cause, RequestTimeoutError)
    assert "request deadline of 1 s" in str(caught.value.cause)
    assert hostile.hostile_requests == 1
    assert 1.0 <= took < 10, took  # its 1 s of real time (a drip of 1,000 bytes takes 200 s)


async def test_a_full_speed_replay_clock_applies_no_network_deadline_of_its_own() -> None:
    """A replay's requests end as the recording says (a reply, or a recorded stop)."""
    clock = ReplayClock(1000.0)
    clock.release()  # runs by itself, like a virtual clock
    async with network_timeout(clock, 5):
        await clock.sleep(60)
    assert clock.monotonic() == 1060.0
