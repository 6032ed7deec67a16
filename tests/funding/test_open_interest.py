"""OpenInterest on the four venues over their simulators: current values, histories per period
with a gap, the store, what is refused, and polling for current values."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradeflood import Binding, Gap, Query, ScaledClock, Session, VirtualClock, registry
from tradeflood.connectors.okx import Okx
from tradeflood.errors import ModelNotServedError, QueryError, UnknownExchangeError, UnknownModelError
from tradeflood.models import FundingRate, Model, OpenInterest
from tradeflood.store import CandleStore
from tradeflood.testing import SimulatorTransport
from tradeflood.testing import _funding_market as fm

from .conftest import BY_NAME, CASES, DAY, HOUR, NOW, SYMBOL, VenueCase, make_session, on_grid, perp

HISTORY = [c for c in CASES if c.oi_path]


def q(case: VenueCase, **kw: object) -> Query:
    return Query(OpenInterest, exchange=case.name, symbol=SYMBOL, now_ms=NOW, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_the_current_open_interest(case: VenueCase, clock: VirtualClock) -> None:
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        [oi] = await s.agather(q(case))
    inst = perp(venue)
    assert isinstance(oi, OpenInterest) and oi.timestamp == NOW and oi.native_symbol.startswith("BTC")
    assert oi.size == fm.open_interest(venue.market, inst, NOW) == Decimal("1317.4299")  # base coin
    if case.name in ("bybit", "okx"):  # the venues that give the value with it
        assert oi.value == fm.open_interest_value(venue.market, inst, NOW) == Decimal("71065067.15")
    else:
        assert oi.value is None


@pytest.mark.parametrize("case", HISTORY, ids=lambda c: c.name)
async def test_a_history_per_period_of_many_pages_is_exact_with_the_gap(
    case: VenueCase, clock: VirtualClock
) -> None:
    venue = case.make(clock=clock)
    interval, step = ("5m", 300_000) if case.name == "binance" else ("1h", HOUR)
    start = NOW - (6 if case.name == "binance" else 20) * DAY
    hole = (start + 2 * DAY, start + 2 * DAY + 3 * HOUR)
    venue.gaps.add(SYMBOL, *hole)
    async with make_session(venue, clock) as s:
        plan = s.plan(q(case, interval=interval, start=start))
        [series] = await s.agather(q(case, interval=interval, start=start))
    lacking = on_grid(*hole, step)
    expected = [t for t in on_grid(start, NOW + 1, step) if t not in lacking]
    assert [r.timestamp for r in series] == expected
    inst = perp(venue)
    assert all(r.size == fm.open_interest(venue.market, inst, r.timestamp) for r in series)
    assert {r.interval for r in series} == {interval}
    if case.name != "bybit":  # Bybit's history gives the size only
        assert all(r.value == fm.open_interest_value(venue.market, inst, r.timestamp) for r in series)
    assert series.gaps == [Gap(lacking[0], lacking[-1] + step, len(lacking))]
    planned = sum(1 for t in plan.turns if t.path == case.oi_path)
    assert planned >= 3 and venue.stats.by_path[case.oi_path] == planned + 1  # the short page, once more
    assert venue.stats.rejected_429 == 0


async def test_binance_keeps_thirty_days_and_the_rest_is_a_gap(clock: VirtualClock) -> None:
    case = BY_NAME["binance"]
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        [series] = await s.agather(q(case, interval="1d", start=NOW - 40 * DAY))
    [gap] = series.gaps
    assert (
        gap.start == on_grid(NOW - 40 * DAY, NOW, DAY)[0] and gap.end == on_grid(NOW - 30 * DAY, NOW, DAY)[0]
    )
    assert series[0].timestamp == gap.end and len(series) + gap.missing == 40


def test_bitget_serves_no_history_and_says_so_before_any_request(clock: VirtualClock) -> None:
    venue = BY_NAME["bitget"].make(clock=clock)
    with (
        make_session(venue, clock) as s,
        pytest.raises(QueryError, match="bitget serves the current open interest only, no history"),
    ):
        s.fetch(OpenInterest, exchange="bitget", symbol=SYMBOL, interval="1h", start=NOW - DAY)
    assert venue.stats.requests == 0


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"start": NOW - DAY}, "needs interval= one of 5m, 15m, 30m, 1h, 4h, 1d"),
        ({"interval": "2h", "start": NOW - DAY}, r"one of .* \(got '2h'\)"),
        ({"interval": "1h"}, "the current open interest takes no interval"),
    ],
)
def test_periods_are_checked(kw: dict[str, object], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        registry.resolve(Query(OpenInterest, exchange="bybit", symbol=SYMBOL, **kw), NOW)  # type: ignore[arg-type]


def test_a_venue_without_a_model_names_the_venues_that_have_it() -> None:
    class Basis(Model):
        pass

    with registry.preserved():

        class OnlyOkx(Binding, model=Basis, connector=Okx):
            pass

        served_by_okx = r"bybit has no Basis fetches; venues that do: okx"
        with pytest.raises(ModelNotServedError, match=served_by_okx) as err:
            registry.resolve(Query(Basis, exchange="bybit"))
    assert isinstance(err.value, UnknownModelError) and isinstance(err.value, UnknownExchangeError)
    with pytest.raises(
        UnknownExchangeError,
        match="unknown exchange 'nasdaq' for FundingRate; valid choices: binance, bitget, bybit, okx",
    ):
        registry.resolve(Query(FundingRate, exchange="nasdaq", symbol=SYMBOL))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_current_values_are_polled(case: VenueCase) -> None:
    clock = ScaledClock(600.0)  # a 60-second poll every tenth of a real second
    venue = case.make(clock=clock)
    async with Session(transport=SimulatorTransport({case.name: venue}), clock=clock, store=False) as s:
        polls = [
            s.stream(m, exchange=case.name, symbol=SYMBOL, poll=60.0) for m in (FundingRate, OpenInterest)
        ]
        got: list[list[Any]] = [[], []]

        async def take(i: int, n: int) -> None:
            while len(got[i]) < n:
                got[i].append(await polls[i].get())

        # A value is handed out when it changed: Bitget's coming rate stays until the next funding.
        await asyncio.wait_for(asyncio.gather(take(0, 1), take(1, 2)), timeout=30)
        for p in polls:
            await p.close()
    rates, ois = got
    assert all(isinstance(r, FundingRate) and r.symbol == SYMBOL for r in rates)
    assert all(isinstance(o, OpenInterest) and o.size > 0 for o in ois)
    assert ois[1].timestamp > ois[0].timestamp  # a new value each poll: the size drifts with time


async def test_a_history_per_period_is_stored_under_its_period(tmp_path: Path, clock: VirtualClock) -> None:
    case = BY_NAME["bybit"]
    venue = case.make(clock=clock)
    with CandleStore(tmp_path / "s.sqlite3") as store:
        async with make_session(venue, clock, store) as s:
            hourly, daily = await s.agather(
                q(case, interval="1h", start=NOW - 10 * DAY), q(case, interval="1d", start=NOW - 10 * DAY)
            )
        kinds = sorted(i.interval for i in store.info().series)
        venue.stats.reset()
        async with make_session(venue, clock, store) as s:
            again, again_daily = await s.agather(
                q(case, interval="1h", start=NOW - 10 * DAY), q(case, interval="1d", start=NOW - 10 * DAY)
            )
    assert kinds == ["OpenInterest:1d", "OpenInterest:1h"]
    assert again == hourly and again_daily == daily and len(hourly) == 240 and len(daily) == 10
    assert venue.stats.by_path[case.oi_path] == 2  # only each series' newest page


def test_a_stream_without_poll_says_to_poll() -> None:
    # Binance publishes no open-interest stream (funding rates stream: tests/derivatives).
    with pytest.raises(UnknownModelError,
                       match=r"binance has no OpenInterest streams; venues that do: bitget, bybit, okx"):
        registry.resolve(Query(OpenInterest, exchange="binance", symbol=SYMBOL, live=True))


async def test_okx_daily_statistics_open_at_utc_midnight(clock: VirtualClock) -> None:
    case = BY_NAME["okx"]
    venue = case.make(clock=clock)
    assert case.oi_path is not None
    route, periods = venue.routes[case.oi_path], set()

    def seen(call: Any) -> Any:
        periods.add(call.get("period"))
        return route(call)

    venue.routes[case.oi_path] = seen
    async with make_session(venue, clock) as s:
        [daily] = await s.agather(q(case, interval="1d", start=NOW - 20 * DAY))
        [twelve] = await s.agather(q(case, interval="12h", start=NOW - 3 * DAY))
    assert [r.timestamp for r in daily] == on_grid(NOW - 20 * DAY, NOW, DAY) and daily.gaps == []
    assert [r.timestamp for r in twelve] == on_grid(NOW - 3 * DAY, NOW, 12 * HOUR) and twelve.gaps == []
    inst = perp(venue)
    assert all(r.size == fm.open_interest(venue.market, inst, r.timestamp) and r.interval == "1d"
               for r in daily)
    assert periods == {"1Dutc", "12Hutc"}  # the UTC+0 twins, not OKX's UTC+8 1D and 12H


async def test_okx_keeps_the_latest_1440_rows_and_the_rest_is_a_gap(clock: VirtualClock) -> None:
    case = BY_NAME["okx"]
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        plan = s.plan(q(case, interval="1h", start=NOW - 70 * DAY, end=NOW - 55 * DAY))
        [series] = await s.agather(q(case, interval="1h", start=NOW - 70 * DAY, end=NOW - 55 * DAY))
    reach = NOW // HOUR * HOUR - 1439 * HOUR  # the oldest hour OKX still serves
    [gap] = series.gaps
    assert gap.start == on_grid(NOW - 70 * DAY, NOW, HOUR)[0] and series[0].timestamp >= reach
    assert [r.timestamp for r in series] == on_grid(gap.end, NOW - 55 * DAY, HOUR)
    assert len(series) + gap.missing == 15 * 24
    sent = sum(1 for t in plan.turns if t.path == case.oi_path)
    assert venue.stats.by_path[case.oi_path] <= sent + 1  # pages beyond the reach are not asked
