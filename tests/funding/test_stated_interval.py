"""A funding history fetched first in a session is planned at the interval the venue states for
the contract (the simulator's SOL perpetual funds hourly): the one lookup, then exactly the pages
of the hourly rows, no repair round; a lookup that fails or says nonsense falls back to learning
the interval from the rows."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pytest

from tradeflood import Query, Series, Session, VirtualClock
from tradeflood.errors import FetchDeadlineError, UnknownSymbolError
from tradeflood.models import FundingRate
from tradeflood.store import CandleStore
from tradeflood.testing import _funding_market as fm
from tradeflood.testing._venue import Call, Rejection, Venue

from .conftest import BY_NAME, CASES, DAY, HOUR, NOW, VenueCase, make_session, on_grid, perp

SOL = "SOL/USDT:USDT"
START = NOW - 10 * DAY

#: The requests that state each venue's funding interval (with the listing the native id comes
#: from): Bitget's and Bybit's listings state it, so they cost nothing the pages did not need.
LOOKUP = {
    "bitget": {"/api/v2/mix/market/contracts": 1},
    "binance": {"/fapi/v1/exchangeInfo": 1, "/fapi/v1/fundingInfo": 1},
    "bybit": {"/v5/market/instruments-info": 1},
    "okx": {"/api/v5/public/instruments": 1, "/api/v5/public/funding-rate": 1},
}


def history(case: VenueCase, symbol: str = SOL, start: int = START) -> Query:
    return Query(FundingRate, exchange=case.name, symbol=symbol, start=start, now_ms=NOW)


def hourly_pages(case: VenueCase) -> int:
    return math.ceil(240 / case.funding_page)


def runs(session: Session) -> list[int]:
    """How many turns each executor run of ``session`` was given, in order (a fetch's rounds)."""
    executor = session.executor()
    sizes: list[int] = []
    original = executor.run

    async def counted(plan: Any, *args: Any, **kwargs: Any) -> Any:
        sizes.append(plan.graph.number_of_nodes())
        return await original(plan, *args, **kwargs)

    executor.run = counted  # type: ignore[method-assign]
    return sizes


def assert_hourly(venue: Venue, rates: Any, start: int = START) -> None:
    assert isinstance(rates, Series) and rates.gaps == []
    assert [r.funding_time for r in rates] == on_grid(start, NOW + 1, HOUR)
    inst = perp(venue, rates[0].symbol.split("/")[0])
    assert all(r.rate == fm.funding_rate(venue.market, inst, r.funding_time) for r in rates)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_a_first_history_is_planned_at_the_stated_interval(case: VenueCase,
                                                                 clock: VirtualClock) -> None:
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        assert "  sent first  " in s.plan(history(case)).explain()  # the lookup, before the pages
        rounds = runs(s)
        [rates] = await s.agather(history(case))
        first = dict(venue.stats.by_path)
        venue.stats.reset()
        [again] = await s.agather(history(case))
        second = dict(venue.stats.by_path)
    assert len(rates) == 240
    assert_hourly(venue, rates)
    assert again == rates
    assert first == {**LOOKUP[case.name], case.funding_path: hourly_pages(case)}  # the lookup and the pages
    assert len(rounds) == 3  # first fetch: the lookup, then the pages, no repair round; then one round
    assert second == {case.funding_path: hourly_pages(case)}  # known now: no lookup


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_the_queries_of_a_fetch_share_the_lookup(case: VenueCase, clock: VirtualClock) -> None:
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        sol, recent, btc = await s.agather(history(case), history(case, start=NOW - 5 * DAY),
                                           history(case, "BTC/USDT:USDT", NOW - 30 * DAY))
    assert_hourly(venue, sol)
    assert_hourly(venue, recent, NOW - 5 * DAY)
    assert [r.funding_time for r in btc] == on_grid(NOW - 30 * DAY, NOW + 1, 8 * HOUR)
    lookups = {path: venue.stats.by_path[path] for path in LOOKUP[case.name]}
    per_swap = 2 if case.name == "okx" else 1  # OKX states it per swap: one for SOL, one for BTC
    assert lookups == {path: per_swap if path.endswith("funding-rate") else 1 for path in LOOKUP[case.name]}


async def test_okx_pages_an_hourly_history_400_rows_a_page(clock: VirtualClock) -> None:
    case = BY_NAME["okx"]
    venue = case.make(clock=clock)
    start = NOW - 60 * DAY  # 1,440 hourly rows inside OKX's 90-day look-back: four pages
    limits: list[str | None] = []
    route = venue.routes[case.funding_path]

    def asked(call: Call) -> Any:
        limits.append(call.get("limit"))
        return route(call)

    venue.routes[case.funding_path] = asked
    async with make_session(venue, clock) as s:
        [rates] = await s.agather(history(case, start=start))
    assert len(rates) == 1440
    assert_hourly(venue, rates, start)
    assert dict(venue.stats.by_path) == {**LOOKUP["okx"], case.funding_path: 4}
    assert limits == ["400"] * 4


async def test_a_current_rate_in_the_same_fetch_reuses_the_lookup(clock: VirtualClock) -> None:
    case = BY_NAME["okx"]
    venue = case.make(clock=clock)
    async with make_session(venue, clock) as s:
        current = Query(FundingRate, exchange="okx", symbol=SOL, now_ms=NOW)
        now, rates = await s.agather(current, history(case))
    assert venue.stats.by_path["/api/v5/public/funding-rate"] == 1  # asked first for the history, then reused
    assert now.interval_ms == HOUR and now.funding_time == NOW // HOUR * HOUR + HOUR
    assert_hourly(venue, rates)
    assert venue.stats.by_path[case.funding_path] == hourly_pages(case)


# -- lookups that fail or say nonsense: the rows teach the interval, as before ------------------

def _with_sol_field(venue: Venue, path: str, field: str, value: object) -> None:
    """The venue's listing, with ``field`` of the SOL perpetual set to ``value``."""
    route = venue.routes[path]  # type: ignore[attr-defined]

    def serve(call: Call) -> Any:
        result = route(call)
        rows = result["list"] if isinstance(result, dict) else result
        for row in rows:
            if row.get("symbol") == "SOLUSDT":
                row[field] = value
        return result

    venue.routes[path] = serve  # type: ignore[attr-defined]


def _fail(call: Call) -> Any:
    raise Rejection(500, {"code": "50001", "msg": "Service temporarily unavailable", "data": []})


def _break(case: VenueCase, venue: Venue, how: str) -> str:
    """Make the venue's interval lookup fail (``how``: "fails") or say nonsense; the path it names."""
    if case.name == "binance":
        if how == "fails":
            venue.faults.schedule("/fapi/v1/fundingInfo", "error_5xx", 1000)
        else:
            venue.routes["/fapi/v1/fundingInfo"] = (  # type: ignore[attr-defined]
                lambda c: 0, lambda c, a: {"fundingIntervalHours": "?"})
        return "/fapi/v1/fundingInfo"
    if case.name == "okx":
        if how == "fails":  # (a fault schedule would match funding-rate-history too: a prefix)
            venue.routes["/api/v5/public/funding-rate"] = _fail  # type: ignore[attr-defined]
        else:  # the next funding a millisecond after this one: not an interval to plan pages at
            route = venue.routes["/api/v5/public/funding-rate"]  # type: ignore[attr-defined]

            def odd(call: Call) -> Any:
                rows = route(call)
                rows[0]["nextFundingTime"] = str(int(rows[0]["fundingTime"]) + 1)
                return rows

            venue.routes["/api/v5/public/funding-rate"] = odd  # type: ignore[attr-defined]
        return "/api/v5/public/funding-rate"
    # Bitget and Bybit state it in the listing the pages need anyway (without which no page can
    # be asked): there the lookup fails by stating what cannot be read, or a step no venue uses.
    path, field = (("/api/v2/mix/market/contracts", "fundInterval") if case.name == "bitget"
                   else ("/v5/market/instruments-info", "fundingInterval"))
    _with_sol_field(venue, path, field, "hourly" if how == "fails" else "7")
    return path


@pytest.mark.parametrize("how", ["fails", "nonsense"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_a_failed_lookup_leaves_the_rows_to_teach_the_interval(
        case: VenueCase, how: str, clock: VirtualClock, caplog: pytest.LogCaptureFixture) -> None:
    venue = case.make(clock=clock)
    path = _break(case, venue, how)
    with caplog.at_level(logging.WARNING, logger="tradeflood"):
        async with make_session(venue, clock) as s:
            [rates] = await s.agather(history(case))
            venue.stats.reset()
            [again] = await s.agather(history(case))
            second = dict(venue.stats.by_path)
    assert len(rates) == 240
    assert_hourly(venue, rates)
    assert again == rates
    assert second == {case.funding_path: hourly_pages(case)}  # the rows taught it: no lookup again
    warned = [r.getMessage() for r in caplog.records if "planned without" in r.getMessage()]
    assert warned and all(path in w and SOL in w for w in warned), warned


# -- Binance's current rate does not depend on fundingInfo -------------------------------------

def _answer_funding_info(venue: Venue, answer: Any) -> None:
    def serve(call: Call, api: Any) -> Any:
        if isinstance(answer, Rejection):
            raise answer
        return answer

    venue.routes["/fapi/v1/fundingInfo"] = (lambda c: 0, serve)  # type: ignore[attr-defined]


BAD_FUNDING_INFO = {
    "500": Rejection(500, {"code": -1000, "msg": "An unknown error occurred while processing the request."}),
    "not a list": {"code": 0, "msg": "ok"},
    "bad hours": [{"symbol": "SOLUSDT", "fundingIntervalHours": "one"}],
    "no hours": [{"symbol": "SOLUSDT", "adjustedFundingRateCap": "0.02"}],
    "negative hours": [{"symbol": "SOLUSDT", "fundingIntervalHours": -4}],
}
WHY = {"500": "500", "not a list": "expected a list", "bad hours": "fundingIntervalHours",
       "no hours": "fundingIntervalHours", "negative hours": "fundingIntervalHours"}


@pytest.mark.parametrize("bad", BAD_FUNDING_INFO)
async def test_a_failed_funding_info_fails_no_current_rate(bad: str, clock: VirtualClock,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    venue = BY_NAME["binance"].make(clock=clock)
    _answer_funding_info(venue, BAD_FUNDING_INFO[bad])
    current = Query(FundingRate, exchange="binance", symbol=SOL, now_ms=NOW)
    with caplog.at_level(logging.WARNING, logger="tradeflood"):
        async with make_session(venue, clock) as s:
            [rate] = await s.agather(current)
            assert rate.interval_ms is None  # nothing stated, nothing learned yet
            # A history teaches the interval from its rows; the next rate carries it.
            [rates] = await s.agather(history(BY_NAME["binance"]))
            [later] = await s.agather(current)
    coming = NOW // HOUR * HOUR + HOUR
    assert rate.funding_time == coming
    assert rate.rate == fm.funding_rate(venue.market, perp(venue, "SOL"), coming)
    assert rate.mark_price is not None and rate.mark_price > 0
    assert_hourly(venue, rates)
    assert later.interval_ms == HOUR and later.rate == rate.rate
    warned = [r.getMessage() for r in caplog.records if "/fapi/v1/fundingInfo" in r.getMessage()]
    assert warned and WHY[bad] in warned[0], warned
    assert venue.stats.by_path["/fapi/v1/premiumIndex"] == 2


@pytest.mark.parametrize("bad", [b for b in BAD_FUNDING_INFO if b != "500"])
async def test_an_unreadable_funding_info_is_asked_again_by_the_next_fetch(
        bad: str, clock: VirtualClock, caplog: pytest.LogCaptureFixture) -> None:
    """A ``fundingInfo`` the binding cannot read is not kept in the session's cache: the next
    current rate asks again, and once the venue answers well, carries the interval it states
    (then kept: a third rate asks nothing more)."""
    venue = BY_NAME["binance"].make(clock=clock)
    weight, good = venue.routes["/fapi/v1/fundingInfo"]  # type: ignore[attr-defined]
    answers = [BAD_FUNDING_INFO[bad]]  # the first answer; the venue's own after it

    def serve(call: Call, api: Any) -> Any:
        return answers.pop() if answers else good(call, api)

    venue.routes["/fapi/v1/fundingInfo"] = (weight, serve)  # type: ignore[attr-defined]
    current = Query(FundingRate, exchange="binance", symbol=SOL, now_ms=NOW)
    with caplog.at_level(logging.WARNING, logger="tradeflood"):
        async with make_session(venue, clock) as s:
            [first] = await s.agather(current)
            asked = venue.stats.by_path["/fapi/v1/fundingInfo"]
            [second] = await s.agather(current)
            [third] = await s.agather(current)
    assert asked == 1 and first.interval_ms is None
    assert second.interval_ms == HOUR and third.interval_ms == HOUR
    coming = NOW // HOUR * HOUR + HOUR
    assert {r.funding_time for r in (first, second, third)} == {coming}
    assert second.rate == first.rate == fm.funding_rate(venue.market, perp(venue, "SOL"), coming)
    assert {p: venue.stats.by_path[p] for p in ("/fapi/v1/fundingInfo", "/fapi/v1/exchangeInfo",
                                                "/fapi/v1/premiumIndex")} == {
        "/fapi/v1/fundingInfo": 2,  # the unreadable one, then the good one, kept
        "/fapi/v1/exchangeInfo": 1,  # the listing was read well: kept all along
        "/fapi/v1/premiumIndex": 3}
    warned = [r.getMessage() for r in caplog.records if "/fapi/v1/fundingInfo" in r.getMessage()]
    assert len(warned) == 1 and WHY[bad] in warned[0], warned


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_a_stored_hourly_history_is_found_by_a_fresh_session(case: VenueCase, clock: VirtualClock,
                                                                  tmp_path: Path) -> None:
    venue = case.make(clock=clock)
    path = tmp_path / "store.sqlite3"
    with CandleStore(path) as store:
        async with make_session(venue, clock, store) as s:
            [first] = await s.agather(history(case))
    venue.stats.reset()
    with CandleStore(path) as store:
        async with make_session(venue, clock, store) as s:
            [again] = await s.agather(history(case))
    assert again == first
    assert_hourly(venue, again)
    # The lookup plans the pages at the hour, so the stored ones answer: only the newest is asked.
    assert dict(venue.stats.by_path) == {**LOOKUP[case.name], case.funding_path: 1}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_an_unknown_symbol_is_reported_once_as_itself(case: VenueCase, clock: VirtualClock,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    venue = case.make(clock=clock)
    with caplog.at_level(logging.WARNING, logger="tradeflood"):
        async with make_session(venue, clock) as s:
            with pytest.raises(UnknownSymbolError, match="lists no symbol 'NOPE/USDT:USDT'"):
                await s.afetch(FundingRate, exchange=case.name, symbol="NOPE/USDT:USDT", start=START)
    assert [r.getMessage() for r in caplog.records] == []  # the lookup does not warn of the caller's error
    assert venue.stats.by_path[case.funding_path] == 0


async def test_the_deadline_also_bounds_the_lookup(clock: VirtualClock) -> None:
    venue = BY_NAME["binance"].make(clock=clock)
    venue.faults.timeout_seconds = None  # fundingInfo never answers
    venue.faults.schedule("/fapi/v1/fundingInfo", "timeout", 100)
    async with make_session(venue, clock) as s:
        started = clock.monotonic()
        with pytest.raises(FetchDeadlineError, match="deadline of 5 s passed") as err:
            await s.afetch(FundingRate, exchange="binance", symbol=SOL, start=START, deadline=5)
        assert clock.monotonic() - started == pytest.approx(5, abs=0.5)
    assert err.value.partial == {0: None}  # stopped before any page was planned
    assert venue.stats.by_path["/fapi/v1/fundingRate"] == 0
