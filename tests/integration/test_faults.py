"""Backfills under injected faults return exactly the right candles; what the venue lacks is a gap."""

from __future__ import annotations

import pytest

from tradeflood import FetchError, RetryPolicy, Session, VirtualClock
from tradeflood.errors import PayloadError, VenueUnavailableError
from tradeflood.models import Candle
from tradeflood.testing import BinanceVenue, BitgetVenue, Faults, SimulatorTransport

MINUTE, DAY = 60_000, 86_400_000
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _clock() -> VirtualClock:
    return VirtualClock(start=NOW / 1000)


@pytest.mark.slow
async def test_30_day_backfill_under_faults_is_exact() -> None:
    clock = _clock()
    faults = Faults(error_5xx=0.10, rate_429=0.05, malformed=0.02, short_page=0.03,
                    latency=(0.0, 0.05), seed=11)
    venue = BitgetVenue(clock=clock, faults=faults)
    start, end = NOW - 30 * DAY, NOW - 60 * MINUTE
    async with Session(transport=SimulatorTransport({"bitget": venue}), clock=clock) as s:
        [series] = await s.agather(s.query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m",
                                           start=start, end=end))
        stats = s.stats
    times = [c.open_time for c in series]
    assert times == list(range(start, end, MINUTE))  # no gap, no duplicate, in order
    assert series.gaps == []
    assert all(c.closed and c.low <= c.open <= c.high for c in series)
    assert stats.retries > 0 and sum(venue.stats.faults.values()) > 0  # the faults really happened
    assert venue.stats.by_status.get(429, 0) == venue.stats.rejected_429  # every 429 was an injected one


async def test_overlapping_fetches_agree_with_one_fetch_of_the_whole() -> None:
    clock = _clock()
    venue = BinanceVenue(clock=clock)
    async with Session(transport=SimulatorTransport({"binance": venue}), clock=clock) as s:
        q = [s.query(Candle, exchange="binance", symbol="ETH/USDT:USDT", interval="5m",
                     start=NOW - a * DAY, end=NOW - b * DAY) for a, b in ((10, 4), (6, 1), (10, 1))]
        plan = s.plan(*q)
        # shared series: pages on the grid, each once (the third range covers the other two)
        assert plan.requests == 1 + 4  # exchangeInfo + the 4 grid pages of 1000 x 5m it touches
        assert s.plan(q[2]).requests == 1 + 3  # alone, it pages from its own start: one page fewer
        a, b, whole = await s.agather(*q)
        assert venue.stats.requests == plan.requests
    merged = {c.open_time: c for c in [*a, *b]}
    assert [merged[t] for t in sorted(merged)] == list(whole)


async def test_a_range_the_venue_lacks_is_reported_as_a_gap() -> None:
    clock = _clock()
    venue = BitgetVenue(clock=clock)
    hole = (NOW - 2 * DAY, NOW - 2 * DAY + 90 * MINUTE)
    venue.gaps.add("BTC/USDT", *hole)
    async with Session(transport=SimulatorTransport({"bitget": venue}), clock=clock) as s:
        series = await s.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m",
                                start=NOW - 3 * DAY, end=NOW - DAY)
    assert len(series) == 2 * 1440 - 90
    assert [(g.start, g.end, g.missing) for g in series.gaps] == [(hole[0], hole[1], 90)]


async def test_pre_listing_range_is_a_gap_not_an_error() -> None:
    clock = _clock()
    venue = BitgetVenue(clock=clock)
    listed = next(i.listed_ms for i in venue.market.instruments if i.base == "SOL")
    async with Session(transport=SimulatorTransport({"bitget": venue}), clock=clock) as s:
        series = await s.afetch(Candle, exchange="bitget", symbol="SOL/USDT", interval="1d",
                                start=listed - 10 * DAY, end=listed + 5 * DAY)
    assert [c.open_time for c in series] == [listed + i * DAY for i in range(5)]
    assert [(g.start, g.end) for g in series.gaps] == [(listed - 10 * DAY, listed)]


async def test_a_request_that_keeps_failing_is_a_typed_error_not_a_hang() -> None:
    clock = _clock()
    venue = BitgetVenue(clock=clock)
    venue.faults.schedule("/api/v2/spot/market/candles", "error_5xx", count=1000)
    async with Session(transport=SimulatorTransport({"bitget": venue}), clock=clock,
                       retry=RetryPolicy(attempts=4)) as s:
        with pytest.raises(FetchError) as info:
            await s.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h", start="-2d")
    assert isinstance(info.value.cause, VenueUnavailableError)
    assert info.value.cause.venue == "bitget" and "/api/v2/spot/market/candles" in str(info.value.cause)
    assert venue.stats.by_path["/api/v2/spot/market/candles"] == 4


async def test_garbage_bodies_are_typed_payload_errors() -> None:
    clock = _clock()
    venue = BitgetVenue(clock=clock)
    venue.faults.schedule("/api/v2/spot/market/candles", "non_json", count=1000)
    async with Session(transport=SimulatorTransport({"bitget": venue}), clock=clock,
                       retry=RetryPolicy(attempts=2)) as s:
        with pytest.raises(FetchError) as info:
            await s.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h", start="-1d")
    assert isinstance(info.value.cause, PayloadError)
    assert "not JSON" in str(info.value.cause)


async def test_results_convert_to_columns_with_exact_decimals() -> None:
    pytest.importorskip("pyarrow")
    from decimal import Decimal

    from tradeflood.models import Trade

    clock = _clock()
    venue = BitgetVenue(clock=clock)
    async with Session(transport=SimulatorTransport({"bitget": venue}), clock=clock) as s:
        series = await s.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h",
                                start=NOW - DAY, end=NOW)
        trades = await s.afetch(Trade, exchange="bitget", symbol="ETH/USDT", limit=20)
    table = series.to_arrow()
    assert table.num_rows == 24 and str(table.schema.field("close").type).startswith("decimal128")
    assert table.column("close").to_pylist() == [c.close for c in series]
    assert all(isinstance(v, Decimal) for v in table.column("open").to_pylist())
    frame = trades.to_arrow()
    assert frame.num_rows == len(trades) == 20
    assert [str(v) for v in frame.column("id").to_pylist()] == [t.id for t in trades]
