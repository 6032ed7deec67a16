"""A trade-history backfill killed at any moment resumes where it stopped (SIGKILL, then a re-run).

A subprocess gathers twelve hours of trades from the simulator (each request slowed a
little, one at a time, so the run is long enough to kill in its middle); the test waits
on the store's trade count, not on sleeps, then kills it. Each finished window was
stored as soon as it was parsed, so the re-run asks only for the windows still missing
and returns exactly what a fetch from nothing returns.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradeflood import Session
from tradeflood.models import Trade
from tradeflood.store import CandleStore
from tradeflood.testing import BinanceVenue, Faults, Simulator

from .kills import kill_at_shares, subprocess_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOUR = 3_600_000
PATH = "/api/v3/aggTrades"

SCRIPT = """
import sys
import tradeflood
from tradeflood.models import Trade
url, store, start, end = sys.argv[1:5]
with tradeflood.Session(urls={"binance": {"rest": url}}, store=store, max_concurrency=1) as s:
    got = s.fetch(Trade, exchange="binance", symbol="BTC/USDT", start=int(start), end=int(end))
print(len(got), got[0].id, got[-1].id)
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(venues={"binance": BinanceVenue(faults=Faults(latency=(0.05, 0.05)))}, ws=False) as s:
        yield s


def test_a_trade_backfill_killed_at_several_points_resumes_exactly(sim: Simulator, tmp_path: Path) -> None:
    store = tmp_path / "trades.sqlite3"
    end = int(time.time() * 1000) // HOUR * HOUR - HOUR
    start = end - 12 * HOUR  # twelve windows of an hour
    venue = sim.venues["binance"]
    with Session(urls={"binance": {"rest": sim.url("binance")}}, store=False) as s:
        before = venue.stats.by_path[PATH]
        clean = s.fetch(Trade, exchange="binance", symbol="BTC/USDT", start=start, end=end)
        pages = venue.stats.by_path[PATH] - before  # what a fetch from nothing sends
    total = len(clean)
    assert total > 12 * 3000 and pages >= 36 and clean.gaps == []

    args = [sys.executable, "-c", SCRIPT, sim.url("binance"), str(store), str(start), str(end)]
    kept = kill_at_shares(args, store, total, (0.2, 0.5, 0.8), "trades")  # each kill keeps what was stored
    assert kept < total

    with CandleStore(store) as disk:
        missing = disk.missing("binance", "BTC/USDT", "Trade", start, end)
    sent = venue.stats.by_path[PATH]
    done = subprocess.run(args, env=subprocess_env(), capture_output=True, timeout=300, check=True)
    assert done.stdout.split() == [str(total).encode(), clean[0].id.encode(), clean[-1].id.encode()]
    resent = venue.stats.by_path[PATH] - sent
    windows = sum(-(-(b - a) // HOUR) for a, b in missing)  # missing spans are whole windows
    assert 0 < resent <= windows * (pages // 12 + 1) and resent < pages  # only the missing windows
    with CandleStore(store) as disk:
        assert disk.read_trades("binance", "BTC/USDT", start, end) == list(clean)  # exact, and whole
        assert disk.covered("binance", "BTC/USDT", "Trade", start, end)
