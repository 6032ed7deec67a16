"""N consumers of one stream cause one upstream subscription; leaving cleans up after itself."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

import tradeflood
from tradeflood.connectors.bitget import Bitget
from tradeflood.models import OrderBook, Ticker, Trade
from tradeflood.streams import StreamEvent
from tradeflood.testing import Simulator, take

from .conftest import until


def _topics(sim: Simulator, venue: str) -> dict[str, int]:
    return {k: v for k, v in sim.streams[venue].stats.subscriptions.items() if v}


@pytest.mark.parametrize("venue", ["bitget", "binance"])
async def test_many_consumers_one_upstream_subscription(
    session: tradeflood.Session, sim: Simulator, venue: str
) -> None:
    streams = [session.stream(Trade, exchange=venue, symbol="BTC/USDT") for _ in range(20)]
    seen: list[Any] = []
    subs = [session.subscribe(Trade, seen.append, exchange=venue, symbol="BTC/USDT") for _ in range(5)]
    await asyncio.gather(*(s.ready() for s in streams + subs))
    firsts = [await take(s, 3) for s in streams]
    stats = sim.streams[venue].stats
    assert sum(_topics(sim, venue).values()) == 1
    assert stats.connections_open == 1 and stats.connections_accepted == 1
    hub = session._streams.stats()
    assert (hub["consumers"], hub["upstreams"], hub["deliveries"]) == (25, 1, 1)
    # Every consumer sees the same trades, parsed once upstream: the very same objects.
    for first in firsts[1:]:
        assert {t.id for t in first} & {t.id for t in firsts[0]}
    await until(lambda: len(seen) >= 15)
    for s in streams[:-1] + subs:
        await s.close()
    assert sum(_topics(sim, venue).values()) == 1  # one consumer is still there
    await streams[-1].close()
    await until(lambda: not _topics(sim, venue) and stats.connections_open == 0)
    assert session._streams.stats()["upstreams"] == 0


async def test_consumer_options_share_the_upstream_but_not_the_rendering(
    session: tradeflood.Session, sim: Simulator
) -> None:
    deep = session.stream(OrderBook, exchange="bitget", symbol="BTC/USDT", depth=50)
    shallow = [session.stream(OrderBook, exchange="bitget", symbol="BTC/USDT", depth=5) for _ in range(3)]
    throttled = session.stream(OrderBook, exchange="bitget", symbol="BTC/USDT", depth=5, throttle=5.0)
    for s in (deep, *shallow, throttled):
        await s.ready()
    keep = lambda x: isinstance(x, OrderBook)  # noqa: E731
    (d,) = await take(deep, 1, keep=keep)
    (s0,) = await take(shallow[0], 1, keep=keep)
    assert len(d.bids) == 50 and len(s0.bids) == 5
    assert sum(_topics(sim, "bitget").values()) == 1
    assert session._streams.stats()["deliveries"] == 3  # depth 50, depth 5, depth 5 + throttle
    # A throttled consumer gets at most one book per 5 clock seconds (1/60 of that in real time).
    books = await take(throttled, 4, keep=keep, timeout=10)
    gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(books)]
    assert all(g >= 4_000 for g in gaps), gaps  # 5 s apart, less the (60x) latency jitter
    for s in (deep, *shallow, throttled):
        await s.close()


@pytest.mark.speed(1)
async def test_a_consumer_joining_a_live_book_gets_it_at_once_without_a_snapshot(
    session: tradeflood.Session, sim: Simulator
) -> None:
    first = session.stream(OrderBook, exchange="binance", symbol="BTC/USDT", depth=10)
    await take(first, 2, keep=lambda x: isinstance(x, OrderBook))
    snapshots = sim.venues["binance"].stats.by_path["/api/v3/depth"]
    assert snapshots == 1
    late = session.stream(OrderBook, exchange="binance", symbol="BTC/USDT", depth=10)
    await late.ready()
    # The welcome book is queued as the consumer joins: no waiting for the next update.
    book = late.consumer.queue.get_nowait()
    assert isinstance(book, OrderBook) and len(book.bids) == 10
    assert sim.venues["binance"].stats.by_path["/api/v3/depth"] == snapshots
    await first.close()
    await late.close()


async def test_topics_spread_over_connections_at_the_venue_limit(
    session: tradeflood.Session, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(type(Bitget.streams["ws"]), "max_topics", 3)
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT:USDT"]
    streams = [session.stream(model, exchange="bitget", symbol=sym)
               for sym in symbols for model in (Trade, Ticker)]
    await asyncio.gather(*(s.ready() for s in streams))
    for s in streams:
        await take(s, 1, keep=lambda x: not isinstance(x, StreamEvent))
    stats = sim.streams["bitget"].stats
    assert len(_topics(sim, "bitget")) == 8
    assert stats.connections_open == 3  # 8 topics, at most 3 per connection
    for s in streams:
        await s.close()
    await until(lambda: stats.connections_open == 0)


async def test_concurrent_identical_fetches_share_one_request(
    session: tradeflood.Session, sim: Simulator
) -> None:
    await session.afetch(Ticker, exchange="bitget", symbol="BTC/USDT")  # instrument lists, once
    before = sim.venues["bitget"].stats.requests
    tickers = await asyncio.gather(*(session.afetch(Ticker, exchange="bitget", symbol="BTC/USDT")
                                     for _ in range(100)))
    assert sim.venues["bitget"].stats.requests - before == 1
    assert len({t.timestamp for t in tickers}) == 1 and tickers[0].last is not None


async def test_polling_shares_one_poller(session: tradeflood.Session, sim: Simulator) -> None:
    polls = [session.stream(Ticker, exchange="binance", symbol="ETH/USDT", poll=10.0) for _ in range(10)]
    got = await asyncio.gather(*(take(p, 2, timeout=10) for p in polls))
    assert all(isinstance(t, Ticker) and t.symbol == "ETH/USDT" for g in got for t in g)
    hub = session._streams.stats()
    assert hub["upstreams"] == 1 and hub["consumers"] == 10
    calls = sim.venues["binance"].stats.by_path["/api/v3/ticker/24hr"]
    # Two values each took two or three polls of one shared poller, not twenty.
    assert 2 <= calls <= 4
    for p in polls:
        await p.close()
