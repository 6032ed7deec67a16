"""A backfill killed at any moment resumes where it stopped; Ctrl-C ends a CLI fetch in one line.

A subprocess backfills from the simulator (each request slowed a little, one at a time,
so the run is long enough to kill in its middle); the test waits on the store's candle
count, not on sleeps, then kills it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradeflood import Session
from tradeflood.models import Candle
from tradeflood.store import CandleStore
from tradeflood.testing import BinanceVenue, BitgetVenue, Faults, Simulator
from tradeflood.timeparse import parse_time

from .kills import kill_at_shares, stored_rows, subprocess_env, wait_for

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

    kept = kill_at_shares(args, store, total, (0.15, 0.5, 0.8), "candles")  # each kill keeps what was stored

    assert kept < total
    sent = _candle_requests(sim, venue)
    done = subprocess.run(args, env=subprocess_env(), capture_output=True, timeout=300, check=True)
    assert done.stdout.split() == [str(total).encode()]
    resent = _candle_requests(sim, venue) - sent
    stored = stored_rows(store)  # whole grid pages: the last one reaches past the range's end
    assert stored >= total and stored % pages == 0
    page = stored // pages
    missing_pages = -(-(stored - kept) // page)
    assert resent <= missing_pages + 1  # only the missing pages (and the one the kill cut short)
    assert resent < pages
    with CandleStore(store) as disk:
        assert disk.read(venue, "BTC/USDT", "1m", START, end) == list(clean)  # exact, and whole


CLI_RANGE = ("2024-01-01T00:00:00Z", "2024-01-31T00:00:00Z")  # 43,200 one-minute bars: 44 pages


def _cli_fetch(sim: Simulator) -> list[str]:
    return [sys.executable, "-m", "tradeflood.cli", "fetch", "candle", "--exchange", "binance",
            "--symbol", "BTC/USDT", "--interval", "1m", "--start", CLI_RANGE[0], "--end", CLI_RANGE[1],
            "--url", f"binance={sim.url('binance')}"]


def test_ctrl_c_ends_a_cli_fetch_in_one_line_after_storing_what_was_complete(sim: Simulator,
                                                                              tmp_path: Path) -> None:
    """The issue's symptom: "aborted", then about 5,900 lines of "Task was destroyed" /
    "Event loop is closed". Now: SIGINT mid-backfill, once replies are flowing and pages
    are being stored, ends the CLI with exactly one line on stderr and exit status 130
    (documented in ``tradeflood.cli.main``); every page completed before it is in the store,
    exact, and a re-run sends only the pages still missing."""
    store = tmp_path / "candles.sqlite3"
    env = {**subprocess_env(), "TRADEFLOOD_STORE": str(store)}
    sent = _candle_requests(sim, "binance")
    proc = subprocess.Popen(_cli_fetch(sim), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Requests flowing and pages landing: several replies served, three pages stored.
        wait_for(lambda: _candle_requests(sim, "binance") - sent >= 4 and stored_rows(store) >= 3000,
                  proc, "requests flowing and 3 pages stored")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode()
    assert proc.returncode == 130, (proc.returncode, text)
    assert text == "aborted (interrupted)\n", text  # exactly one line: no blank line, no traceback
    assert out == b""

    # What was stored is whole pages of exactly what the venue serves.
    kept = stored_rows(store)
    start, end = (int(parse_time(t, now_ms=0)) for t in CLI_RANGE)
    with Session(urls={"binance": {"rest": sim.url("binance")}}, store=False) as s:
        honest = s.fetch(Candle, exchange="binance", symbol="BTC/USDT", interval="1m", start=start, end=end)
    page = 1000 * 60_000  # Binance's grid: pages of 1,000 bars at multiples of their span
    with CandleStore(store) as disk:  # whole grid pages: the first starts before the range
        stored = disk.read("binance", "BTC/USDT", "1m", start - page, end + page)
        covered = disk.missing("binance", "BTC/USDT", "1m", start, end)
    assert kept >= 3000 and kept % 1000 == 0 and kept < len(honest) and len(stored) == kept
    by_time = {c.open_time: c for c in honest}
    inside = [c for c in stored if start <= c.open_time < end]
    assert len(inside) >= kept - 1000 and all(by_time[c.open_time] == c for c in inside)

    # A re-run completes, sending only the pages the store does not hold.
    before = _candle_requests(sim, "binance")
    done = subprocess.run(_cli_fetch(sim), env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(honest) + 1  # the CSV header and every bar
    missing_pages = {k for a, b in covered for k in range(a // page, (b - 1) // page + 1)}
    assert _candle_requests(sim, "binance") - before == len(missing_pages)
