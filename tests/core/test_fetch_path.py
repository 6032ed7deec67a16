"""The core fetch path end to end over the toy venue: plan, DAG, executor, parse, assemble."""

from __future__ import annotations

import httpx
import pytest
from toyvenue import MINUTE, ToyServer

import tradeflood
from tradeflood import Query, RetryPolicy, Session, VirtualClock
from tradeflood.errors import FetchError, UnknownSymbolError
from tradeflood.models import Candle, Ticker

NOW = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def session(server: ToyServer, clock: VirtualClock, **kw: object) -> Session:
    return Session(transport=httpx.MockTransport(server), clock=clock, **kw)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=NOW / 1000)


def q(start: int, end: int, symbol: str = "BTC/USD") -> Query:
    return Query(Candle, exchange="toy", symbol=symbol, interval="1m", start=start, end=end, now_ms=NOW)


async def test_candles_paged_on_grid_with_recent_and_history_sources(clock: VirtualClock) -> None:
    server = ToyServer(clock)
    async with session(server, clock) as s:
        start, end = NOW - 200 * MINUTE, NOW - 10 * MINUTE
        plan = s.plan(q(start, end))
        paths = sorted(t.path for t in plan.turns)
        # 100-minute look-back: pages of 10 inside it, pages of 5 beyond it
        assert paths.count("/symbols") == 1
        assert paths.count("/candles") == 8  # [NOW-90m, NOW-10m) in 10-minute pages (10m safety margin)
        assert paths.count("/history") == 22  # [NOW-200m, NOW-90m) in 5-minute pages
        candles = await s.agather(q(start, end))
    series = candles[0]
    assert len(series) == 190
    assert [c.open_time for c in series] == list(range(start, end, MINUTE))
    assert series.gaps == []
    assert series[0].close == 100 + (start // MINUTE) % 50
    assert all(c.closed for c in series)
    assert server.hits["/symbols"] == 1


async def test_overlapping_queries_share_pages_and_instrument_list(clock: VirtualClock) -> None:
    server = ToyServer(clock)
    async with session(server, clock) as s:
        qs = [q(NOW - 60 * MINUTE, NOW - 20 * MINUTE), q(NOW - 50 * MINUTE, NOW - 5 * MINUTE),
              q(NOW - 45 * MINUTE, NOW - 30 * MINUTE)]
        separate = sum(s.plan(x).requests for x in qs)
        plan = s.plan(*qs)
        assert plan.declared == separate == (4 + 1) + (5 + 1) + (2 + 1)
        assert plan.requests == 6 + 1  # pages -60..-0 once, listing once
        assert plan.saved == separate - 7
        text = plan.explain()
        assert "requests to send   7" in text and "saved by dedup     7" in text
        results = await s.agather(*qs)
    assert sum(server.hits.values()) == 7
    assert [len(r) for r in results] == [40, 45, 15]
    assert results[1][0].open_time == NOW - 50 * MINUTE


async def test_instrument_list_is_fetched_once_per_session(clock: VirtualClock) -> None:
    server = ToyServer(clock)
    async with session(server, clock) as s:
        await s.afetch(Ticker, exchange="toy", symbol="BTC/USD")
        plan = s.plan(s.query(Ticker, exchange="toy", symbol="ETH/USD"))
        assert plan.requests == 1 and len(plan.cached) == 1
        t = await s.afetch(Ticker, exchange="toy", symbol="ETH/USD")
    assert str(t.last) == "101.5" and t.native_symbol == "ETHUSD"
    assert server.hits["/symbols"] == 1 and server.hits["/ticker"] == 2


async def test_unknown_symbol_fails_before_any_data_request(clock: VirtualClock) -> None:
    server = ToyServer(clock)
    async with session(server, clock) as s:
        with pytest.raises(UnknownSymbolError, match="DOGE/USD"):
            await s.afetch(Candle, exchange="toy", symbol="DOGE/USD", interval="1m",
                           start=NOW - 30 * MINUTE, end=NOW)
    assert dict(server.hits) == {"/symbols": 1}


async def test_retries_5xx_and_429_honouring_retry_after(clock: VirtualClock) -> None:
    server = ToyServer(clock)
    server.fail_next = [503, 429, 502]
    async with session(server, clock) as s:
        t0 = clock.time()
        t = await s.afetch(Ticker, exchange="toy", symbol="BTC/USD")
        assert str(t.last) == "101.5"
        assert s.stats.retries == 3 and s.stats.rate_limited == 1
    assert clock.time() - t0 >= 2.0  # Retry-After: 2 was honoured, on the virtual clock


async def test_a_failing_request_ends_in_a_typed_error_keeping_partial(clock: VirtualClock) -> None:
    server = ToyServer(clock)
    async with session(server, clock, retry=RetryPolicy(attempts=3, backoff=0.01)) as s:
        ok = q(NOW - 20 * MINUTE, NOW - 10 * MINUTE)
        await s.agather(ok)  # warms the instrument list
        server.broken_start = NOW - 30 * MINUTE
        with pytest.raises(FetchError) as info:
            await s.agather(q(NOW - 30 * MINUTE, NOW - 20 * MINUTE), ok)
    err = info.value
    assert isinstance(err.cause, tradeflood.VenueUnavailableError)
    assert err.cause.status == 503
    assert len(err.partial[1]) == 10  # the other query's candles are not lost
    assert server.hits["/candles"] == 1 + 3 + 1  # warm-up, 3 tries of the broken page, the other


async def test_short_page_is_asked_again_and_genuine_gap_is_reported(clock: VirtualClock) -> None:
    server = ToyServer(clock, missing=(NOW - 33 * MINUTE, NOW - 31 * MINUTE))
    server.short_next = 1
    async with session(server, clock) as s:
        series = (await s.agather(q(NOW - 40 * MINUTE, NOW - 20 * MINUTE)))[0]
    assert len(series) == 18
    assert [(g.start, g.end, g.missing) for g in series.gaps] == [(NOW - 33 * MINUTE, NOW - 31 * MINUTE, 2)]
    times = [c.open_time for c in series]
    assert times == sorted(set(times))


async def test_rate_limit_is_never_exceeded(clock: VirtualClock) -> None:
    server = ToyServer(clock)
    sent: list[float] = []
    orig = server.__call__

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(clock.time())
        return orig(request)

    async with Session(transport=httpx.MockTransport(record), clock=clock) as s:
        await s.agather(q(NOW - 99 * MINUTE * 5, NOW))  # ~100 requests through a 10/s limit
    assert len(sent) > 60
    for i in range(len(sent) - 10):
        assert sent[i + 10] - sent[i] >= 1.0  # no 1-second window holds more than 10
    assert sent[-1] - sent[0] <= (len(sent) / 10) * 1.15


async def test_cancelling_a_fetch_cancels_its_requests() -> None:
    import asyncio

    started: list[str] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        started.append(request.url.path)
        await asyncio.sleep(30)
        return httpx.Response(200, json=[])

    async with Session(transport=httpx.MockTransport(slow)) as s:
        task = asyncio.ensure_future(s.afetch(Ticker, exchange="toy", symbol="BTC/USD"))
        while not started:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert started == ["/symbols"]
    assert pending == []  # no request left running behind the caller's back


async def test_a_minute_passing_during_a_fetch_adds_no_spurious_gap_or_request(clock: VirtualClock) -> None:
    server = ToyServer(clock)
    orig = server.__call__
    calls = 0

    def slow_first_page(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        clock.advance(90)  # each answer takes a minute and a half: the clock crosses minute edges
        return orig(request)

    async with Session(transport=httpx.MockTransport(slow_first_page), clock=clock) as s:
        [series] = await s.agather(s.query(Candle, exchange="toy", symbol="BTC/USD", interval="1m",
                                           start=NOW - 25 * MINUTE))
    assert series.gaps == []
    assert [c.open_time for c in series] == list(range(NOW - 25 * MINUTE, NOW + 1, MINUTE))
    assert calls == 1 + 3  # listing + three 10-minute pages, nothing asked again


def test_a_single_result_query_with_nothing_parsed_is_a_payload_error() -> None:
    from toyvenue import Toy, ToyTicker

    from tradeflood.binding import Part
    from tradeflood.errors import PayloadError

    binding = ToyTicker(Toy())
    turn = Toy().ticker("BTCUSD")
    with pytest.raises(PayloadError, match="toy Ticker: unexpected payload: no reply was parsed"):
        binding.single([Part(turn, [])])
    assert binding.single([Part(turn, []), Part(turn, ["first", "second"])]) == "first"


async def test_a_page_shared_by_several_queries_is_parsed_once(clock: VirtualClock) -> None:
    from toyvenue import ToyCandles

    from tradeflood import registry

    with registry.preserved():
        parsed: list[object] = []

        class CountingCandles(ToyCandles):
            def parse(self, query, turn, payload, ctx):  # type: ignore[no-untyped-def]
                parsed.append(turn.key)
                return super().parse(query, turn, payload, ctx)

        server = ToyServer(clock)
        async with session(server, clock) as s:
            qs = [q(NOW - 60 * MINUTE, NOW - 20 * MINUTE), q(NOW - 50 * MINUTE, NOW - 5 * MINUTE)]
            a, b = await s.agather(*qs)
    assert len(parsed) == len(set(parsed)) == server.hits["/candles"] == 6
    assert [c.open_time for c in a] == list(range(NOW - 60 * MINUTE, NOW - 20 * MINUTE, MINUTE))
    assert [c.open_time for c in b] == list(range(NOW - 50 * MINUTE, NOW - 5 * MINUTE, MINUTE))
