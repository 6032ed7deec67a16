"""The bus's commands as operators run them: ``tradeflood bus tail`` and ``tradeflood bus status``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import orjson
import pytest

from tradeflood.testing import Simulator

from .conftest import REDIS_URL, Procs, sim_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "stream.t1.bitget.trades.BTC/USDT"


def _run(sim: Simulator, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradeflood.cli", *args], env=sim_env(sim),
                          capture_output=True, text=True, timeout=60)


def test_tail_and_status_show_what_is_on_the_bus(rds: Any, sim: Simulator, procs: Procs) -> None:
    rds.set("stream.config.gatherer", json.dumps({"tenant": "t1", "subscriptions": [
        {"exchange": "bitget", "action": "trades", "symbol": "BTC/USDT"}]}))
    procs.gatherer("gatherer")
    wait_for(lambda: rds.xlen(KEY) >= 2, what="trades published")

    tail = _run(sim, "bus", "tail", KEY, "--redis", REDIS_URL, "--from-start", "--count", "2")
    assert tail.returncode == 0, tail.stderr
    lines = [orjson.loads(line) for line in tail.stdout.splitlines()]
    first = rds.xrange(KEY, count=2)
    assert [line["id"] for line in lines] == [i for i, _ in first]
    assert lines[0]["key"] == KEY and lines[0]["type"] == "item" and lines[0]["token"] == "1"
    assert lines[0]["data"]["symbol"] == "BTC/USDT" and isinstance(lines[0]["data"]["price"], str)
    assert {"venue_ts", "recv_ts", "pub_ts"} <= set(lines[0])

    status = _run(sim, "bus", "status", "--redis", REDIS_URL, "--json")
    assert status.returncode == 0, status.stderr
    found = orjson.loads(status.stdout)
    agent = found["agents"]["gatherer"]
    assert agent["config"] == "applied"
    [(member, state)] = agent["members"].items()
    assert state["alive"] and state["topics"] == [KEY]
    assert found["leases"][KEY]["member"] == member and found["leases"][KEY]["token"] == 1
    assert found["topics"][KEY]["length"] >= 2 and found["topics"][KEY]["owner"]["member"] == member
    text = _run(sim, "bus", "status", "--redis", REDIS_URL)
    assert "agent gatherer: configuration applied" in text.stdout
    assert f"{KEY}: " in text.stdout and member in text.stdout

    bad = _run(sim, "bus", "tail", "stream.snapshot.t1.bitget.trades.BTC/USDT", "--redis", REDIS_URL)
    assert bad.returncode == 2 and "not a topic key" in bad.stderr
