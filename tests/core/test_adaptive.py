"""The adaptive rate (AIMD): down on a 429 honouring Retry-After, slowly back up, a floor, never
above the declared limit; and the pace of an adaptive window."""

from __future__ import annotations

import asyncio

import pytest

from tradeflood.adaptive import AdaptiveRate
from tradeflood.clock import VirtualClock
from tradeflood.ratelimit import Limit, SlidingWindow


def test_until_the_count_is_proven_no_more_than_a_burst_is_in_flight() -> None:
    async def main() -> None:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(20, 1.0), clock, adaptive=True)
        leases = [await window.acquire(1) for _ in range(5)]
        sixth = asyncio.ensure_future(window.acquire(1))
        await clock.sleep(0.5)  # slow answers: nothing more goes out meanwhile
        assert not sixth.done()
        leases[0].release()
        window.observe_reply(200, 1, sent_at=0.0)
        await asyncio.wait_for(sixth, 1.0)  # one back: one more may go
        assert clock.monotonic() == 0.5 and window.adaptive is not None and not window.adaptive.proven
        window.observe_reply(429, 1, sent_at=0.0)  # a refusal: the count is being learned
        assert window.adaptive.proven and window.count == 10

    asyncio.run(main())


def _warm(rate: AdaptiveRate, clock: VirtualClock) -> None:
    clock.advance(rate.per)


def test_a_quarter_of_the_count_goes_at_once_then_the_window_paces_the_rest_evenly() -> None:
    async def main() -> list[float]:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(20, 1.0), clock, adaptive=True)
        sent = []
        for _ in range(25):
            lease = await window.acquire(1)
            sent.append(clock.monotonic())
            lease.release()
            window.observe_reply(200, 1, sent_at=sent[-1])
        return sent

    sent = asyncio.run(main())
    assert sent[:5] == [0.0] * 5  # the burst: a quarter of the count
    assert sent[5:20] == pytest.approx([0.05 * i for i in range(1, 16)])  # then one every 1/20 s
    assert sent[20:] == [1.0] * 5  # the window still holds: nothing more before the first expire


def test_a_429_after_a_quiet_spell_lowers_the_rate_to_what_the_venue_just_admitted() -> None:
    clock = VirtualClock(start=0.0)
    rate = AdaptiveRate(20, 1.0, clock)
    _warm(rate, clock)
    for i in range(10):  # the venue really admits 10 a second
        rate.admitted(1, sent_at=clock.monotonic() - 0.5 + i * 0.05)
    rate.admitted(1, sent_at=clock.monotonic() - 1.5)  # a window earlier: not counted
    rate.refused()
    assert rate.count() == 10 and rate.rate == 10.0 and rate.learned and rate.limited == 1
    rate.refused(sent_at=clock.monotonic() - 0.2)  # sent before the decrease: nothing new
    assert rate.count() == 10 and rate.limited == 2


def test_repeated_429s_decrease_multiplicatively_down_to_the_floor_and_say_so() -> None:
    clock = VirtualClock(start=0.0)
    rate = AdaptiveRate(20, 1.0, clock)
    _warm(rate, clock)
    seen = []
    for _ in range(5):  # the venue admits nothing: every refusal halves the rate
        rate.refused()
        seen.append(rate.count())
    assert seen == [10, 5, 2, 2, 2]
    assert rate.at_floor and rate.floor == 2


def test_retry_after_pauses_the_window_until_it_has_passed() -> None:
    async def main() -> None:
        clock = VirtualClock(start=0.0)
        window = SlidingWindow(Limit(20, 1.0), clock, adaptive=True)
        lease = await window.acquire(1)
        lease.release()
        clock.advance(2.0)
        window.observe_reply(429, 1, retry_after=30.0)
        assert window.free_in(1) == 30.0
        started = clock.monotonic()
        await window.acquire(1)
        assert clock.monotonic() - started == 30.0

    asyncio.run(main())


def test_the_rate_probes_back_slowly_while_no_429_comes_and_never_above_the_declared_limit() -> None:
    clock = VirtualClock(start=0.0)
    rate = AdaptiveRate(20, 1.0, clock, probe_after=10.0)
    _warm(rate, clock)
    rate.refused()
    rate.refused()  # nothing admitted: 20 -> 10 -> 5
    assert rate.count() == 5
    rate.pressed()
    clock.advance(9.9)
    assert rate.count() == 5  # not yet
    clock.advance(0.1)
    assert rate.count() == 6  # one step after probe_after seconds held back without a 429
    clock.advance(10.0)
    assert rate.count() == 6  # not held back since: no reason to probe higher
    for _ in range(30):
        rate.pressed()
        clock.advance(10.0)
        rate.count()  # the window looks: the step due is taken
        rate.admitted(1)
    assert rate.count() == 20 and not rate.learned  # back to the declared limit, and no further


def test_a_probe_that_draws_a_429_waits_twice_as_long_before_the_next() -> None:
    clock = VirtualClock(start=0.0)
    rate = AdaptiveRate(20, 1.0, clock, probe_after=10.0)
    _warm(rate, clock)
    for _ in range(10):
        rate.admitted(1)
    rate.refused()
    assert rate.count() == 10
    rate.pressed()
    clock.advance(10.0)
    assert rate.count() == 11  # the probe
    for _ in range(10):
        rate.admitted(1)
    clock.advance(0.5)
    rate.refused()  # the venue's limit is 10 after all
    assert rate.count() == 10
    rate.pressed()
    clock.advance(10.0)
    assert rate.count() == 10  # the next probe waits 20 s
    clock.advance(10.0)
    assert rate.count() == 11


def test_a_used_weight_report_above_the_learned_count_lowers_it() -> None:
    clock = VirtualClock(start=0.0)
    window = SlidingWindow(Limit(6000, 60.0), clock, adaptive=True)
    assert window.adaptive is not None
    window.observe_used(3000, 30.0)  # within what the window allows: nothing learned
    assert not window.adaptive.learned
    window.observe_used(6500, 30.0)
    assert window.adaptive.learned and window.rate == 3000 / 60.0
    window.observe_used(6500, 29.0)  # the same report again, within the window: no second decrease
    assert window.rate == 3000 / 60.0


def test_a_window_that_is_not_adaptive_ignores_replies() -> None:
    clock = VirtualClock(start=0.0)
    window = SlidingWindow(Limit(20, 1.0), clock)
    window.observe_reply(429, 1, retry_after=5.0)
    assert window.count == 20 and window.free_in(1) == 0.0 and window.rate == 20.0
