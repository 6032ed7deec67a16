"""Funding histories of a contract funding every hour (the simulator's SOL perpetual) on the four
venues: every row once, exact, gaps judged on the hourly grid, the interval learned for the session."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeflood import Gap, Query, Series, VirtualClock
from tradeflood.fundinghistory import STANDARD_FUNDING_MS, infer_funding_interval
from tradeflood.models import FundingRate
from tradeflood.testing import _funding_market as fm

from .conftest import BY_NAME, CASES, DAY, HOUR, NOW, VenueCase, make_session, on_grid, perp

SOL = "SOL/USDT:USDT"


def q(case: VenueCase, **kw: object) -> Query:
    return Query(FundingRate, exchange=case.name, symbol=SOL, now_ms=NOW, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_an_hourly_contract_pages_at_its_interval_and_reports_gaps_on_it(
        case: VenueCase, clock: VirtualClock) -> None:
    venue = case.make(clock=clock)
    start = NOW - 10 * DAY
    hole = (NOW - 5 * DAY, NOW - 5 * DAY + 3 * HOUR)
    venue.gaps.add(SOL, *hole)
    async with make_session(venue, clock) as s:
        [rates] = await s.agather(q(case, start=start))
        first = venue.stats.by_path[case.funding_path]
        venue.stats.reset()
        [again] = await s.agather(q(case, start=start))  # the interval is known: no lookup now
        second = venue.stats.by_path[case.funding_path]
    lacking = on_grid(*hole, HOUR)
    expected = [t for t in on_grid(start, NOW + 1, HOUR) if t not in lacking]
    assert isinstance(rates, Series) and len(expected) == 240 - 3
    assert [r.funding_time for r in rates] == expected  # every hour once, in order
    inst = perp(venue, "SOL")
    assert all(r.rate == fm.funding_rate(venue.market, inst, r.funding_time) for r in rates)
    assert rates.gaps == [Gap(lacking[0], lacking[-1] + HOUR, 3)]
    assert again == rates and again.gaps == rates.gaps
    pages = math.ceil(240 / case.funding_page)
    # Both planned at 1 hour, the first from the interval the venue states (one more page at
    # most: a grid edge, the hole's page).
    assert first <= pages + 1, first
    assert second <= pages + 1, second
    assert venue.stats.rejected_429 == 0


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_an_8_hour_contract_still_costs_what_it_did(case: VenueCase, clock: VirtualClock) -> None:
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        btc = Query(FundingRate, exchange=case.name, symbol="BTC/USDT:USDT", start=NOW - 30 * DAY, now_ms=NOW)
        plan = s.plan(btc)
        [rates] = await s.agather(btc)
    assert len(rates) == 90 and rates.gaps == []
    planned = sum(1 for t in plan.turns if t.path == case.funding_path)
    assert venue.stats.by_path[case.funding_path] == planned  # no page more


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_the_current_rate_of_an_hourly_contract(case: VenueCase, clock: VirtualClock) -> None:
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        [rate] = await s.agather(q(case))
    coming = NOW // HOUR * HOUR + HOUR
    assert rate.funding_time == coming
    assert rate.rate == fm.funding_rate(venue.market, perp(venue, "SOL"), coming)
    assert rate.interval_ms == HOUR  # Binance's from fundingInfo, the others' beside the rate


async def test_binance_states_adjusted_intervals_in_one_list_a_session(clock: VirtualClock) -> None:
    venue = BY_NAME["binance"].make(clock=clock)
    btc = Query(FundingRate, exchange="binance", symbol="BTC/USDT:USDT", now_ms=NOW)
    async with make_session(venue, clock) as s:
        sol, eight = await s.agather(q(BY_NAME["binance"]), btc)
        assert venue.stats.by_path["/fapi/v1/fundingInfo"] == 1  # one list for both symbols
        assert venue.stats.by_path["/fapi/v1/premiumIndex"] == 2
        assert sol.interval_ms == HOUR
        assert eight.interval_ms is None  # not in the list: Binance states nothing for it
        [again] = await s.agather(q(BY_NAME["binance"]))
        assert again.interval_ms == HOUR and venue.stats.by_path["/fapi/v1/fundingInfo"] == 1  # kept
        # The stated interval plans the history: 60 hourly days are two full pages, asked at once.
        history = q(BY_NAME["binance"], start=NOW - 60 * DAY)
        planned = [t for t in s.plan(history).turns if t.path == "/fapi/v1/fundingRate"]
        venue.stats.reset()
        [rates] = await s.agather(history)
    assert len(planned) == 2 and venue.stats.by_path["/fapi/v1/fundingRate"] == 2
    assert len(rates) == 60 * 24 and rates.gaps == []
    assert [r.funding_time for r in rates] == on_grid(NOW - 60 * DAY, NOW + 1, HOUR)


@given(step=st.sampled_from(STANDARD_FUNDING_MS), first=st.integers(0, 500_000), count=st.integers(2, 60),
       drop=st.sets(st.integers(1, 58), max_size=20))
def test_the_interval_is_the_grid_the_rows_sit_on(step: int, first: int, count: int, drop: set[int]) -> None:
    times = [(first + k) * step for k in range(count) if k == 0 or k not in drop]
    if len(times) >= 2 and min(b - a for a, b in itertools.pairwise(times)) == step:
        assert infer_funding_interval(times) == step
    else:
        assert infer_funding_interval(times) % step == 0  # coarser is all the rows can show
