"""An adaptive window against a venue enforcing less than it declares, on a virtual clock: it
converges to the venue's real rate within a few windows, does not oscillate beyond a bound, draws
a handful of 429s, recovers from a decrease made on a measure taken while replies were still out,
and holds new sends after a decrease until the requests sent at the old rate have answered."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeflood.adaptive import AdaptiveRate
from tradeflood.clock import VirtualClock
from tradeflood.ratelimit import Limit, SlidingWindow
from tradeflood.testing._limits import RollingLimit


@dataclass
class Run:
    """What one driven backfill saw."""

    admitted: list[float] = field(default_factory=list)  # when the venue admitted each request
    refused: list[float] = field(default_factory=list)  # when it refused one (429)
    counts: list[tuple[float, int]] = field(default_factory=list)  # (time, learned count) after each reply
    finished: float = 0.0  # when the last needed request was admitted
    most_in_flight: int = 0


async def _drive(window: SlidingWindow, clock: VirtualClock, *, true: int, requests: int,
                 one_way: tuple[float, float], workers: int = 32, seed: int = 0) -> Run:
    """``workers`` tasks send ``requests`` admitted requests through ``window`` to a venue that
    admits ``true`` a second per rolling second, each way taking ``one_way`` (uniform) seconds."""
    rng = random.Random(seed)
    venue = RollingLimit(per_window=true)
    run = Run()
    in_flight = 0

    async def worker() -> None:
        nonlocal in_flight
        while len(run.admitted) < requests:
            lease = await window.acquire(1)
            if len(run.admitted) >= requests:
                lease.release()
                return
            sent = clock.monotonic()
            in_flight += 1
            run.most_in_flight = max(run.most_in_flight, in_flight)
            await clock.sleep(rng.uniform(*one_way))
            ok = venue.admit("ip", "endpoint", clock.monotonic())
            (run.admitted if ok else run.refused).append(clock.monotonic())
            last = ok and len(run.admitted) == requests
            await clock.sleep(rng.uniform(*one_way))
            in_flight -= 1
            lease.release(sent_at=sent, status=200 if ok else 429)
            run.counts.append((clock.monotonic(), window.count))
            if last:
                run.finished = clock.monotonic()  # its reply is back: the backfill is done

    await asyncio.gather(*(worker() for _ in range(workers)))
    return run


def _backfill(true: int, requests: int, one_way: tuple[float, float], declared: int = 20,
              seed: int = 0) -> tuple[Run, AdaptiveRate]:
    async def main() -> tuple[Run, AdaptiveRate]:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(declared, 1.0), clock, adaptive=True)
        assert window.adaptive is not None
        return await _drive(window, clock, true=true, requests=requests, one_way=one_way, seed=seed), \
            window.adaptive

    return asyncio.run(main())


def _bound(requests: int, rate: int) -> int:
    """Seconds the venue's real limit needs at the least: every window full, the first at once."""
    return -(-requests // rate) - 1


def test_a_half_rate_venue_is_learnt_within_a_window_with_two_429s_and_no_oscillation() -> None:
    run, rate = _backfill(true=10, requests=432, one_way=(0.001, 0.003))
    assert len(run.refused) <= 3, run.refused
    assert run.refused[0] < 1.0  # the first window already finds the real limit
    settled = [c for t, c in run.counts if t >= 2.0]
    # from the second window on the count sits at the venue's 10, a probe of one above at most
    assert min(settled) >= 9 and max(settled) <= 11, (min(settled), max(settled))
    assert run.finished <= 1.05 * _bound(432, 10), run.finished
    assert rate.count() == 10 and rate.good == 10


def test_with_slow_jittery_replies_the_rate_still_settles_at_the_venues() -> None:
    # replies take 100 to 300 ms, so refusals come back while a window of requests is still out
    run, rate = _backfill(true=10, requests=144, one_way=(0.05, 0.15), seed=3)
    assert len(run.refused) <= 6, run.refused
    settled = [c for t, c in run.counts if t >= 4.0]
    assert min(settled) >= 8 and max(settled) <= 11, (min(settled), max(settled))
    assert run.finished <= 1.2 * _bound(144, 10), run.finished
    assert 9 <= rate.count() <= 11


def test_replies_slower_than_a_burst_per_window_still_find_the_venues_rate() -> None:
    # 800 ms round trips: a fixed cap of a burst (5) in flight would allow only 6 a second,
    # below the venue's 10, and the count would never be learnt
    run, rate = _backfill(true=10, requests=200, one_way=(0.4, 0.4))
    assert len(run.refused) <= 3, run.refused
    assert rate.count() == 10 and run.most_in_flight >= 8
    assert run.finished <= 1.25 * _bound(200, 10), run.finished


def test_round_trips_longer_than_the_window_go_at_a_count_per_round_trip_not_per_reply() -> None:
    # 2 s round trips: the weight in flight is held, so at most the count (10) goes per round trip,
    # 5 a second; the pace's wakes must not wait for the next reply (or for the next probe)
    run, rate = _backfill(true=10, requests=200, one_way=(1.0, 1.0))
    assert len(run.refused) <= 3 and rate.count() == 10
    assert run.finished <= 2.5 * _bound(200, 10), run.finished


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(true=st.integers(4, 20), latency_ms=st.integers(1, 60), seed=st.integers(0, 1000))
def test_whatever_the_real_limit_the_count_converges_to_it_and_stays_near(true: int, latency_ms: int,
                                                                       seed: int) -> None:
    one_way = (latency_ms / 2000, latency_ms / 1000)
    run, rate = _backfill(true=true, requests=12 * true, one_way=one_way, seed=seed)
    assert len(run.refused) <= 8, run.refused  # a handful, whatever the gap to the declared 20
    counts = [c for _, c in run.counts]
    assert all(rate.floor <= c <= 20 for c in counts)  # never past the declared count or the floor
    settled = [c for t, c in run.counts if t >= 4.0]  # within four windows of the start
    assert min(settled) >= 0.7 * true and max(settled) <= true + 1, (min(settled), max(settled))
    assert run.finished <= 1.3 * _bound(12 * true, true) + 1, run.finished


def test_a_decrease_made_while_replies_were_out_is_undone_within_a_few_windows() -> None:
    clock = VirtualClock(start=0.0)
    rate = AdaptiveRate(20, 1.0, clock)
    clock.advance(1.0)
    for i in range(4):  # the venue admits 10 a second, but only 4 replies are back yet
        rate.admitted(1, sent_at=0.1 * i + 0.05)
    rate.refused(sent_at=1.0)
    assert rate.count() == 10  # never more than halved at once, however low the measure
    rate.refused(sent_at=1.0)  # sent as the count went down, with the same 4 replies back
    assert rate.count() == 5 and rate.good == 4
    for i in range(4, 10):  # the late replies of that window: the venue admitted 10 after all
        rate.admitted(1, sent_at=0.1 * i + 0.05)
    assert rate.good == 10
    seen = []
    for _ in range(4):  # held back each window, no refusal: half the way back to 10 a window
        rate.pressed()
        clock.advance(1.0)
        seen.append(rate.count())
    assert seen == [8, 9, 10, 10]  # and at the known-good count, the slow probes above it
    rate.pressed()
    clock.advance(rate.probe_after - 1.1)  # probe_after since it reached 10, a window ago
    assert rate.count() == 10
    clock.advance(0.1)
    assert rate.count() == 11


def test_after_a_decrease_nothing_goes_until_what_was_sent_at_the_old_rate_has_answered() -> None:
    async def main() -> None:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(20, 1.0), clock, adaptive=True)
        leases = [await window.acquire(1) for _ in range(5)]  # the burst, all slow to answer
        clock.advance(0.4)
        leases[0].release(sent_at=0.0, status=429)  # the first answer is a refusal
        assert window.count == 10 and window.in_window == 5
        blocked = asyncio.ensure_future(window.acquire(1))
        await clock.sleep(0.3)
        assert not blocked.done()  # four requests from before the decrease are still out
        for lease in leases[1:4]:
            lease.release(sent_at=0.0, status=200)
        await clock.sleep(0.01)
        assert not blocked.done()
        leases[4].release(sent_at=0.0, status=200)  # the last one answered: sending resumes
        await asyncio.wait_for(blocked, 1.0)
        assert clock.monotonic() == pytest.approx(0.71)

    asyncio.run(main())


