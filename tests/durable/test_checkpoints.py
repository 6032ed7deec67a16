"""A backfill killed at any moment resumes where it stopped; Ctrl-C ends a CLI fetch in one line.

A subprocess backfills from the simulator (each request slowed a little, one at a time,
so the run is long enough to kill in its middle); the test waits on the store's candle
count, not on sleeps, then kills it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradeflood import Session
from tradeflood.models import Candle
from tradeflood.store import CandleStore
from tradeflood.testing import BinanceVenue, BitgetVenue, Faults, Simulator

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START, DAY = 1_704_067_200_000, 86_400_000  # 2024-01-01T00:00:00Z
RANGE = {"binance": 30 * DAY, "bitget": 4 * DAY}  # 44 pages of 1,000 1m candles; 29 of 200

SCRIPT = """
import sys
import tradeflood
from tradeflood.models import Candle
venue, url, store, start, end = sys.argv[1:6]
with tradeflood.Session(urls={venue: {"rest": url}}, store=store, max_concurrency=1) as s:
    got = s.fetch(Candle, exchange=venue, symbol="BTC/USDT", interval="1m", start=int(start), end=int(end))
print(len(got))
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    slow = Faults(latency=(0.05, 0.05))
    with Simulator(venues={"binance": BinanceVenue(faults=slow), "bitget": BitgetVenue(faults=slow)},
                   ws=False) as s:
        yield s


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _stored(path: Path) -> int:
    if not path.exists():
        return 0
    with CandleStore(path) as store:
        return sum(s.candles for s in store.info().series)


def _wait_for(condition: object, proc: subprocess.Popen[bytes], what: str, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if proc.poll() is not None:
            raise AssertionError(f"the backfill ended (code {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {within} s")
        time.sleep(0.01)


def _candle_requests(sim: Simulator, venue: str) -> int:
    return sum(n for path, n in sim.venues[venue].stats.by_path.items()
               if "candles" in path or "klines" in path)


@pytest.mark.parametrize("venue", ["binance", "bitget"])
def test_a_backfill_killed_at_several_points_resumes_exactly(sim: Simulator, venue: str,
                                                              tmp_path: Path) -> None:
    store = tmp_path / "candles.sqlite3"
    end = START + RANGE[venue]
    args = [sys.executable, "-c", SCRIPT, venue, sim.url(venue), str(store), str(START), str(end)]
    total = RANGE[venue] // 60_000
    with Session(urls={venue: {"rest": sim.url(venue)}}, store=False) as s:
        before = _candle_requests(sim, venue)
        clean = s.fetch(Candle, exchange=venue, symbol="BTC/USDT", interval="1m", start=START, end=end)
        pages = _candle_requests(sim, venue) - before  # what a fetch from nothing sends
    assert len(clean) == total and pages >= 6

    kept = 0
    for share in (0.15, 0.5, 0.8):  # kill when this share of the candles is stored
        target = max(kept + 1, int(total * share))
        proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _wait_for(lambda target=target: _stored(store) >= target, proc, f"{target} candles stored")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        now = _stored(store)
        assert now >= target > kept  # what was stored before the kill survives it
        kept = now

    assert kept < total
    sent = _candle_requests(sim, venue)
    done = subprocess.run(args, env=_env(), capture_output=True, timeout=300, check=True)
    assert done.stdout.split() == [str(total).encode()]
    resent = _candle_requests(sim, venue) - sent
    stored = _stored(store)  # whole grid pages: the last one reaches past the range's end
    assert stored >= total and stored % pages == 0
    page = stored // pages
    missing_pages = -(-(stored - kept) // page)
    assert resent <= missing_pages + 1  # only the missing pages (and the one the kill cut short)
    assert resent < pages
    with CandleStore(store) as disk:
        assert disk.read(venue, "BTC/USDT", "1m", START, end) == list(clean)  # exact, and whole


def test_ctrl_c_ends_a_cli_fetch_in_one_line_after_storing_what_was_complete(sim: Simulator,
                                                                              tmp_path: Path) -> None:
    store = tmp_path / "candles.sqlite3"
    env = {**_env(), "TRADEFLOOD_STORE": str(store)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradeflood.cli", "fetch", "candle", "--exchange", "binance",
         "--symbol", "BTC/USDT", "--interval", "1m", "--start", "2024-01-01T00:00:00Z",
         "--end", "2024-01-31T00:00:00Z",
         "--url", f"binance={sim.url('binance')}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _stored(store) >= 3000, proc, "3 pages stored")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode()
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    assert proc.returncode == 1, text
    assert last == "aborted", text
    assert "Task was destroyed" not in text and "Event loop is closed" not in text
    assert "Traceback" not in text
    assert len(text) < 2000, text  # the progress line, then one line
    assert out == b""
    assert _stored(store) >= 3000  # the complete pages stayed
