"""Dbsync: closed candles published by a gatherer reach the candle store exactly once."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tradeflood.clock import ScaledClock
from tradeflood.models import Candle
from tradeflood.store import CandleStore
from tradeflood.testing import BinanceVenue, BitgetVenue, Simulator

from .conftest import REDIS_URL, Procs, sim_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "stream.t1.bitget.ohlcv-1m.BTC/USDT"


def _sync(path: Path, env: dict[str, str]) -> str:
    command = [sys.executable, "-m", "tradeflood.cli", "store", "sync", "--redis", REDIS_URL,
               "--path", str(path), "--once"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_store_sync_writes_each_closed_candle_once(rds: Any, tmp_path: Path) -> None:
    origin = time.time()
    clock = ScaledClock(60, start=origin)  # a minute a second, shared with the gatherer process
    venues = {"bitget": BitgetVenue(clock=clock), "binance": BinanceVenue(clock=clock)}
    with Simulator(venues) as sim:
        procs = Procs(sim, tmp_path)
        try:
            rds.set("stream.config.g", json.dumps({"tenant": "t1", "subscriptions": [
                {"exchange": "bitget", "action": "ohlcv-1m", "symbol": "BTC/USDT"}]}))
            procs.gatherer("g", "--speed", "60", "--origin", repr(origin))
            wait_for(lambda: sum(1 for _, f in rds.xrange(KEY) if f["type"] == "item") >= 4, timeout=40,
                     what="closed candles published")
        finally:
            procs.kill_all()
    published = [Candle.model_validate(orjson.loads(f["data"])) for _, f in rds.xrange(KEY)
                 if f["type"] == "item"]
    assert all(c.closed for c in published)
    opens = [c.open_time for c in published]
    assert opens == sorted(set(opens)) and all(b - a == 60_000 for a, b in itertools.pairwise(opens))
    store_path = tmp_path / "candles.sqlite3"
    env = sim_env(sim)
    assert _sync(store_path, env).startswith(f"{len(published)} candles written")
    assert _sync(store_path, env).startswith("0 candles written")  # nothing twice
    with CandleStore(store_path) as store:
        stored = store.read("bitget", "BTC/USDT", "1m", opens[0], opens[-1] + 60_000)
        assert store.covered("bitget", "BTC/USDT", "1m", opens[0], opens[-1] + 60_000)
    assert [(c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in stored] == [
        (c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in published]
    groups = rds.xinfo_groups(KEY)
    assert groups[0]["name"] == "dbsync" and groups[0]["pending"] == 0
