"""A book snapshot handed to the book after deltas arrived is handed over after them in a replay too.

Live, the deltas that arrive while a REST snapshot is parsed are buffered and bridged into
the first book. The replay must hold the recorded reply back until those same frames have
been played, or its first book would be an earlier one. The test forces such deltas by
making the snapshot fetch slow to return (as a slow parse on a loaded machine does): it
returns only once three more frames have come off the socket.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.models import OrderBook
from tradeflood.recording import RecordingFile, open_directory
from tradeflood.recording._format import REST, TAKEN
from tradeflood.recording._writer import BlockWriter
from tradeflood.streams import BookResynced, StreamSettings
from tradeflood.streams._connection import Connection
from tradeflood.testing import BinanceVenue, Simulator

pytestmark = pytest.mark.integration

PARAMS: dict[str, Any] = {"exchange": "binance", "symbol": "BTC/USDT", "depth": 5}


async def until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    async def run() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(run(), timeout)


def same(live: Any, replayed: Any) -> bool:
    """Equal, but for a BookResynced stamp, which live is read just after the snapshot was
    applied and in a replay at the moment it was handed over (never later than live)."""
    if live == replayed:
        return True
    return (isinstance(live, BookResynced) and isinstance(replayed, BookResynced)
            and dataclasses.replace(live, timestamp=replayed.timestamp) == replayed
            and 0 <= live.timestamp - replayed.timestamp < 500)


class _Counted(Connection):
    """A live connection the test can see (how many frames came off its socket)."""

    opened: list[Connection] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _Counted.opened.append(self)


def frames() -> int:
    return sum(c.frames for c in _Counted.opened)


async def record_slow_snapshot(directory: Path) -> tuple[list[Any], list[int]]:
    """A live book whose snapshot fetch returns only after three more frames arrived."""
    _Counted.opened = []
    clock = ScaledClock(1.0)
    got: list[Any] = []
    snapshots: list[int] = []
    settings = StreamSettings(connection_class=_Counted)
    async with Simulator({"binance": BinanceVenue(clock=clock)}) as sim, tradeflood.Session(
            urls=sim.urls(), clock=clock, store=False, stream_settings=settings, record=directory) as s:
        fetch = s.afetch

        async def slow_fetch(model: Any, **params: Any) -> Any:
            result = await fetch(model, **params)
            if model is OrderBook:
                snapshots.append(result.sequence)
                seen = frames()
                await until(lambda: frames() >= seen + 3)  # deltas arrive "while it is parsed"
            return result

        s.afetch = slow_fetch  # type: ignore[method-assign]
        sub = s.subscribe(OrderBook, got.append, events=True, **PARAMS)
        await sub.ready()
        await until(lambda: sum(isinstance(i, OrderBook) for i in got) >= 10)
        await sub.close()
    return got, snapshots


async def replay(directory: Path) -> list[Any]:
    async with tradeflood.Session(replay=directory, speed="max") as s:
        stream = s.stream(OrderBook, overflow="raise", events=True, **PARAMS)
        return await asyncio.wait_for(_drain(stream), 60)


async def _drain(stream: Any) -> list[Any]:
    return [item async for item in stream]


def books(items: list[Any]) -> list[OrderBook]:
    return [i for i in items if isinstance(i, OrderBook)]


async def test_the_replay_hands_a_slow_snapshot_over_after_the_same_deltas(tmp_path: Path) -> None:
    live, snapshots = await record_slow_snapshot(tmp_path)
    first = books(live)[0]
    assert first.sequence is not None and snapshots and first.sequence > snapshots[0], (first, snapshots)
    marks = [r for f in open_directory(tmp_path, "rest") for r in f.records() if r.kind == TAKEN]
    replies = [r for f in open_directory(tmp_path, "rest") for r in f.records() if r.kind == REST]
    assert len(marks) == len(snapshots) >= 1
    (taken,) = orjson.loads(marks[0].data)["replies"]
    reply = next(r for r in replies if r.ns == taken["ns"])
    assert taken["path"].startswith("/api/v3/depth") and marks[0].ns > reply.ns
    again = await replay(tmp_path)
    assert books(again)[0] == first
    for i, (a, b) in enumerate(zip(live, again, strict=False)):
        assert same(a, b), (i, a, b)
    assert len(live) <= len(again) <= len(live) + 50


async def test_a_recording_without_marks_still_replays(tmp_path: Path) -> None:
    """A format-1 recording (no TAKEN marks) replays; its replies are handed over on arrival."""
    live, _ = await record_slow_snapshot(tmp_path / "new")
    old = tmp_path / "old"
    shutil.copytree(tmp_path / "new", old)
    for f in old.glob("rest-*.tfrec"):
        _drop_marks(f)
    assert not [r for f in open_directory(old, "rest") for r in f.records() if r.kind == TAKEN]
    again = await replay(old)
    assert books(again)  # the books of a replay that knows no hand-over time
    # Without the mark the snapshot is handed over on arrival: an earlier first book, no later.
    assert books(again)[0].sequence is not None and books(live)[0].sequence is not None
    assert books(again)[0].sequence < books(live)[0].sequence
    assert books(live)[-1] in books(again)


def _drop_marks(path: Path) -> None:
    """Rewrite a rest file as format 1 would have: the same replies and no TAKEN marks."""
    records = [r for r in RecordingFile(path).records() if r.kind == REST]
    path.unlink()
    Path(f"{path}.idx").unlink(missing_ok=True)
    writer = BlockWriter(path.parent, "rest")
    for r in records:
        writer.append(r.kind, r.ns, r.channel, r.data)
    writer.close()
