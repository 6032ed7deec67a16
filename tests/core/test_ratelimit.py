"""The sliding-window limiter never lets a window hold more than its limit, and wastes no time."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.clock import VirtualClock
from tradeflood.ratelimit import LATE_ARRIVAL_S, Limit, SlidingWindow


async def _run(limit: Limit, weights: list[int], latency: float) -> list[tuple[float, float, int]]:
    clock = VirtualClock(start=0.0)
    window = SlidingWindow(limit, clock)
    spans: list[tuple[float, float, int]] = []

    async def request(w: int) -> None:
        lease = await window.acquire(w)
        sent = clock.monotonic()
        await clock.sleep(latency)
        lease.release()
        spans.append((sent, clock.monotonic(), lease.weight))

    await asyncio.gather(*(request(w) for w in weights))
    return spans


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(1, 20),
    per=st.sampled_from([0.5, 1.0, 60.0]),
    weights=st.lists(st.integers(1, 5), min_size=1, max_size=60),
    latency=st.sampled_from([0.0, 0.01, 0.3]),
)
def test_no_window_the_venue_can_see_exceeds_the_limit(
    count: int, per: float, weights: list[int], latency: float
) -> None:
    spans = asyncio.run(_run(Limit(count, per), weights, latency))
    assert len(spans) == len(weights)
    # The venue counts a request at some instant between send and reply; the worst
    # case for a window starting at any send is every request that may fall in it.
    for start, _, _ in spans:
        held = sum(w for s, r, w in spans if s < start + per and r >= start)
        assert held <= count


def test_throughput_reaches_the_bound() -> None:
    spans = asyncio.run(_run(Limit(20, 1.0), [1] * 200, 0.001))
    first, last = min(s for s, _, _ in spans), max(s for s, _, _ in spans)
    # 200 requests at 20/s: the bound is 9 windows after the first burst.
    assert 9.0 <= last - first <= 9.0 * 1.05


def test_venue_reported_weight_is_respected() -> None:
    async def main() -> float:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(100, 60.0), clock)
        window.observe_used(95, window_reset_in=30.0)  # another client used 95 already
        assert window.in_window == 95
        await window.acquire(5)
        lease = await window.acquire(1)  # must wait for the venue's window to reset
        lease.release()
        return clock.monotonic()

    assert asyncio.run(main()) >= 30.0


def test_a_cancelled_waiter_holds_nothing() -> None:
    async def main() -> int:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(2, 1.0), clock)
        first = await window.acquire(2)
        waiter = asyncio.ensure_future(window.acquire(1))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        first.release()
        await clock.sleep(1.0)
        return window.in_window

    assert asyncio.run(main()) == 0


# -- weight counted from the estimated arrival (tradeflood.ratelimit's module docstring) --------


async def _venue_run(limit: Limit, trips: list[tuple[int, float, float, int]], allowance: float,
                     ) -> tuple[list[tuple[float, int]], float]:
    """Send one request per (weight, up, down, status) through a window that releases with
    the round trip; returns the venue's arrivals (time, weight) and the last send."""
    clock = VirtualClock(start=0.0)
    window = SlidingWindow(limit, clock)
    window.arrivals.floor_s = allowance
    arrivals: list[tuple[float, int]] = []
    last_send = 0.0

    async def request(weight: int, up: float, down: float, status: int) -> None:
        nonlocal last_send
        lease = await window.acquire(weight)
        sent = clock.monotonic()
        last_send = max(last_send, sent)
        await clock.sleep(up)
        arrivals.append((clock.monotonic(), lease.weight))
        await clock.sleep(down)
        lease.release(sent_at=sent, status=status)

    await asyncio.gather(*(request(*t) for t in trips))
    return arrivals, last_send


def _busiest_venue_window(arrivals: list[tuple[float, int]], per: float) -> int:
    # The venue's rolling window at t counts arrivals in (t - per, t]; the fullest ends at an arrival.
    # (1e-9: a request sent exactly when an earlier one's weight expired, give or take float rounding.)
    return max(sum(w for a, w in arrivals if t - per + 1e-9 < a <= t) for t, _ in arrivals)


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 20),
    per=st.sampled_from([0.5, 1.0]),
    base_up=st.sampled_from([0.0, 0.01, 0.05, 0.3]),
    base_down=st.sampled_from([0.0, 0.02, 0.05]),
    jitter=st.sampled_from([0.0, 0.005, 0.03]),
    data=st.data(),
)
def test_no_venue_window_exceeds_the_limit_when_jitter_is_within_the_estimate(
    count: int, per: float, base_up: float, base_down: float, jitter: float, data: st.DataObject,
) -> None:
    n = data.draw(st.integers(1, 80), label="requests")
    trips = [(data.draw(st.integers(1, 3)),
              base_up + data.draw(st.floats(0.0, jitter)),       # one-way delay within the allowance
              base_down + data.draw(st.floats(0.0, 0.2)),        # any return path
              data.draw(st.sampled_from([200] * 9 + [429])))
             for _ in range(n)]
    arrivals, _ = asyncio.run(_venue_run(Limit(count, per), trips, allowance=jitter))
    assert len(arrivals) == n
    assert _busiest_venue_window(arrivals, per) <= count


def test_at_100ms_round_trip_throughput_is_within_5_percent_of_the_bound() -> None:
    trips = [(1, 0.05, 0.05, 200)] * 400
    arrivals, last_send = asyncio.run(_venue_run(Limit(20, 1.0), trips, allowance=0.0))
    assert _busiest_venue_window(arrivals, 1.0) == 20
    # 400 requests at 20/s: 19 windows after the first burst. The conservative rule
    # (weight held until a window after the reply) needs 19 x 1.1 s.
    assert 19.0 <= last_send <= 19.0 * 1.05


def test_a_429_makes_the_window_conservative_again() -> None:
    async def main() -> tuple[float, float]:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(1, 1.0), clock)
        holds = []
        for status in [200] * 10 + [429, 200]:
            lease = await window.acquire(1)
            sent = clock.monotonic()
            await clock.sleep(0.1)
            lease.release(sent_at=sent, status=status)
            holds.append(window._expiries[-1][0] - sent)
        return holds[9], holds[11]

    early, after_429 = asyncio.run(main())
    assert early == pytest.approx(1.01)  # per + the allowance's floor (10% of the 100 ms round trip)
    assert after_429 == pytest.approx(1.1)  # per + the whole round trip


@pytest.mark.parametrize(("unanswered", "hold"), [(False, 1.0), (True, 1.0 + LATE_ARRIVAL_S)])
def test_a_request_without_a_round_trip_holds_a_window_from_its_release(unanswered: bool,
                                                                       hold: float) -> None:
    """Released without ``sent_at`` (no round trip to learn from): a window from the release; given
    up on (cancelled, timed out: ``unanswered``), LATE_ARRIVAL_S more, since the venue may still
    count it after the release."""
    async def main() -> float:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(1, 1.0), clock)
        lease = await window.acquire(1)
        await clock.sleep(0.5)
        lease.release(unanswered=unanswered)
        return window._expiries[-1][0]

    assert asyncio.run(main()) == pytest.approx(0.5 + hold)
