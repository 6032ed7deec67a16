"""Binance end to end through a Session over the in-process venue simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

import tradeflood.bindings.binance  # noqa: F401 - registers the Binance bindings
from tradeflood import Query, Session, VirtualClock
from tradeflood.errors import FetchError, UnknownSymbolError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.testing import BinanceVenue, SimulatorTransport

NOW = 1_717_200_030_000  # 2024-06-01T00:00:30Z: the current minute is still forming
HOUR = 3_600_000


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=NOW / 1000)


@pytest.fixture
def venue(clock: VirtualClock) -> BinanceVenue:
    return BinanceVenue(clock=clock)


def session(venue: BinanceVenue, clock: VirtualClock) -> Session:
    return Session(transport=SimulatorTransport({"binance": venue}), clock=clock)


def q(model: type, **kw: object) -> Query:
    return Query(model, exchange="binance", now_ms=NOW, **kw)  # type: ignore[arg-type]


async def test_spot_and_futures_candles(venue: BinanceVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        spot, perp = await s.agather(
            q(Candle, symbol="BTC/USDT", interval="1h", start=NOW - 1500 * HOUR, end=NOW - HOUR),
            q(Candle, symbol="ETH/USDT:USDT", interval="1m", start=NOW - 90 * 60_000),
        )
    start = (NOW - 1500 * HOUR) // HOUR * HOUR + HOUR
    assert [c.open_time for c in spot] == list(range(start, NOW - HOUR, HOUR))
    assert spot.gaps == [] and all(c.closed for c in spot)
    assert {(c.symbol, c.native_symbol, c.exchange) for c in spot} == {
        ("BTC/USDT", "BTCUSDT", "binance")}
    assert all(c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close) for c in spot)
    assert len(perp) == 90 and perp.gaps == []
    assert perp[-1].open_time == NOW // 60_000 * 60_000
    assert [c.closed for c in perp[-2:]] == [True, False]  # the last minute is still forming
    assert perp[0].native_symbol == "ETHUSDT" and isinstance(perp[0].quote_volume, Decimal)


async def test_book_trades_and_tickers(venue: BinanceVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        book, trades, ticker, perp_ticker, listed = await s.agather(
            q(OrderBook, symbol="BTC/USDT:USDT", depth=20),
            q(Trade, symbol="SOL/USDT", limit=50),
            q(Ticker, symbol="BTC/USDT"),
            q(Ticker, symbol="ETH/USDT:USDT", bid_ask=False),
            q(Instrument, symbol="SOL/USDT:USDT"),
        )
    assert isinstance(book, OrderBook) and len(book.bids) == len(book.asks) == 20
    assert book.best_bid is not None and book.best_ask is not None
    assert book.best_bid[0] < book.best_ask[0] and book.sequence is not None
    assert len(trades) == 50 and {t.side for t in trades} <= {"buy", "sell"}
    assert [t.timestamp for t in trades] == sorted(t.timestamp for t in trades)
    assert ticker.bid is not None and ticker.bid <= ticker.last <= ticker.high  # type: ignore[operator]
    assert perp_ticker.bid is None and perp_ticker.native_symbol == "ETHUSDT"
    assert listed[0].kind == "linear" and listed[0].listed_at == 1_609_459_200_000
    # One listing per market for all five queries; the futures one shared by three.
    assert venue.stats.by_path["/fapi/v1/exchangeInfo"] == 1
    assert venue.stats.by_path["/api/v3/exchangeInfo"] == 1


async def test_unknown_symbol_is_reported_before_any_data_request(
        venue: BinanceVenue, clock: VirtualClock) -> None:
    async with session(venue, clock) as s:
        with pytest.raises((UnknownSymbolError, FetchError)) as err:
            await s.afetch(Candle, exchange="binance", symbol="DOGE/USDT", interval="1h",
                           start=NOW - 10 * HOUR)
    cause = err.value.cause if isinstance(err.value, FetchError) else err.value
    assert isinstance(cause, UnknownSymbolError) and "DOGE/USDT" in str(cause)
    assert dict(venue.stats.by_path) == {"/api/v3/exchangeInfo": 1}
