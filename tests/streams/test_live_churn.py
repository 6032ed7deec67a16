"""Memory stays flat and nothing lingers while consumers come and go."""

from __future__ import annotations

import asyncio
import gc
import resource

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.models import OrderBook, Trade
from tradeflood.testing import Simulator, take

from .conftest import until


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


async def _cycle(session: tradeflood.Session, n: int) -> None:
    for i in range(n):
        model, extra = (Trade, {}) if i % 2 else (OrderBook, {"depth": 1 + i % 7})
        sub = session.stream(model, exchange="bitget", symbol="BTC/USDT", **extra)
        await sub.ready()
        await sub.close()


async def test_ten_thousand_subscribe_unsubscribe_cycles(session: tradeflood.Session, sim: Simulator) -> None:
    anchors = [session.stream(Trade, exchange="bitget", symbol="BTC/USDT"),
               session.stream(OrderBook, exchange="bitget", symbol="BTC/USDT", depth=1)]
    for anchor in anchors:
        await take(anchor, 1)
    await _cycle(session, 1_000)  # warm-up: caches, interned strings, allocator pools
    gc.collect()
    tasks_before = len(asyncio.all_tasks())
    rss_before = _rss_mb()
    await _cycle(session, 10_000)
    gc.collect()
    growth = _rss_mb() - rss_before
    print(f"RSS growth over 10,000 cycles: {growth:.2f} MB")
    assert growth < 5.0, f"RSS grew {growth:.1f} MB over 10,000 cycles"
    hub = session._streams.stats()
    assert (hub["consumers"], hub["upstreams"]) == (2, 2)
    assert len(asyncio.all_tasks()) <= tasks_before
    stats = sim.streams["bitget"].stats
    assert stats.connections_accepted == 1 and stats.connections_open == 1
    assert sum(stats.subscriptions.values()) == 2  # churn never reached the venue
    for anchor in anchors:
        await anchor.close()
    await until(lambda: stats.connections_open == 0)
    await until(lambda: session._streams.stats()["tasks"] == 0)


async def test_churn_across_topics_closes_everything(session: tradeflood.Session, sim: Simulator) -> None:
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    for _ in range(20):
        subs = [session.stream(Trade, exchange="binance", symbol=s) for s in symbols]
        await asyncio.gather(*(s.ready() for s in subs))
        for s in subs:
            await s.close()
    stats = sim.streams["binance"].stats
    await until(lambda: stats.connections_open == 0 and not any(stats.subscriptions.values()))
    await until(lambda: session._streams.stats()["tasks"] == 0)
    assert session._streams.stats()["upstreams"] == 0


async def test_a_closing_session_says_goodbye_with_code_1000(sim: Simulator, clock: ScaledClock) -> None:
    for venue in ("bitget", "binance"):
        async with tradeflood.Session(urls=sim.urls(), clock=clock, store=False) as s:
            await take(s.stream(Trade, exchange=venue, symbol="BTC/USDT"), 1)
        stats = sim.streams[venue].stats
        await until(lambda: stats.connections_open == 0)  # noqa: B023 (awaited within the iteration)
        assert stats.client_close_codes == {1000: 1}, f"{venue}: {stats.client_close_codes}"
