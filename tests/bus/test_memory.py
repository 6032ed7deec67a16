"""The gatherer on the in-process bus (``tradeflood gather`` without Redis): a book topic taken
over publishes the hole, then a fresh snapshot, then deltas that rebuild the venue's book."""

from __future__ import annotations

import asyncio
import json

import orjson
import pytest

import tradeflood
from tradeflood.bus import Gatherer, MemoryBus, Topic
from tradeflood.bus._book import BusBook
from tradeflood.testing import Simulator

pytestmark = pytest.mark.integration

TOPIC = Topic("t1", "bitget", "orderbook", "BTC/USDT")


async def _until(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def test_a_book_taken_over_starts_with_the_hole_and_a_fresh_snapshot() -> None:
    config = json.dumps({"tenant": "t1", "subscriptions": [
        {"exchange": "bitget", "action": "orderbook", "symbol": "BTC/USDT", "depth": 15}]})
    bus = MemoryBus(config)
    async with Simulator() as sim, tradeflood.Session(urls=sim.urls(), store=False) as session:
        entries = bus.streams.setdefault(TOPIC.stream, [])
        first = asyncio.ensure_future(Gatherer(bus, "a", session, member="m1", tick=0.05).run())
        await _until(lambda: sum(1 for _, e in entries if e["type"] == "delta") >= 3)
        first.cancel()  # a clean stop gives the lease back
        await asyncio.gather(first, return_exceptions=True)
        handed_over = len(entries)
        second = asyncio.ensure_future(Gatherer(bus, "a", session, member="m2", tick=0.05).run())
        await _until(lambda: len(entries) >= handed_over + 4)
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)

    before, after = entries[:handed_over], entries[handed_over:]
    assert before[0][1]["type"] == "snapshot" and {e["token"] for _, e in before} == {"1"}
    assert {e["token"] for _, e in after} == {"2"}
    hole, snapshot = after[0][1], after[1][1]
    assert hole["type"] == "event" and hole["note"] == "takeover by m2"
    assert orjson.loads(hole["data"])["event"] == "BookResync"
    assert snapshot["type"] == "snapshot"
    book = BusBook("bitget", "BTC/USDT")
    book.load(orjson.loads(snapshot["data"]))
    for _, entry in after[2:]:
        assert entry["type"] == "delta"
        assert book.apply(orjson.loads(entry["data"]))  # every delta follows the one before
    rebuilt = book.model(None)
    assert len(rebuilt.bids) == 15 and rebuilt.bids[0][0] < rebuilt.asks[0][0]
    final = orjson.loads(bus.snapshots[TOPIC.snapshot]["data"])
    assert bus.snapshots[TOPIC.snapshot]["id"] == after[-1][0]
    assert [[str(p), str(s)] for p, s in rebuilt.bids] == final["bids"]
