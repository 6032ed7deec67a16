"""Session(bus=...) reads what gatherers publish: same models and events, books rebuilt from the
snapshot plus deltas, a killed consumer resuming from its last entry id, consumer groups."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

import tradeflood
from tradeflood.bus import BusError
from tradeflood.bus._codec import decode_item
from tradeflood.bus._keys import Topic
from tradeflood.models import OrderBook, Trade
from tradeflood.streams import StreamEvent
from tradeflood.testing import Simulator

from .conftest import REDIS_URL, Procs, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRADES = "stream.t1.bitget.trades.BTC/USDT"
BOOKS = "stream.t1.binance.orderbook.BTC/USDT"


def _config(rds: Any) -> None:
    rds.set("stream.config.g", json.dumps({"tenant": "t1", "subscriptions": [
        {"exchange": "bitget", "action": "trades", "symbol": "BTC/USDT"},
        {"exchange": "binance", "action": "orderbook", "symbol": "BTC/USDT", "depth": 10}]}))


async def _take(stream: Any, n: int, timeout: float = 20.0) -> list[Any]:
    out = []

    async def run() -> None:
        while len(out) < n:
            out.append(await stream.get())

    await asyncio.wait_for(run(), timeout)
    return out


async def test_session_streams_trades_and_books_from_the_bus(rds: Any, sim: Simulator, procs: Procs) -> None:
    _config(rds)
    gatherer = procs.gatherer("g")
    await asyncio.to_thread(wait_for, lambda: rds.xlen(TRADES) >= 1 and rds.exists(
        "stream.snapshot.t1.binance.orderbook.BTC/USDT"), what="both topics published")
    async with tradeflood.Session(bus=REDIS_URL, tenant="t1") as s:
        trades = s.stream(Trade, exchange="bitget", symbol="BTC/USDT")
        got = await _take(trades, 3)
        assert all(isinstance(t, Trade) for t in got)
        stored = rds.xrange(TRADES, min=trades.last_id, max=trades.last_id)[0][1]
        assert decode_item(Topic.parse(TRADES), stored["data"]) == got[-1]  # exact decimals and fields
        assert got[-1].exchange == "bitget" and got[-1].symbol == "BTC/USDT"
        await trades.close()

        called: list[Any] = []
        sub = s.subscribe(Trade, called.append, exchange="bitget", symbol="BTC/USDT")
        await sub.ready()

        async def two() -> None:
            while len(called) < 2:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(two(), 20)
        await sub.close()
        assert all(isinstance(t, Trade) for t in called) and int(called[0].id) < int(called[1].id)
        with pytest.raises(tradeflood.QueryError, match="throttle"):
            s.stream(Trade, exchange="bitget", symbol="BTC/USDT", throttle=1.0)

        books = s.stream(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5)
        first = (await _take(books, 1))[0]
        assert isinstance(first, OrderBook) and len(first.bids) == 5 and first.bids[0][0] < first.asks[0][0]
        seen = await _take(books, 5)
        sequences = [b.sequence for b in [first, *seen] if isinstance(b, OrderBook)]
        assert sequences == sorted(sequences)
        gatherer.send_signal(signal.SIGTERM)  # the last snapshot stays still: compare with it
        await asyncio.to_thread(gatherer.wait, 15)
        snap = rds.hgetall("stream.snapshot.t1.binance.orderbook.BTC/USDT")
        while books.last_id != snap["id"]:
            await _take(books, 1)
        data = orjson.loads(snap["data"])
        book = books.queue  # nothing more may come
        assert book.qsize() == 0
        last = books._book.model(5)  # the rebuilt book, as handed out
        assert [[str(p), str(q)] for p, q in last.bids] == data["bids"][:5]
        assert [[str(p), str(q)] for p, q in last.asks] == data["asks"][:5]
        assert last.sequence == data["sequence"]
        await books.close()

        with pytest.raises(BusError, match=r"no gatherer publishes stream\.t1\.bitget\.trades\.SOL/USDT"):
            await s.stream(Trade, exchange="bitget", symbol="SOL/USDT").ready()


def test_the_sync_stream_of_a_bus_session_reads_the_bus(rds: Any, sim: Simulator, procs: Procs) -> None:
    _config(rds)
    procs.gatherer("g")
    wait_for(lambda: rds.xlen(TRADES) >= 1, what="trades published")
    got: list[Any] = []
    with tradeflood.Session(bus=REDIS_URL, tenant="t1") as s:
        for item in tradeflood.stream(Trade, exchange="bitget", symbol="BTC/USDT", session=s):
            got.append(item)
            if len(got) == 3:
                break
    published = {orjson.loads(f["data"])["id"] for _, f in rds.xrange(TRADES) if f["type"] == "item"}
    assert all(isinstance(t, Trade) for t in got) and {t.id for t in got} <= published
    assert [int(t.id) for t in got] == sorted(int(t.id) for t in got)
    # The venue sees the gatherer's subscription only: the sync stream never went upstream.
    assert sim.streams["bitget"].stats.subscriptions == {"SPOT:trade:BTCUSDT": 1}


CONSUMER = textwrap.dedent("""
    import asyncio, os, sys
    import tradeflood
    from tradeflood.models import Trade
    from tradeflood.streams import StreamEvent

    out, url = sys.argv[1], sys.argv[2]

    async def main():
        resume = None
        if os.path.exists(out):
            lines = open(out).read().splitlines()
            resume = lines[-1].split()[0] if lines else None
        async with tradeflood.Session(bus=url, tenant="t1") as s:
            stream = s.stream(Trade, exchange="bitget", symbol="BTC/USDT", resume=resume, events=True)
            fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            async for item in stream:
                what = "event" if isinstance(item, StreamEvent) else item.id
                os.write(fd, f"{stream.last_id} {what}\\n".encode())   # one write: the cursor with the work

    asyncio.run(main())
