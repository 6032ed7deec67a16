"""FundingRate on the four venues over their simulators: current values, paged histories with a
gap, the store, deduplicated gathers and spot symbols refused before any request."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest

from tradeflood import Gap, Query, Series, VirtualClock, registry
from tradeflood.errors import QueryError
from tradeflood.models import FundingRate, OpenInterest, Ticker
from tradeflood.store import CandleStore
from tradeflood.testing import _funding_market as fm

from .conftest import BY_NAME, CASES, DAY, NOW, STEP, SYMBOL, VenueCase, make_session, on_grid, perp

COMING = NOW // STEP * STEP + STEP  # 2024-06-01T08:00Z


def q(case: VenueCase, **kw: object) -> Query:
    return Query(FundingRate, exchange=case.name, symbol=SYMBOL, now_ms=NOW, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_the_current_rate_is_the_coming_fundings(case: VenueCase, clock: VirtualClock) -> None:
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        [rate] = await s.agather(q(case))
    inst = perp(venue)
    assert isinstance(rate, FundingRate) and (rate.exchange, rate.symbol) == (case.name, SYMBOL)
    assert rate.funding_time == COMING and rate.rate == fm.funding_rate(venue.market, inst, COMING)
    assert rate.rate == Decimal("0.000041")  # the simulator's rate for that time, exactly
    if case.name in ("binance", "bybit"):  # the venues that state the mark and index prices with it
        assert rate.mark_price == venue.market.price(inst, NOW)
        assert rate.index_price == fm.index_price(venue.market, inst, NOW)
        assert rate.timestamp == NOW
    else:
        assert rate.mark_price is None and rate.index_price is None
    if case.name in ("okx", "bitget"):  # the venues that state the interval
        assert rate.interval_ms == STEP
    if case.name == "okx":
        assert rate.next_funding_time == COMING + STEP and rate.next_rate is None  # OKX sends ""
    assert venue.stats.rejected_429 == 0


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_a_history_of_many_pages_is_exact_and_reports_the_venues_gap(
    case: VenueCase, clock: VirtualClock
) -> None:
    venue = case.make(clock=clock)
    start = NOW - case.funding_days * DAY
    hole = (NOW - case.funding_days * DAY // 2, NOW - case.funding_days * DAY // 2 + 2 * DAY)
    venue.gaps.add(SYMBOL, *hole)
    async with make_session(venue, clock) as s:
        plan = s.plan(q(case, start=start))
        [rates] = await s.agather(q(case, start=start))
    lacking = on_grid(*hole, STEP)
    expected = [t for t in on_grid(start, NOW + 1, STEP) if t not in lacking]
    assert isinstance(rates, Series) and len(lacking) == 6
    assert [r.funding_time for r in rates] == expected  # each once, in order, on the 8-hour grid
    inst = perp(venue)
    assert all(r.rate == fm.funding_rate(venue.market, inst, r.funding_time) for r in rates)
    assert rates.gaps == [Gap(lacking[0], lacking[-1] + STEP, 6)]
    pages = venue.stats.by_path[case.funding_path]
    planned = sum(1 for t in plan.turns if t.path == case.funding_path)
    # OKX's 8-hour rows of its 90-day look-back fit one 400-row page; its paging is shown on an
    # hourly contract (test_stated_interval.py).
    assert planned >= min(3, math.ceil(len(expected) / case.funding_page))
    assert len(expected) <= planned * case.funding_page
    # Every planned page once, and one request more: the page holding the gap, asked once more
    # as any short page is; on Bitget, the page beyond the oldest, as the venue's missing rows
    # shift its page numbers (see bindings/bitget/funding.py).
    assert pages == planned + 1
    assert venue.stats.rejected_429 == 0


async def test_binance_funding_times_stamped_after_the_hour_are_kept_on_it(clock: VirtualClock) -> None:
    case = BY_NAME["binance"]
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        [rates] = await s.agather(q(case, start=NOW - 3 * DAY))
    assert [r.funding_time % STEP for r in rates] == [0] * 9 and rates.gaps == []
    assert rates[-1].mark_price == venue.market.price(perp(venue), rates[-1].funding_time)


async def test_okx_serves_three_months_only_and_the_rest_is_a_gap(clock: VirtualClock) -> None:
    case = BY_NAME["okx"]
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        [rates] = await s.agather(q(case, start=NOW - 100 * DAY, end=NOW - 80 * DAY))
    [gap] = rates.gaps
    assert (
        gap.start == on_grid(NOW - 100 * DAY, NOW, STEP)[0]
        and gap.end == on_grid(NOW - 90 * DAY, NOW, STEP)[0]
    )
    assert rates[0].funding_time == gap.end and len(rates) + gap.missing == 60


async def test_a_limit_gives_the_latest_rows(clock: VirtualClock) -> None:
    case = BY_NAME["bybit"]
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        [rates] = await s.agather(q(case, limit=5))
    assert [r.funding_time for r in rates] == [COMING - STEP * k for k in range(5, 0, -1)]


async def test_the_store_answers_a_rerun_but_the_newest_page(tmp_path: Path, clock: VirtualClock) -> None:
    case = BY_NAME["okx"]
    venue = case.make(clock=clock)
    path = tmp_path / "store.sqlite3"
    with CandleStore(path) as store:
        async with make_session(venue, clock, store) as s:
            [first] = await s.agather(q(case, start=NOW - 60 * DAY))
        [info] = store.info().series
    assert (info.exchange, info.symbol, info.interval) == ("okx", SYMBOL, "FundingRate")
    sent = venue.stats.by_path[case.funding_path]
    assert sent == 1  # 180 rows: one 400-row page
    venue.stats.reset()
    with CandleStore(path) as store:
        async with make_session(venue, clock, store) as s:
            [again] = await s.agather(q(case, start=NOW - 60 * DAY))
    assert again == first and again.gaps == [] and len(again) == 180
    assert venue.stats.by_path[case.funding_path] == 1  # only the page holding the newest row
    assert [type(r) for r in again] == [FundingRate] * 180


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_identical_queries_in_one_gather_send_one_request_set(
    case: VenueCase, clock: VirtualClock
) -> None:
    venue = case.make(clock=clock)
    start = NOW - 30 * DAY
    async with make_session(venue, clock) as s:
        grid = s.binding_for(q(case)).pages(q(case, start=start), NOW, shared=True)
        a, b, now_a, now_b = await s.agather(q(case, start=start), q(case, start=start), q(case), q(case))
    assert a == b and now_a == now_b and len(a) == 90 and a.gaps == []
    assert venue.stats.by_path[case.funding_path] == len(grid)  # each grid page once for both queries
    stated = 1 if case.name == "binance" else 0  # Binance's list of funding intervals, once
    assert venue.stats.requests == len(grid) + 2 + stated  # and one listing, one current value


async def test_bybit_current_funding_open_interest_and_ticker_share_one_request(clock: VirtualClock) -> None:
    case = BY_NAME["bybit"]
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        rate, oi, ticker = await s.agather(
            q(case),
            Query(OpenInterest, exchange="bybit", symbol=SYMBOL, now_ms=NOW),
            Query(Ticker, exchange="bybit", symbol=SYMBOL, now_ms=NOW),
        )
    assert venue.stats.by_path["/v5/market/tickers"] == 1
    assert rate.timestamp == oi.timestamp == ticker.timestamp == NOW


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("model", [FundingRate, OpenInterest])
def test_a_spot_symbol_is_refused_before_any_request(
    case: VenueCase, model: type, clock: VirtualClock
) -> None:
    venue = case.make(clock=clock)
    with (
        make_session(venue, clock) as s,
        pytest.raises(
            QueryError,
            match=r"only for perpetual swaps.*'BTC/USDT' is "
            r"a spot pair: ask for the perpetual 'BTC/USDT:USDT'",
        ),
    ):
        s.fetch(model, exchange=case.name, symbol="BTC/USDT", start=NOW - DAY, interval="1h")
    assert venue.stats.requests == 0


def test_a_funding_interval_is_refused() -> None:
    with pytest.raises(QueryError, match="funding rates take no interval"):
        registry.resolve(Query(FundingRate, exchange="okx", symbol=SYMBOL, interval="8h"), NOW)
