"""The shared sliding window in Redis: the in-process rule, held across clients; the in-process
window when Redis cannot be reached."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tradeflood.bus import SharedRateLimits
from tradeflood.bus._limits import SharedWindow
from tradeflood.clock import LiveClock
from tradeflood.ratelimit import Limit, SlidingWindow

from .conftest import REDIS_URL


def _window(limits: SharedRateLimits, limit: Limit) -> SharedWindow:
    return SharedWindow(limits, f"ratelimit.{limits.egress}.sim.test", limit,
                        SlidingWindow(limit, limits.clock))


async def test_two_clients_on_one_egress_share_one_window(rds: Any) -> None:
    clock = LiveClock()
    limit = Limit(5, 1.0)
    a, b = SharedRateLimits(REDIS_URL, clock, egress="10.0.0.1"), SharedRateLimits(REDIS_URL, clock,
                                                                                   egress="10.0.0.1")
    other = SharedRateLimits(REDIS_URL, clock, egress="10.0.0.2")
    wa, wb, wo = _window(a, limit), _window(b, limit), _window(other, limit)
    leases = [await wa.acquire() for _ in range(3)] + [await wb.acquire() for _ in range(2)]
    assert int(rds.get("ratelimit.10.0.0.1.sim.test.sum")) == 5
    started = time.monotonic()
    await wo.acquire()  # another egress: its own window, no wait
    assert time.monotonic() - started < 0.5
    for lease in leases:
        lease.release()  # the weight now expires one window (1 s) after this
    released = time.monotonic()
    await wb.acquire()  # the sixth on this egress waits for the first expiry
    waited = time.monotonic() - released
    assert 0.9 <= waited < 3.0, waited
    for limits in (a, b, other):
        await limits.aclose()


async def test_without_redis_the_in_process_window_serves() -> None:
    limits = SharedRateLimits("redis://127.0.0.1:1/0", LiveClock(), egress="x")
    window = _window(limits, Limit(2, 1.0))
    lease = await window.acquire()
    assert window.local.in_window == 1  # taken from the in-process window
    lease.release()
    await limits.aclose()


async def test_a_burst_of_requests_waits_for_connections_instead_of_leaving_the_shared_window(
        rds: Any) -> None:
    import asyncio

    from tradeflood.bus._limits import SharedLease

    limits = SharedRateLimits(REDIS_URL, LiveClock(), egress="10.0.0.3")
    window = _window(limits, Limit(1000, 1.0))
    # More acquires at once than the client has connections: each must still be counted in Redis.
    leases = await asyncio.gather(*(window.acquire() for _ in range(300)))
    assert all(isinstance(lease, SharedLease) for lease in leases)
    assert window.local.in_window == 0 and int(rds.get("ratelimit.10.0.0.3.sim.test.sum")) == 300
    for lease in leases:
        lease.release()
    await limits.aclose()


async def test_a_shared_window_grants_no_more_than_the_rate_its_process_learnt(rds: Any) -> None:
    clock = LiveClock()
    limits = SharedRateLimits(REDIS_URL, clock, egress="10.0.0.4")
    limit = Limit(8, 1.0)
    window = SharedWindow(limits, "ratelimit.10.0.0.4.sim.learn", limit,
                          SlidingWindow(limit, clock, adaptive=True))
    assert window.adaptive is not None and window.count == 8
    first = await window.acquire()
    sent = clock.monotonic()
    first.release(sent_at=sent, status=429, retry_after=0.3)  # the venue refused: it allows less
    assert window.count == 4 and window.adaptive.learned and window.rate == 4.0
    started = time.monotonic()
    leases = [await window.acquire() for _ in range(3)]  # the Retry-After first, then 3 more fit
    assert 0.25 <= time.monotonic() - started < 0.9
    assert int(rds.get("ratelimit.10.0.0.4.sim.learn.sum")) == 4  # the learned 4, not the declared 8
    fifth = time.monotonic()
    leases.append(await window.acquire())  # waits for the refused request's weight to expire
    assert time.monotonic() - fifth >= 0.4
    for lease in leases:
        lease.release(sent_at=clock.monotonic(), status=200)
    await limits.aclose()


async def test_a_request_without_a_reply_holds_its_weight_past_the_window(rds: Any) -> None:
    """A cancelled or timed-out request may still reach the venue after the client gave up: its
    weight expires a window plus LATE_ARRIVAL_S after the release, not a window."""
    from tradeflood.ratelimit import LATE_ARRIVAL_S

    limits = SharedRateLimits(REDIS_URL, LiveClock(), egress="10.0.0.4")
    window = _window(limits, Limit(2, 1.0))
    answered, unanswered = await window.acquire(), await window.acquire()
    answered.release()
    unanswered.release(unanswered=True)
    await asyncio.gather(*limits._tasks)
    now_ms = int(rds.time()[0]) * 1000 + int(rds.time()[1]) // 1000
    expiries = sorted(score - now_ms for _, score in rds.zrange(window.key, 0, -1, withscores=True))
    assert len(expiries) == 2
    assert 500 < expiries[0] <= 1000
    assert 500 + LATE_ARRIVAL_S * 1000 < expiries[1] <= 1000 + LATE_ARRIVAL_S * 1000
    await limits.aclose()
