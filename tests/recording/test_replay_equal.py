"""A recorded simulator session replays, through the same code, into the same models and events."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.models import Candle, OrderBook, Trade
from tradeflood.streams import Backoff, BookResync, BookResynced, Reconnected, StreamSettings, TradeGap
from tradeflood.testing import BinanceVenue, BitgetVenue, Simulator

pytestmark = pytest.mark.integration

STREAMS: list[tuple[str, type[Any], dict[str, Any]]] = [
    ("binance book", OrderBook, {"exchange": "binance", "symbol": "BTC/USDT", "depth": 5}),
    ("bitget book", OrderBook, {"exchange": "bitget", "symbol": "ETH/USDT", "depth": 5}),
    ("binance trades", Trade, {"exchange": "binance", "symbol": "BTC/USDT"}),
    ("bitget trades", Trade, {"exchange": "bitget", "symbol": "BTC/USDT"}),
]


async def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    async def run() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(run(), timeout)


def same(live: Any, replayed: Any) -> bool:
    """Equal, except that a BookResynced that followed a REST snapshot is stamped by a clock read
    after the live session parsed the snapshot, which a replay makes at the snapshot's receive
    time: the live stamp may be later by that parse time (never earlier)."""
    if live == replayed:
        return True
    return (isinstance(live, BookResynced) and isinstance(replayed, BookResynced)
            and dataclasses.replace(live, timestamp=replayed.timestamp) == replayed
            and 0 <= live.timestamp - replayed.timestamp < 500)


def kinds(items: list[Any], *types: type) -> int:
    return sum(isinstance(i, types) for i in items)


async def record_live(directory: Path) -> dict[str, list[Any]]:
    """A live session over the simulator, recorded, with a drop, a skipped sequence and a bad checksum."""
    clock = ScaledClock(1.0)
    venues = {"bitget": BitgetVenue(clock=clock), "binance": BinanceVenue(clock=clock)}
    got: dict[str, list[Any]] = {name: [] for name, _, _ in STREAMS}
    settings = StreamSettings(backoff=Backoff(first=0.2, most=1.0), stale_after=3.0, open_timeout=5.0)
    async with Simulator(venues) as sim, tradeflood.Session(
            urls=sim.urls(), clock=clock, store=False, stream_settings=settings, record=directory) as s:
        subs = [s.subscribe(model, got[name].append, events=True, **params)
                for name, model, params in STREAMS]
        for sub in subs:
            await sub.ready()
        await until(lambda: all(len(v) >= 5 for v in got.values()))
        assert sim.skip_sequence("binance", "BTCUSDT") >= 1
        await until(lambda: kinds(got["binance book"], BookResynced) >= 1)
        assert sim.corrupt_checksum("bitget", "ETHUSDT") >= 1
        await until(lambda: kinds(got["bitget book"], BookResynced) >= 1)
        assert sim.drop_connections("binance") >= 1
        await until(lambda: kinds(got["binance trades"], Reconnected) >= 1
                    and kinds(got["binance book"], BookResynced) >= 2)
        marks = {name: len(v) for name, v in got.items()}
        await until(lambda: all(len(v) >= marks[name] + 5 for name, v in got.items()))
        for sub in subs:
            await sub.close()
    return got


async def replay(directory: Path) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    async with tradeflood.Session(replay=directory, speed="max") as s:
        streams = {name: s.stream(model, overflow="raise", events=True, **params)
                   for name, model, params in STREAMS}

        async def drain(name: str) -> None:
            out[name] = [item async for item in streams[name]]

        await asyncio.wait_for(asyncio.gather(*(drain(name) for name in streams)), 60)
    return out


async def test_a_replay_yields_what_the_live_session_delivered(tmp_path: Path) -> None:
    live = await record_live(tmp_path)
    assert {p.name.split("-")[0] for p in tmp_path.glob("*.tfrec")} == {"ws", "rest"}
    again = await replay(tmp_path)
    # What each live stream delivered, with its faults...
    assert kinds(live["binance book"], BookResync) >= 2 and "sequence gap" in next(
        i for i in live["binance book"] if isinstance(i, BookResync)).reason
    assert any(isinstance(i, BookResync) and "checksum" in i.reason for i in live["bitget book"])
    assert kinds(live["binance trades"], Reconnected) == 1 and kinds(live["binance trades"], TradeGap) == 1
    for name, items in live.items():
        replayed = again[name]
        assert len(items) >= 10
        # ...the replay yields the same, one by one (and at most the few the live session had
        # received but not yet handed out when it closed).
        for i, (a, b) in enumerate(zip(items, replayed, strict=False)):
            assert same(a, b), (name, i, a, b)
        assert len(items) <= len(replayed) <= len(items) + 50, (name, len(items), len(replayed))


async def test_candles_close_in_a_replay_as_they_closed_live(tmp_path: Path) -> None:
    """A minute a second: candles close live and after an outage are backfilled over REST; the
    replay closes the same candles at the same moments and backfills from the recorded replies."""
    clock = ScaledClock(60.0)
    venues = {"bitget": BitgetVenue(clock=clock), "binance": BinanceVenue(clock=clock)}
    params = [{"exchange": v, "symbol": "BTC/USDT", "interval": "1m"} for v in ("binance", "bitget")]
    live: list[list[Any]] = [[], []]
    settings = StreamSettings(backoff=Backoff(first=0.5, most=3.0), stale_after=3.0, open_timeout=5.0)
    async with Simulator(venues) as sim, tradeflood.Session(
            urls=sim.urls(), clock=clock, store=False, stream_settings=settings, record=tmp_path) as s:
        subs = [s.subscribe(Candle, live[i].append, events=True, **p) for i, p in enumerate(params)]
        for sub in subs:
            await sub.ready()
        await until(lambda: all(kinds(items, Candle) >= 2 for items in live))
        sim.reject_next_connect("bitget", count=40)  # away for a few clock minutes
        sim.drop_connections("bitget")
        await until(lambda: kinds(live[1], Reconnected) >= 1)
        await until(lambda: all(kinds(items, Candle) >= 6 for items in live))
        for sub in subs:
            await sub.close()
    assert kinds(live[1], Reconnected) == 1
    async with tradeflood.Session(replay=tmp_path, speed="max") as s:
        streams = [s.stream(Candle, events=True, **p) for p in params]

        async def drain(stream: Any) -> list[Any]:
            return [item async for item in stream]

        again = await asyncio.wait_for(asyncio.gather(*(drain(st) for st in streams)), 60)
    for items, replayed in zip(live, again, strict=True):
        assert all(c.closed for c in items if isinstance(c, Candle))
        assert replayed[:len(items)] == items
        assert len(replayed) <= len(items) + 2


async def test_speed_10_replays_the_same_items_ten_times_faster(tmp_path: Path) -> None:
    clock = ScaledClock(1.0)
    live: list[Any] = []
    async with Simulator({"binance": BinanceVenue(clock=clock)}) as sim, tradeflood.Session(
            urls=sim.urls(), clock=clock, store=False, record=tmp_path) as s:
        sub = s.subscribe(Trade, live.append, exchange="binance", symbol="BTC/USDT")
        await sub.ready()
        started = clock.time()
        await until(lambda: clock.time() - started >= 2.0 and len(live) >= 5)
        await sub.close()
    results = {}
    for speed in ("max", 10):
        async with tradeflood.Session(replay=tmp_path, speed=speed) as s:
            wall = asyncio.get_running_loop().time()
            first = s.clock.time()
            results[speed] = [t async for t in s.stream(Trade, exchange="binance", symbol="BTC/USDT")]
            took, covered = asyncio.get_running_loop().time() - wall, s.clock.time() - first
        if speed == 10:
            assert covered >= 2.0 and took <= covered / 10 + 1.0, (took, covered)
    assert results["max"][:len(live)] == live
    assert results[10] == results["max"]
