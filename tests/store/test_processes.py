"""Several processes on one store, and a process killed in the middle of a write."""

from __future__ import annotations

import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storedata import MINUTE, bars

from tradeflood.store import CandleStore

KEY = ("bitget", "BTC/USDT", "1m")
WINDOW = 1500 * MINUTE


def _writer(path: str, offset: int, rounds: int, reverse: bool) -> None:
    with CandleStore(path, timeout=60) as store:
        order = range(rounds - 1, -1, -1) if reverse else range(rounds)
        for i in order:
            start = offset + i * WINDOW
            store.write(*KEY, start, start + WINDOW, bars(start, start + WINDOW))


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        result = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    return str(result)


def test_two_processes_writing_one_series(tmp_path: Path) -> None:
    path = tmp_path / "candles.sqlite3"
    ctx = multiprocessing.get_context("fork")
    rounds = 12
    # Overlapping windows written in opposite orders, so both touch the same blocks at once.
    jobs = [ctx.Process(target=_writer, args=(str(path), 0, rounds, False)),
            ctx.Process(target=_writer, args=(str(path), WINDOW // 3, rounds, True))]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(120)
        assert job.exitcode == 0
    end = WINDOW // 3 + rounds * WINDOW
    assert _integrity(path) == "ok"
    with CandleStore(path) as store:
        got = [c.open_time for c in store.read(*KEY, 0, end)]
        assert got == list(range(0, end, MINUTE))
        assert store.missing(*KEY, 0, end) == []
        assert store.info().series[0].covered == [(0, end)]
        assert store.info().series[0].candles == end // MINUTE


_KILLED_WRITER = """
import sys
from tradeflood.models import Candle
from tradeflood.store import CandleStore
sys.path.insert(0, {here!r})
from storedata import MINUTE, bars

batch = {batch}
with CandleStore({path!r}) as store:
    store.write("bitget", "BTC/USDT", "1m", 0, batch * MINUTE, bars(0, batch * MINUTE))
    print("ready", flush=True)
    i = 1
    while True:
        a, b = i * batch * MINUTE, (i + 1) * batch * MINUTE
        store.write("bitget", "BTC/USDT", "1m", a, b, bars(a, b))
        i += 1
"""


@pytest.mark.parametrize("delay", [0.3, 0.9, 1.7])
def test_killed_mid_write_loses_nothing_committed(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "candles.sqlite3"
    batch = 20_000
    code = _KILLED_WRITER.format(here=str(Path(__file__).parent), batch=batch, path=str(path))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(delay)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    assert _integrity(path) == "ok"
    with CandleStore(path) as store:
        [series] = store.info().series
        # Every write is all or nothing: whole batches, each covered exactly as far as stored.
        assert series.candles % batch == 0 and series.candles >= batch
        assert series.covered == [(0, series.candles * MINUTE)]
        times = [c.open_time for c in store.read(*KEY, 0, 10**13)]
        assert times == list(range(0, series.candles * MINUTE, MINUTE))
        # And the store goes on working.
        end = series.candles * MINUTE
        assert store.write(*KEY, end, end + MINUTE, bars(end, end + MINUTE)) == 1


def _opener(path: str, n: int) -> None:
    with CandleStore(path, timeout=60) as store:
        store.write(*KEY, n * MINUTE, (n + 1) * MINUTE, bars(n * MINUTE, (n + 1) * MINUTE))


def test_processes_creating_one_store_at_once(tmp_path: Path) -> None:
    for attempt in range(3):
        path = tmp_path / f"fresh{attempt}.sqlite3"
        ctx = multiprocessing.get_context("fork")
        jobs = [ctx.Process(target=_opener, args=(str(path), n)) for n in range(4)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join(60)
        assert [job.exitcode for job in jobs] == [0, 0, 0, 0]
        with CandleStore(path) as store:
            assert store.covered(*KEY, 0, 4 * MINUTE)
