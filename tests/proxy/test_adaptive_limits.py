"""A venue whose real per-IP limit is half the declared one (a Bitget that allows 10 requests a
second where Bitget documents 20): the rate is learned per egress, a few 429s never block a proxy,
and a backfill completes, direct or through one tinyproxy, with a handful of 429s.

(The simulator's knob for a per-IP limit lower than the declared one is the venue's own:
``BitgetVenue(requests_per_second=10)``, ``BybitVenue(requests_per_5s=...)``,
``BinanceVenue(spot_weight_per_minute=...)``.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tradeflood import ProxyScheme, Session, VirtualClock
from tradeflood.models import Candle
from tradeflood.proxy import ProxyBlocked, ProxyEvent
from tradeflood.testing import BitgetVenue, Simulator, SimulatorTransport
from tradeflood.testing._tinyproxy import TinyProxy

MINUTE, DAY = 60_000, 86_400_000
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PAGES = 40  # 1m history pages of 200 candles: about 5.5 days, 4 s at the venue's real 10/s


@pytest.fixture
def half() -> Iterator[Simulator]:
    """Bitget's simulator enforcing 10 requests per second per IP and endpoint (Bitget declares 20)."""
    with Simulator(venues={"bitget": BitgetVenue(requests_per_second=10)}) as simulator:
        yield simulator


def _backfill(s: Session) -> tuple[list[int], list[int]]:
    start = (int(time.time() * 1000) // DAY - 60) * DAY  # beyond the 30-day look-back: history pages
    end = start + PAGES * 200 * MINUTE
    candles = s.fetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m", start=start, end=end)
    assert candles.gaps == []
    return [c.open_time for c in candles], list(range(start, end, MINUTE))


async def test_a_backfill_direct_learns_the_real_limit_with_a_handful_of_429s_within_its_bound() -> None:
    # in-process, on a virtual clock: the venue's 10 a second is exact, whatever the machine's load
    clock = VirtualClock(start=NOW / 1000)
    venue = BitgetVenue(clock=clock, requests_per_second=10)
    start, end = NOW - 50 * DAY, NOW - 40 * DAY  # 72 history pages of 200
    async with Session(transport=SimulatorTransport({"bitget": venue}), clock=clock, store=False) as s:
        query = s.query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m", start=start, end=end)
        await s.agather(s.query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1d", start="-3d"))
        pages = s.plan(query).requests
        began = clock.monotonic()
        [series] = await s.agather(query)
        took = clock.monotonic() - began
        stats, learned = s.stats, s.learned_rates()
        plan = s.plan(s.query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m",
                              start=start - 10 * DAY, end=start))
    assert [c.open_time for c in series] == list(range(start, end, MINUTE)) and series.gaps == []
    assert venue.stats.rejected_429 <= 5, venue.stats.rejected_429
    assert stats.failures == 0 and stats.rate_limited == venue.stats.rejected_429
    true_bound = -(-pages // 10) - 1  # seconds, at the venue's real 10 a second
    assert took <= 1.2 * true_bound, (took, true_bound)
    [(key, rate)] = list(learned.items())
    assert key == ("bitget", "spot-history-candles") and 9.0 <= rate <= 11.0  # not the declared 20
    assert stats.learned_rates == {"bitget/spot-history-candles": rate}
    # the next plan's estimate counts at the learned rate, and says so
    assert f"learned {rate:g}/s" in plan.explain()
    assert plan.estimated_seconds() == (-(-plan.requests // int(rate)) - 1) * 1.0


@pytest.mark.integration
def test_one_tinyproxy_carries_the_backfill_without_being_declared_blocked(
        half: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    [proxy] = tinyproxies(1)
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"*": [proxy.url]}, on_event=events.append)
    with Session(urls={"bitget": {"rest": half.url("bitget")}}, proxies=scheme, store=False) as s:
        got, expected = _backfill(s)
        stats = s.stats
    assert got == expected  # no "no proxy of pool '*' can carry the request"
    assert not [e for e in events if isinstance(e, ProxyBlocked)]
    venue = half.venues["bitget"].stats
    # Fewer than one declared window's worth: the rate came down at the first 429, and only the
    # requests already on their way met one (how many depends on this machine's latency; the
    # exact figure on a venue that answers at once is in the virtual-clock test above).
    assert venue.rejected_429 < 20, venue.rejected_429
    assert venue.by_ip.get("127.0.0.2") == venue.requests  # everything went through the proxy
    assert stats.rate_limited == venue.rejected_429
    # (whether the rate was learned depends on how fast this machine lets the simulator answer)
    assert all(name.startswith(proxy.url) for name in stats.learned_rates)
    [st] = scheme.stats()
    assert st.state == "up" and st.blocked_by == () and st.failures.get("blocked", 0) == 0