def test_stale_in_flight_requests_hold_sends_back_for_one_window_at_most() -> None:
    async def main() -> None:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(20, 1.0), clock, adaptive=True)
        leases = [await window.acquire(1) for _ in range(5)]
        leases[0].release(sent_at=0.0, status=429)  # the others never answer (a hung connection)
        started = clock.monotonic()
        await window.acquire(1)
        assert clock.monotonic() - started == pytest.approx(1.0)

    asyncio.run(main())


def test_a_429_released_with_its_lease_lowers_the_count_before_the_freed_weight_goes_again() -> None:
    async def main() -> None:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(4, 1.0), clock, adaptive=True, )
        first = await window.acquire(1)
        waiting = asyncio.ensure_future(window.acquire(1))
        await asyncio.sleep(0)
        first.release(sent_at=0.0, status=429)  # would free a slot of the declared 4 at once
        assert window.count == 2
        await asyncio.sleep(0)
        assert not waiting.done()  # not granted at the old count
        waiting.cancel()

    asyncio.run(main())


def test_a_refusal_at_a_count_the_venue_admitted_makes_the_timing_conservative_one_above_does_not() -> None:
    clock = VirtualClock(start=0.0)
    window = SlidingWindow(Limit(20, 1.0), clock, adaptive=True)
    assert window.adaptive is not None
    clock.advance(1.0)
    for i in range(10):
        window.observe_reply(200, 1, sent_at=0.1 * i + 0.05)
    window.observe_reply(429, 1, sent_at=1.0)  # at 20, above anything admitted: the count's fault
    assert window.count == 10 and window.arrivals.hold(0.2, clock.monotonic()) == 0.2  # warming up
    for _ in range(10):
        window.arrivals.hold(0.1, clock.monotonic())
    assert window.arrivals.hold(0.2, clock.monotonic()) < 0.2  # the estimate is trusted
    clock.advance(1.0)
    for i in range(10):
        window.observe_reply(200, 1, sent_at=1.0 + 0.1 * i + 0.05)
    window.observe_reply(429, 1, sent_at=2.0)  # at 10, which the venue admitted: the timing's fault
    assert window.arrivals.hold(0.2, clock.monotonic()) == 0.2


def test_a_refusal_after_a_whole_declared_window_was_admitted_is_the_timings_fault() -> None:
    clock = VirtualClock(start=0.0)
    window = SlidingWindow(Limit(20, 1.0), clock, adaptive=True)
    for _ in range(10):
        window.arrivals.hold(0.1, clock.monotonic())
    clock.advance(1.0)
    for i in range(19):  # the venue let (about) the declared count through, then refused
        window.observe_reply(200, 1, sent_at=0.05 * i + 0.05)
    window.observe_reply(429, 1, sent_at=1.0)
    assert window.arrivals.hold(0.2, clock.monotonic()) == 0.2  # conservative again


def test_a_refusal_of_a_request_granted_before_the_decrease_but_sent_after_it_lowers_nothing() -> None:
    async def main() -> None:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(20, 1.0), clock, adaptive=True)
        first, late = await window.acquire(1), await window.acquire(1)  # late: granted, not sent yet
        clock.advance(0.2)
        first.release(sent_at=0.0, status=429)
        assert window.count == 10
        late.release(sent_at=0.3, status=429)  # went out after the decrease (a slow connection)
        assert window.count == 10  # granted at the old count: nothing new learnt

    asyncio.run(main())
