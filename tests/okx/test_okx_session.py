"""OKX end to end: a Session over the in-process OKX simulator (real wire formats, limits, 429 body)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

import tradeflood.bindings.okx  # noqa: F401 - registers the OKX bindings
from tradeflood import Query, Session, VirtualClock
from tradeflood.errors import QueryError, UnknownSymbolError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.testing import SimulatorTransport
from tradeflood.testing._okx import OkxVenue

NOW = 1_717_200_030_000  # 2024-06-01T00:00:30Z: the current minute is still forming
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=NOW / 1000)


@pytest.fixture
def venue(clock: VirtualClock) -> OkxVenue:
    return OkxVenue(clock=clock)


def session(venue: OkxVenue, clock: VirtualClock) -> Session:
    return Session(transport=SimulatorTransport({"okx": venue}), clock=clock, store=False)


def q(model: type, **kw: object) -> Query:
    return Query(model, exchange="okx", now_ms=NOW, **kw)  # type: ignore[arg-type]


async def test_three_days_of_minutes_cross_to_history(venue: OkxVenue, clock: VirtualClock) -> None:
    start = NOW - 3 * DAY
    async with session(venue, clock) as s:
        [series] = await s.agather(q(Candle, symbol="BTC/USDT:USDT", interval="1m", start=start, end=NOW))
    step = MINUTE
    assert [c.open_time for c in series] == list(range(-(-start // step) * step, NOW, step))
    assert series.gaps == [] and [c.closed for c in series[-2:]] == [True, False]  # the last is forming
    assert all(c.closed for c in series[:-1]) and {c.native_symbol for c in series} == {"BTC-USDT-SWAP"}
    recent = venue.stats.by_path["/api/v5/market/candles"]
    history = venue.stats.by_path["/api/v5/market/history-candles"]
    # 4320 bars at 300 a page: 15 pages (16 on the grid at most), 1440 bars at most recent.
    assert 15 <= recent + history <= 16 and 1 <= recent <= 6 and history >= 10
    assert venue.stats.rejected_429 == 0


async def test_latest_bars_end_with_the_open_one(venue: OkxVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        [series] = await s.agather(q(Candle, symbol="ETH/USDT", interval="1h", limit=30))
    assert len(series) == 30 and series[-1].open_time == NOW // HOUR * HOUR
    assert [c.closed for c in series[-2:]] == [True, False]
    assert venue.stats.by_path["/api/v5/market/history-candles"] == 0


async def test_swap_book_and_trades_are_in_base_units(venue: OkxVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        book = await s.afetch(OrderBook, exchange="okx", symbol="BTC/USDT:USDT", depth=5)
        trades = await s.afetch(Trade, exchange="okx", symbol="BTC/USDT:USDT", limit=20)
        [inst] = await s.afetch(Instrument, exchange="okx", symbol="BTC/USDT:USDT")
        ticker = await s.afetch(Ticker, exchange="okx", symbol="BTC/USDT:USDT")
    sim = venue.market.find("BTCUSDT", "perp")
    assert sim is not None
    bids, asks = venue.market.book(sim, NOW, 5)
    assert book.bids == tuple((lv.price, lv.size) for lv in bids)
    assert book.asks == tuple((lv.price, lv.size) for lv in asks)
    assert book.sequence == NOW // 100
    assert inst.contract_size == Decimal("0.01") and inst.native_symbol == "BTC-USDT-SWAP"
    expected = venue.market.recent_trades(sim, NOW, 20)
    assert [(t.id, t.amount, t.price) for t in trades] == [(str(x.id), x.size, x.price) for x in expected]
    assert ticker.native_symbol == "BTC-USDT-SWAP" and ticker.bid == bids[0].price
    # the instrument list was fetched once for the four queries
    assert venue.stats.by_path["/api/v5/public/instruments"] == 1


async def test_unknown_symbol_and_bad_depth_fail_before_data_requests(venue: OkxVenue,
                                                                       clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        with pytest.raises(UnknownSymbolError):
            await s.afetch(Ticker, exchange="okx", symbol="DOGE/USDT")
        with pytest.raises(QueryError, match="1 to 400"):
            await s.afetch(OrderBook, exchange="okx", symbol="BTC/USDT", depth=401)
    assert venue.stats.by_path["/api/v5/market/ticker"] == 0


async def test_simulator_answers_the_rate_limit_like_okx(venue: OkxVenue) -> None:
    transport = SimulatorTransport({"okx": venue})
    async with httpx.AsyncClient(transport=transport, base_url="https://www.okx.com") as client:
        codes = [(await client.get("/api/v5/market/ticker", params={"instId": "BTC-USDT"})).status_code
                 for _ in range(21)]
        refused = await client.get("/api/v5/market/ticker", params={"instId": "BTC-USDT"})
        old = await client.get("/api/v5/market/candles", params={
            "instId": "BTC-USDT", "bar": "1m", "after": str(NOW - 2 * DAY)})
    assert codes == [200] * 20 + [429]
    assert refused.json() == {"code": "50011", "msg": "Too Many Requests", "data": []}
    assert old.json() == {"code": "0", "msg": "", "data": []}  # beyond the latest 1,440 bars
