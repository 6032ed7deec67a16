"""Rate-limit windows belong to the egress: sessions of one process share them, and one-off
``tradeflood.fetch`` calls share a default session's windows and instrument lists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tradeflood import Session, VirtualClock
from tradeflood.models import Candle
from tradeflood.testing import BitgetVenue, Simulator
from tradeflood.windows import RateLimits

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
MINUTE, DAY = 60_000, 86_400_000


@pytest.fixture
def bitget() -> Iterator[tuple[str, BitgetVenue]]:
    venue = BitgetVenue()  # 20 requests per rolling second per endpoint, live clock
    with Simulator(venues={"bitget": venue}, ws=False) as sim:
        yield sim.url("bitget"), venue


def _backfill(url: str) -> list[int]:
    """3 days of 1m candles of three symbols: 15 candle pages and the symbol list, in a burst."""
    end = (int(time.time() * 1000) // MINUTE - 5) * MINUTE
    with Session(urls={"bitget": {"rest": url}}, store=False, timeout=120) as s:  # a busy box is slow
        series = s.gather(*(s.query(Candle, exchange="bitget", symbol=sym, interval="1m",
                                    start=end - 3 * DAY, end=end) for sym in SYMBOLS))
    return [len(one) for one in series]


def test_two_sessions_back_to_back_draw_no_429(bitget: tuple[str, BitgetVenue]) -> None:
    url, venue = bitget
    # Each session alone bursts 15 candle requests; two inside one second are 30 > 20.
    assert _backfill(url) == [3 * 1440] * 3
    assert _backfill(url) == [3 * 1440] * 3
    assert venue.stats.requests == 32
    assert venue.stats.rejected_429 == 0


def test_sessions_in_two_threads_at_once_draw_no_429(bitget: tuple[str, BitgetVenue]) -> None:
    url, venue = bitget
    results: list[list[int]] = []
    threads = [threading.Thread(target=lambda: results.append(_backfill(url))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == [[3 * 1440] * 3] * 2
    assert venue.stats.rejected_429 == 0


def test_windows_are_shared_by_egress_and_clock_only() -> None:
    a, b = Session(store=False), Session(store=False)
    assert a._limits is b._limits  # the host's own address, the live clock
    clock = VirtualClock()
    c, d = Session(store=False, clock=clock), Session(store=False, clock=clock)
    assert c._limits is d._limits and c._limits is not a._limits
    assert Session(store=False, clock=VirtualClock())._limits is not c._limits
    bound = [Session(store=False, transport=httpx.AsyncHTTPTransport(local_address=ip)) for ip in
             ("127.0.0.2", "127.0.0.2", "127.0.0.3")]
    assert bound[0]._limits is bound[1]._limits
    assert bound[2]._limits is not bound[0]._limits and bound[0]._limits is not a._limits
    for s in (a, b, c, d, *bound):
        s.close()


def test_unused_windows_are_dropped() -> None:
    clock = VirtualClock()
    key_count = len(RateLimits._shared)
    s = Session(store=False, clock=clock)
    assert len(RateLimits._shared) == key_count + 1
    s.close()
    del s
    assert len(RateLimits._shared) == key_count  # nothing held weight: nothing lingers


_ONE_OFF = textwrap.dedent("""
    import asyncio, json, os, sys, time
    import tradeflood
    from tradeflood.models import Candle

    n = int(sys.argv[1])
    end = (int(time.time() * 1000) // 60_000 - 5) * 60_000
    sizes = set()
    for i in range(n):
        candles = tradeflood.fetch(Candle, exchange="binance", symbol="BTC/USDT", interval="1m",
                                   start=end - (i % 50 + 1) * 60_000, end=end)
        sizes.add(len(candles) == i % 50 + 1)
    # async callers on loops of their own (each asyncio.run a new one) share the same session
    for _ in range(2):
        candles = asyncio.run(tradeflood.afetch(Candle, exchange="binance", symbol="BTC/USDT",
                                                interval="1m", start=end - 60_000, end=end))
        sizes.add(len(candles) == 1)
    # a forked child makes a default session of its own (the parent's loop thread is not in it)
    pid = os.fork()
    if pid == 0:
        candles = tradeflood.fetch(Candle, exchange="binance", symbol="BTC/USDT", interval="1m",
                                   start=end - 60_000, end=end)
        os._exit(0 if len(candles) == 1 else 3)
    _, status = os.waitpid(pid, 0)
    sizes.add(os.waitstatus_to_exitcode(status) == 0)
    print(json.dumps({"all_complete": sizes == {True}}))
""")


def test_one_off_fetches_share_the_default_session() -> None:
    n = 200
    with Simulator(ws=False) as sim:
        env = {**os.environ, **sim.environ(), "TRADEFLOOD_STORE": "off"}
        done = subprocess.run([sys.executable, "-c", _ONE_OFF, str(n)], env=env, capture_output=True,
                              text=True, timeout=300)
        venue = sim.venues["binance"]
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"all_complete": True}
        assert done.stderr == ""  # closed cleanly at exit: no "Event loop is closed", no warning
        assert venue.stats.by_path["/api/v3/exchangeInfo"] == 1 + 1  # once, and once in the child
        assert venue.stats.by_path["/api/v3/klines"] == n + 2 + 1
        assert venue.stats.rejected_429 == 0 and venue.stats.rejected_418 == 0


def test_a_backfill_over_a_jittery_round_trip_draws_no_429() -> None:
    from tradeflood.testing import Faults

    # 40 to 80 ms round trips: 20 to 40 ms before the venue counts a request, as much after.
    faults = Faults(latency=(0.02, 0.04), request_latency=(0.02, 0.04), seed=3)
    venue = BitgetVenue(faults=faults)
    end = (int(time.time() * 1000) // MINUTE - 5) * MINUTE
    with Simulator(venues={"bitget": venue}, ws=False) as sim, \
            Session(urls={"bitget": {"rest": sim.url("bitget")}}, store=False, timeout=120,
                    transport=httpx.AsyncHTTPTransport()) as s:  # direct: the process's direct windows
        before = s._limits.get("bitget", "spot-candles")  # other tests' sessions may have used them
        seen = 0 if before is None else before.arrivals.samples
        series = s.gather(*(s.query(Candle, exchange="bitget", symbol=sym, interval="1m",
                                    start=end - 10 * DAY, end=end) for sym in SYMBOLS))
        window = s._limits.get("bitget", "spot-candles")
    assert [len(one) for one in series] == [10 * 1440] * 3
    sent = venue.stats.by_path["/api/v2/spot/market/candles"]
    assert sent >= 3 * 15 and venue.stats.rejected_429 == 0
    assert window is not None and window.arrivals.samples - seen == sent
    # the window learnt the round trips and held less than them (the early-expiry rule was in use)
    assert window.arrivals.allowance < window.arrivals.fastest + window.arrivals.spread
