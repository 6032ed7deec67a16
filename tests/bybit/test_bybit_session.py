"""Bybit end to end: a Session over the in-process Bybit simulator (real wire formats, the 403 ban)."""

from __future__ import annotations

import httpx
import pytest

from tradeflood import Query, Reply, Session, VirtualClock
from tradeflood.connectors.bybit import Bybit
from tradeflood.errors import QueryError, RateLimitedError, VenueRejectedError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.testing import SimulatorTransport
from tradeflood.testing._bybit import BAN_BODY, BybitVenue
from tradeflood.testing._grid import Grid

NOW = 1_717_200_030_000  # 2024-06-01T00:00:30Z
MINUTE, DAY = 60_000, 86_400_000


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=NOW / 1000)


@pytest.fixture
def venue(clock: VirtualClock) -> BybitVenue:
    return BybitVenue(clock=clock)


def session(venue: BybitVenue, clock: VirtualClock) -> Session:
    return Session(transport=SimulatorTransport({"bybit": venue}), clock=clock, store=False)


def q(model: type, **kw: object) -> Query:
    return Query(model, exchange="bybit", now_ms=NOW, **kw)  # type: ignore[arg-type]


async def test_five_days_of_minutes_in_thousand_bar_pages(venue: BybitVenue, clock: VirtualClock) -> None:
    start = NOW - 5 * DAY
    async with session(venue, clock) as s:
        [series] = await s.agather(q(Candle, symbol="BTC/USDT:USDT", interval="1m", start=start, end=NOW))
    assert [c.open_time for c in series] == list(range(-(-start // MINUTE) * MINUTE, NOW, MINUTE))
    assert series.gaps == [] and all(c.closed for c in series[:-1]) and not series[-1].closed
    assert 8 <= venue.stats.by_path["/v5/market/kline"] <= 9  # 7200 bars, 1000 a page
    sim = venue.market.find("BTCUSDT", "perp")
    assert sim is not None
    bar = venue.market.bar(sim, Grid.fixed(MINUTE), series[10].open_time, NOW)
    assert (series[10].open, series[10].close, series[10].volume, series[10].quote_volume) == (
        bar.open, bar.close, bar.volume, bar.quote_volume)


async def test_book_trades_ticker_and_paged_instruments(venue: BybitVenue, clock: VirtualClock) -> None:
    venue.instruments_page = 2  # three perpetuals: two cursor pages
    async with session(venue, clock) as s:
        book = await s.afetch(OrderBook, exchange="bybit", symbol="ETH/USDT:USDT", depth=5)
        trades = await s.afetch(Trade, exchange="bybit", symbol="ETH/USDT:USDT", limit=30)
        ticker = await s.afetch(Ticker, exchange="bybit", symbol="ETH/USDT:USDT")
        listed = await s.afetch(Instrument, exchange="bybit")
    sim = venue.market.find("ETHUSDT", "perp")
    assert sim is not None
    bids, asks = venue.market.book(sim, NOW, 5)
    assert book.bids == tuple((lv.price, lv.size) for lv in bids) and book.sequence == NOW // 100
    assert book.asks == tuple((lv.price, lv.size) for lv in asks)
    expected = venue.market.recent_trades(sim, NOW, 30)
    assert [(t.id, t.amount) for t in trades] == [(str(x.id), x.size) for x in expected]
    assert ticker.timestamp == NOW and ticker.bid == bids[0].price
    assert sorted(i.symbol for i in listed if i.kind == "linear") == [
        "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    assert venue.stats.by_path["/v5/market/instruments-info"] == 3  # spot once, linear in two pages


async def test_depth_and_limits_are_checked_up_front(venue: BybitVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        with pytest.raises(QueryError, match="1 to 200"):
            await s.afetch(OrderBook, exchange="bybit", symbol="BTC/USDT", depth=300)
        with pytest.raises(QueryError, match="1 to 60"):
            await s.afetch(Trade, exchange="bybit", symbol="BTC/USDT", limit=61)
    assert venue.stats.requests == 0


async def test_over_the_limit_the_simulator_bans_with_403(venue: BybitVenue, clock: VirtualClock) -> None:
    transport = SimulatorTransport({"bybit": venue})
    params = {"category": "spot", "symbol": "BTCUSDT"}
    async with httpx.AsyncClient(transport=transport, base_url="https://api.bybit.com") as client:
        codes = [(await client.get("/v5/market/tickers", params=params)).status_code for _ in range(601)]
        clock.advance(10)  # the window has rolled, the ban has not
        still = await client.get("/v5/market/tickers", params=params)
        clock.advance(600)
        after = await client.get("/v5/market/tickers", params=params)
    assert codes == [200] * 600 + [403] and venue.bans_started == 1
    assert (still.status_code, still.content) == (403, BAN_BODY)
    assert after.status_code == 200


def test_a_403_is_the_rate_ban_unless_its_body_says_otherwise() -> None:
    api = Bybit()
    turn = api.tickers("spot", "BTCUSDT")
    with pytest.raises(RateLimitedError, match="10 minutes") as ban:
        api.unwrap(turn, Reply(403, {}, BAN_BODY))
    assert ban.value.retry_after == 600.0  # longer than the retry policy waits: not retried
    with pytest.raises(VenueRejectedError, match="not Bybit's rate-limit ban"):
        api.unwrap(turn, Reply(403, {}, b"<html><body>Access denied</body></html>"))


async def test_a_burst_above_the_limit_never_provokes_the_ban(venue: BybitVenue, clock: VirtualClock) -> None:
    """780 distinct requests at once, over 600 per 5 s: the limiter spreads them, no 403."""
    queries = [q(OrderBook, symbol=s, depth=d) for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT")
               for d in range(1, 201)]
    queries += [q(Trade, symbol=s, limit=n) for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT")
                for n in range(1, 61)]
    async with session(venue, clock) as s:
        results = await s.agather(*queries)
    assert len(results) == 780 and len(results[199].bids) == 200
    assert venue.stats.by_status.get(403, 0) == 0 and venue.bans_started == 0
    assert venue.stats.requests == 780 + 1  # and the spot instrument list, once
