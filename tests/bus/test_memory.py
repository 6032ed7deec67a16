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


class _Overflowing:
    """A stream handing out two trades, then the overflow its queue met, then two more."""

    def __init__(self) -> None:
        from decimal import Decimal

        from tradeflood.errors import StreamOverflowError
        from tradeflood.models import Trade

        def trade(i: int) -> Trade:
            return Trade(exchange="bitget", symbol="BTC/USDT", native_symbol="BTCUSDT", id=str(i),
                         timestamp=1_700_000_000_000 + i, price=Decimal("65000.5"), amount=Decimal("0.1"),
                         side="buy")

        self.script: list[object] = [trade(1), trade(2), StreamOverflowError(7, 5, "bitget trades"),
                                     trade(10), trade(11)]

    async def ready(self) -> None:
        pass

    async def get(self) -> object:
        if not self.script:
            await asyncio.sleep(3600)
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def close(self) -> None:
        pass


class _Session:
    def stream(self, model: object, **params: object) -> _Overflowing:
        assert params.get("events") is True
        return _Overflowing()


async def test_an_overflow_of_the_gatherers_queue_is_published_as_a_trade_gap() -> None:
    """Trades the gatherer could not take leave a marked hole on the bus, not a silent one."""
    from tradeflood.bus._config import Subscription
    from tradeflood.bus._worker import Worker

    topic = Topic("t1", "bitget", "trades", "BTC/USDT")
    bus = MemoryBus()
    lease = await bus.acquire(topic, "m1", 10_000)
    assert lease is not None
    worker = Worker(bus, _Session(), Subscription(topic), lease, None, "m1")  # type: ignore[arg-type]
    entries = bus.streams.setdefault(topic.stream, [])
    await _until(lambda: len(entries) >= 5)
    await worker.stop()
    kinds = [(e["type"], orjson.loads(e["data"])) for _, e in entries]
    assert [k for k, _ in kinds] == ["item", "item", "event", "item", "item"]
    assert [d["id"] for k, d in kinds if k == "item"] == ["1", "2", "10", "11"]
    gap = kinds[2][1]
    assert gap["event"] == "TradeGap" and gap["last_id"] == "2"
    assert (gap["start_ms"], gap["end_ms"]) == (1_700_000_000_002, 1_700_000_000_010)
    assert entries[2][1]["note"] == "m1 fell behind: 7 item(s) missed"
