"""Bitget end to end: a Session over the in-process venue simulator (real wire formats)."""

from __future__ import annotations

import pytest

import tradeflood.bindings.bitget  # noqa: F401 - registers the Bitget bindings
from tradeflood import Query, Session, VirtualClock
from tradeflood.errors import FetchError, UnknownSymbolError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.testing import BitgetVenue, SimulatorTransport

NOW = 1_717_200_030_000  # 2024-06-01T00:00:30Z: the current minute is still forming
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=NOW / 1000)


@pytest.fixture
def venue(clock: VirtualClock) -> BitgetVenue:
    return BitgetVenue(clock=clock)


def session(venue: BitgetVenue, clock: VirtualClock) -> Session:
    return Session(transport=SimulatorTransport({"bitget": venue}), clock=clock)


def q(model: type, **kw: object) -> Query:
    return Query(model, exchange="bitget", now_ms=NOW, **kw)  # type: ignore[arg-type]


async def test_candles_across_the_look_back_edge(venue: BitgetVenue, clock: VirtualClock) -> None:
    start, end = NOW - 40 * DAY, NOW - DAY  # 15m: recent pages reach back 52 days, so all recent
    old_start = NOW - 70 * DAY  # and these straddle the edge: history pages for the oldest
    async with session(venue, clock) as s:
        recent, mixed = await s.agather(
            q(Candle, symbol="BTC/USDT", interval="15m", start=start, end=end),
            q(Candle, symbol="ETH/USDT:USDT", interval="15m", start=old_start, end=end),
        )
    step = 15 * MINUTE
    assert [c.open_time for c in recent] == list(range(-(-start // step) * step, end, step))
    assert recent.gaps == [] and all(c.closed for c in recent)
    assert mixed.gaps == [] and len(mixed) == (end - old_start) // step
    assert {c.native_symbol for c in mixed} == {"ETHUSDT"}
    assert venue.stats.by_path["/api/v2/mix/market/history-candles"] > 0
    assert venue.stats.by_path["/api/v2/spot/market/history-candles"] == 0


async def test_latest_minutes_end_with_the_open_bar(venue: BitgetVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        [series] = await s.agather(q(Candle, symbol="SOL/USDT:USDT", interval="1m", limit=30))
    assert len(series) == 30 and series.gaps == []
    assert series[-1].open_time == NOW // MINUTE * MINUTE
    assert [c.closed for c in series[-2:]] == [True, False]


async def test_daily_and_monthly_bars_open_on_utc_edges(venue: BitgetVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        days, months = await s.agather(
            q(Candle, symbol="BTC/USDT:USDT", interval="1d", start=NOW - 200 * DAY),
            q(Candle, symbol="BTC/USDT", interval="1M", start="2023-01-01T00:00:00Z"),
        )
    assert days.gaps == [] and all(c.open_time % DAY == 0 for c in days)
    assert months.gaps == [] and [c.open_datetime.day for c in months] == [1] * len(months)
    assert months[0].open_datetime.isoformat() == "2023-01-01T00:00:00+00:00"
    assert len(months) == 18 and not months[-1].closed


async def test_book_trades_ticker_instruments(venue: BitgetVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        book, perp_book, trades, ticker, perp_ticker, listed = await s.agather(
            q(OrderBook, symbol="BTC/USDT", depth=10),
            q(OrderBook, symbol="ETH/USDT:USDT", depth=20),
            q(Trade, symbol="SOL/USDT", limit=50),
            q(Ticker, symbol="BTC/USDT"),
            q(Ticker, symbol="ETH/USDT:USDT"),
            q(Instrument, symbol="SOL/USDT:USDT"),
        )
    assert isinstance(book, OrderBook) and len(book.bids) == len(book.asks) == 10
    assert book.best_bid[0] < book.best_ask[0]  # type: ignore[index]
    assert len(perp_book.bids) == 20 and perp_book.native_symbol == "ETHUSDT"
    assert len(trades) == 50 and {t.side for t in trades} <= {"buy", "sell"}
    assert [t.timestamp for t in trades] == sorted(t.timestamp for t in trades)
    assert ticker.bid is not None and ticker.ask is not None and ticker.bid < ticker.ask
    assert perp_ticker.symbol == "ETH/USDT:USDT" and perp_ticker.last is not None
    assert [i.native_symbol for i in listed] == ["SOLUSDT"] and listed[0].kind == "linear"
    # One listing request per market kind, shared by every query that needed it.
    assert venue.stats.by_path["/api/v2/spot/public/symbols"] == 1
    assert venue.stats.by_path["/api/v2/mix/market/contracts"] == 1


async def test_unknown_symbol_stops_before_any_data_request(
        venue: BitgetVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        with pytest.raises((UnknownSymbolError, FetchError)) as err:
            await s.agather(q(Candle, symbol="DOGE/USDT", interval="1h", limit=10))
    assert "DOGE/USDT" in str(err.value)
    assert venue.stats.by_path["/api/v2/spot/market/candles"] == 0