""")


def test_a_killed_consumer_resumes_without_losing_or_repeating(rds: Any, sim: Simulator, procs: Procs,
                                                              tmp_path: Path) -> None:
    _config(rds)
    procs.gatherer("g")
    wait_for(lambda: rds.xlen(TRADES) >= 1, what="trades published")
    script = tmp_path / "consumer.py"
    script.write_text(CONSUMER)
    out = tmp_path / "seen.txt"

    def lines() -> list[str]:
        return out.read_text().splitlines() if out.exists() else []

    def consumer() -> Any:
        import subprocess

        proc = subprocess.Popen([sys.executable, str(script), str(out), REDIS_URL])
        procs.procs.append(proc)  # type: ignore[arg-type]
        return proc

    first = consumer()
    wait_for(lambda: len(lines()) >= 3, timeout=30, what="the consumer's first entries")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    seen_before = len(lines())
    last_seen = lines()[-1].split()[0]
    wait_for(lambda: len(rds.xrange(TRADES, min=f"({last_seen}")) >= 2, what="entries while it is down")
    consumer()
    wait_for(lambda: len(lines()) >= seen_before + 4, timeout=30, what="the restarted consumer's entries")
    ids = [line.split()[0] for line in lines()]
    assert len(ids) == len(set(ids)), "an entry was handed out twice"
    published = [i for i, _ in rds.xrange(TRADES, min=ids[0], max=ids[-1])]
    assert ids == published, "entries were lost"
    trade_ids = [line.split()[1] for line in lines() if not line.endswith(" event")]
    assert trade_ids == [orjson.loads(f["data"])["id"] for _, f in rds.xrange(TRADES, min=ids[0], max=ids[-1])
                         if f["type"] == "item"]


async def test_a_consumer_group_takes_over_what_a_dead_member_left(rds: Any, sim: Simulator,
                                                                  procs: Procs) -> None:
    _config(rds)
    procs.gatherer("g")
    await asyncio.to_thread(wait_for, lambda: rds.xlen(TRADES) >= 3, what="three entries")
    rds.xgroup_create(TRADES, "workers", id="0")
    left = rds.xreadgroup("workers", "dead", {TRADES: ">"}, count=3)[0][1]  # read, never acknowledged
    left_ids = [i for i, _ in left]
    assert rds.xpending(TRADES, "workers")["pending"] == 3
    async with tradeflood.Session(bus=REDIS_URL, tenant="t1") as s:
        st = s.stream(Trade, exchange="bitget", symbol="BTC/USDT", group="workers", consumer="alive",
                      claim_idle=0.5)
        handed = []
        while not set(left_ids) <= set(handed):
            await _take(st, 1)
            handed.append(st.last_id)
        assert len(handed) == len(set(handed))
        await st.close()
    pending = rds.xpending(TRADES, "workers")
    assert pending["pending"] == 0, pending  # everything handed out was acknowledged, the dead member's too
    _ = StreamEvent


async def test_a_reader_catching_up_on_a_firehose_lets_the_event_loop_run(rds: Any) -> None:
    from tradeflood.bus import _consumer
    from tradeflood.bus._codec import encode_item

    pipe = rds.pipeline()
    for i in range(5000):
        trade = Trade(exchange="bitget", symbol="BTC/USDT", native_symbol="BTCUSDT", id=str(i),
                      timestamp=1_700_000_000_000 + i, price=Decimal("100.5"), amount=Decimal("0.25"),
                      side="buy")
        pipe.xadd(TRADES, {**encode_item(trade, 0), "pub_ts": "0", "token": "1"})
    pipe.execute()
    async with tradeflood.Session(bus=REDIS_URL, tenant="t1") as s:
        st = s.stream(Trade, exchange="bitget", symbol="BTC/USDT", resume="0-0", maxsize=10_000)
        await st.ready()
        seen: list[int] = []  # what waited in the queue each time another task got the loop
        while st.queue.qsize() < 5000:
            seen.append(st.queue.qsize())
            await asyncio.sleep(0)
        steps = [b - a for a, b in itertools.pairwise(seen)]
        assert steps and max(steps) <= _consumer._SLICE  # never a whole 1000-entry reply at once
        got = await _take(st, 5000)
        assert [t.id for t in got] == [str(i) for i in range(5000)]
        await st.close()
