"""The sliding-window limiter never lets a window hold more than its limit, and wastes no time."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.clock import VirtualClock
from tradeflood.ratelimit import Limit, SlidingWindow


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
