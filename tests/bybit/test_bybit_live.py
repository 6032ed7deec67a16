"""Bybit live streams against the simulator's Bybit WebSocket paths on 127.0.0.1: values agree with REST.

Time runs 60x (a minute candle closes every real second) except for books (``speed(1)``).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

import tradeflood
import tradeflood.bindings.bybit  # registers the Bybit bindings
from tradeflood.clock import ScaledClock
from tradeflood.models import Candle, OrderBook, Ticker, Trade
from tradeflood.streams import Backoff, BookResync, BookResynced, StreamSettings
from tradeflood.testing import Simulator, take
from tradeflood.testing._bybit import BybitVenue


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ScaledClock:
    marker = request.node.get_closest_marker("speed")
    return ScaledClock(marker.args[0] if marker else 60.0)


@pytest.fixture
async def sim(clock: ScaledClock) -> AsyncIterator[Simulator]:
    async with Simulator({"bybit": BybitVenue(clock=clock)}) as simulator:
        yield simulator


@pytest.fixture
async def session(sim: Simulator, clock: ScaledClock) -> AsyncIterator[tradeflood.Session]:
    settings = StreamSettings(backoff=Backoff(first=0.5, most=3.0), stale_after=3.0, open_timeout=5.0)
    async with tradeflood.Session(urls=sim.urls(), clock=clock, store=False, stream_settings=settings) as s:
        yield s



@pytest.mark.parametrize("symbol", ["BTC/USDT", "SOL/USDT:USDT"])
async def test_trades_agree_with_rest(session: tradeflood.Session, symbol: str) -> None:
    async with session.stream(Trade, exchange="bybit", symbol=symbol) as trades:
        got = await take(trades, 15)
    ids = [int(t.id) for t in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    recent = {t.id: t for t in await session.afetch(Trade, exchange="bybit", symbol=symbol, limit=60)}
    shared = [t for t in got if t.id in recent]
    assert shared
    for t in shared:
        assert (t.price, t.amount, t.side, t.timestamp) == (
            recent[t.id].price, recent[t.id].amount, recent[t.id].side, recent[t.id].timestamp)


async def test_closed_candles_equal_rest(session: tradeflood.Session) -> None:
    async with session.stream(Candle, exchange="bybit", symbol="ETH/USDT:USDT", interval="1m") as candles:
        got = await take(candles, 3, timeout=15)
    assert all(c.closed for c in got)
    opens = [c.open_time for c in got]
    assert [b - a for a, b in itertools.pairwise(opens)] == [60_000, 60_000]
    rest = await session.afetch(Candle, exchange="bybit", symbol="ETH/USDT:USDT", interval="1m",
                                start=opens[0], end=opens[-1] + 60_000)
    assert [(c.open_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume) for c in rest] == \
           [(c.open_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume) for c in got]


@pytest.mark.parametrize("symbol", ["BTC/USDT", "BTC/USDT:USDT"])
async def test_tickers_spot_snapshots_and_linear_deltas(session: tradeflood.Session, symbol: str) -> None:
    async with session.stream(Ticker, exchange="bybit", symbol=symbol) as tickers:
        got = await take(tickers, 3)
    for t in got:
        assert t.bid is not None and t.ask is not None and t.bid < t.ask
        assert t.low <= t.last <= t.high  # type: ignore[operator]
        assert t.base_volume is not None and t.quote_volume is not None


@pytest.mark.speed(1)
async def test_books_and_a_skipped_update_id_resubscribes(session: tradeflood.Session,
                                                          sim: Simulator) -> None:
    stats = sim.streams["bybit"].stats
    async with session.stream(OrderBook, exchange="bybit", symbol="ETH/USDT:USDT", depth=10,
                              overflow="raise", events=True) as books:
        got = await take(books, 3, keep=lambda x: isinstance(x, OrderBook))
        for book in got:
            assert len(book.bids) == 10 and book.bids[0][0] < book.asks[0][0]
        assert [b.sequence for b in got] == sorted(b.sequence for b in got)
        before = stats.subscribe_messages
        assert sim.skip_sequence("bybit", "ETHUSDT") == 1
        items = await take(books, 3, keep=lambda x: isinstance(x, OrderBook | BookResync | BookResynced),
                           timeout=15)
        assert [type(i) for i in items[:2]] == [BookResync, BookResynced]
        assert "sequence gap" in items[0].reason
        assert stats.subscribe_messages >= before + 1  # resubscribed for a fresh snapshot
    assert sim.venues["bybit"].stats.by_path.get("/v5/market/orderbook", 0) == 0  # never a REST snapshot
