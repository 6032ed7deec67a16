"""OKX live streams against the simulator's OKX WebSocket on 127.0.0.1: values agree with REST.

Time runs 60x (a minute candle closes every real second) except for books, which
run at the venue's pace (``speed(1)``), as in tests/streams.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

import tradeflood
import tradeflood.bindings.okx  # registers the OKX bindings
from tradeflood.clock import ScaledClock
from tradeflood.models import Candle, OrderBook, Ticker, Trade
from tradeflood.streams import Backoff, BookResync, BookResynced, StreamSettings
from tradeflood.testing import Simulator, take
from tradeflood.testing._okx import OkxVenue


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ScaledClock:
    marker = request.node.get_closest_marker("speed")
    return ScaledClock(marker.args[0] if marker else 60.0)


@pytest.fixture
async def sim(clock: ScaledClock) -> AsyncIterator[Simulator]:
    async with Simulator({"okx": OkxVenue(clock=clock)}) as simulator:
        yield simulator


@pytest.fixture
async def session(sim: Simulator, clock: ScaledClock) -> AsyncIterator[tradeflood.Session]:
    settings = StreamSettings(backoff=Backoff(first=0.5, most=3.0), stale_after=3.0, open_timeout=5.0)
    async with tradeflood.Session(urls=sim.urls(), clock=clock, store=False, stream_settings=settings) as s:
        yield s



def test_simulator_urls_name_both_okx_endpoints(sim: Simulator) -> None:
    urls = sim.urls()["okx"]
    assert urls["ws"].endswith("/ws/v5/public") and urls["ws.business"].endswith("/ws/v5/business")


@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT:USDT"])
async def test_trades_agree_with_rest(session: tradeflood.Session, symbol: str) -> None:
    async with session.stream(Trade, exchange="okx", symbol=symbol) as trades:
        got = await take(trades, 20)
    ids = [int(t.id) for t in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    recent = {t.id: t for t in await session.afetch(Trade, exchange="okx", symbol=symbol, limit=200)}
    shared = [t for t in got if t.id in recent]
    assert shared
    for t in shared:  # swap amounts are base amounts on both paths
        assert (t.price, t.amount, t.side, t.timestamp) == (
            recent[t.id].price, recent[t.id].amount, recent[t.id].side, recent[t.id].timestamp)


async def test_closed_candles_from_the_business_endpoint_equal_rest(session: tradeflood.Session,
                                                                   sim: Simulator) -> None:
    async with session.stream(Candle, exchange="okx", symbol="BTC/USDT:USDT", interval="1m") as candles:
        got = await take(candles, 3, timeout=15)
        assert sim.streams["okx"].stats.subscriptions["candle1m:BTC-USDT-SWAP"] == 1
    assert all(c.closed for c in got)
    opens = [c.open_time for c in got]
    assert [b - a for a, b in itertools.pairwise(opens)] == [60_000, 60_000]
    rest = await session.afetch(Candle, exchange="okx", symbol="BTC/USDT:USDT", interval="1m",
                                start=opens[0], end=opens[-1] + 60_000)
    assert [(c.open_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume) for c in rest] == \
           [(c.open_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume) for c in got]


async def test_tickers(session: tradeflood.Session) -> None:
    async with session.stream(Ticker, exchange="okx", symbol="BTC/USDT") as tickers:
        got = await take(tickers, 2)
    for t in got:
        assert t.bid is not None and t.ask is not None and t.bid < t.ask
        assert t.low <= t.last <= t.high  # type: ignore[operator]


@pytest.mark.speed(1)
@pytest.mark.parametrize("pushed_snapshot", [False, True], ids=["rest-snapshot", "stream-snapshot"])
async def test_book_equals_rest_at_the_same_seq_id(session: tradeflood.Session, sim: Simulator,
                                                   pushed_snapshot: bool) -> None:
    """New behaviour (the simulator's default): no snapshot on subscribing, the client loads the
    REST book and bridges by seqId; old behaviour: the venue pushes the snapshot."""
    sim.streams["okx"].book_snapshot = pushed_snapshot  # type: ignore[attr-defined]
    venue = sim.venues["okx"]
    async with session.stream(OrderBook, exchange="okx", symbol="BTC/USDT:USDT", depth=20,
                              overflow="raise") as books:
        (last,) = await take(books, 1, keep=lambda x: isinstance(x, OrderBook))
        matched = asked = 0
        for _ in range(15):
            asked += 1
            rest = await session.afetch(OrderBook, exchange="okx", symbol="BTC/USDT:USDT", depth=20)
            while last.sequence < rest.sequence:
                (last,) = await take(books, 1, keep=lambda x: isinstance(x, OrderBook))
            if last.sequence == rest.sequence:
                assert last.bids == rest.bids and last.asks == rest.asks
                matched += 1
                if matched == 3:
                    break
    assert matched == 3
    # With a pushed snapshot only the test's own REST books are asked for; without, the stream
    # loaded one more to bridge from.
    assert venue.stats.by_path["/api/v5/market/books"] == asked + (0 if pushed_snapshot else 1)


@pytest.mark.speed(1)
async def test_a_skipped_seq_id_resyncs_from_rest(session: tradeflood.Session, sim: Simulator) -> None:
    async with session.stream(OrderBook, exchange="okx", symbol="BTC/USDT", depth=5,
                              overflow="raise", events=True) as books:
        await take(books, 3, keep=lambda x: isinstance(x, OrderBook))
        before = sim.venues["okx"].stats.by_path["/api/v5/market/books"]
        assert sim.skip_sequence("okx", "BTCUSDT") == 1
        items = await take(books, 3, keep=lambda x: isinstance(x, OrderBook | BookResync | BookResynced),
                           timeout=15)
    assert [type(i) for i in items[:2]] == [BookResync, BookResynced]
    assert "sequence gap" in items[0].reason
    assert isinstance(items[2], OrderBook) and items[2].bids[0][0] < items[2].asks[0][0]
    assert sim.venues["okx"].stats.by_path["/api/v5/market/books"] == before + 1
