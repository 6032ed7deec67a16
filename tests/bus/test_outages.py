"""Gatherers through a Redis restart (their own redis-server on a spare port), and rate limits
shared through Redis by gatherers on one egress IP against the simulator's per-IP limit."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tradeflood.testing import Simulator

from .conftest import Procs, empty, logs, redis_client, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    """A redis-server of this test's own, keeping nothing on disk, restartable on its port."""

    def __init__(self, *options: str) -> None:
        self.port = _spare_port()
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", *self.options],
                                     stdout=subprocess.DEVNULL)
        client = redis_client(self.url)
        wait_for(lambda: _pings(client), what="redis-server answering")
        client.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def own_redis(request: pytest.FixtureRequest) -> Iterator[OwnRedis]:
    server = OwnRedis(*getattr(request, "param", ()))
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.kill()


def test_gatherer_carries_on_after_redis_restarts(own_redis: OwnRedis, sim: Simulator, procs: Procs) -> None:
    client = redis_client(own_redis.url)
    key = "stream.t1.bitget.trades.BTC/USDT"
    client.set("stream.config.g", json.dumps({"tenant": "t1", "subscriptions": [
        {"exchange": "bitget", "action": "trades", "symbol": "BTC/USDT"}]}))
    gatherer = procs.gatherer("g", url=own_redis.url)
    wait_for(lambda: client.xlen(key) >= 2, what="trades published")
    own_redis.kill()
    wait_for(lambda: "Redis unreachable" in logs(gatherer), what="the outage reported")
    own_redis.start()  # empty: no configuration, no leases, no streams
    wait_for(lambda: client.xlen(key) >= 2, timeout=30, what="publishing again after the restart")
    wait_for(lambda: "Redis reachable again" in logs(gatherer), what="the recovery reported")
    status = wait_for(lambda: client.hgetall("stream.status.g"), what="the status written again")
    member = next(orjson.loads(v) for k, v in status.items() if k.startswith("member."))
    assert member["redis_outages"] >= 1 and member["topics"] == [key]
    assert gatherer.poll() is None
    ids = [orjson.loads(f["data"])["id"] for _, f in client.xrange(key) if f["type"] == "item"]
    assert len(ids) == len(set(ids))
    client.close()


@pytest.mark.parametrize("own_redis", [("--notify-keyspace-events", "K$g")], indirect=True)
def test_keyspace_notifications_bring_configuration_changes_at_once(own_redis: OwnRedis, sim: Simulator,
                                                                    procs: Procs) -> None:
    client = redis_client(own_redis.url)
    sub = {"exchange": "bitget", "action": "ticker", "symbol": "ETH/USDT"}
    client.set("stream.config.g", json.dumps({"tenant": "t1", "subscriptions": [sub]}))
    gatherer = procs.gatherer("g", "--config-poll", "30", url=own_redis.url)  # polling alone: 30 s
    stats = sim.streams["bitget"].stats
    wait_for(lambda: stats.subscriptions == {"SPOT:ticker:ETHUSDT": 1}, what="the first topic upstream")
    wait_for(lambda: "keyspace notifications" in logs(gatherer), what="notifications in use")
    client.set("stream.config.g", json.dumps({"tenant": "t1", "subscriptions": [
        sub, {"exchange": "bitget", "action": "ticker", "symbol": "SOL/USDT"}]}))
    wait_for(lambda: "SPOT:ticker:SOLUSDT" in stats.subscriptions, timeout=2.0, what="the change upstream")
    client.close()


LIMITED = [{"exchange": "bitget", "action": "ticker", "symbol": s, "poll": 0.02}
           for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT:USDT")]


def _owners(rds: Any) -> set[str]:
    return {v.partition(":")[2] for v in (rds.get(k) for k in rds.keys("stream.lease.*")) if v}


def _run_pair(rds: Any, sim: Simulator, procs: Procs, ips: tuple[str, str], *extra: str,
              until_429: bool = False) -> dict[str, int]:
    """Two gatherers of one agent polling tickers hard, one on each of ``ips``; 429s per IP, counted
    once both gatherers hold topics (the first to start takes them all until the second joins), over
    120 ticker requests (or, ``until_429``, until the venue refuses one: on a loaded machine the pair
    may need a while to put 21 requests into one second)."""
    empty(rds)
    venue = sim.venues["bitget"]
    rds.set("stream.config.lim", json.dumps({"tenant": "t1", "subscriptions": LIMITED[:2] if ips[0] != ips[1]
                                             else LIMITED}))
    pair = [procs.gatherer("lim", "--egress-ip", ip, *extra) for ip in ips]
    wait_for(lambda: len(_owners(rds)) == 2, timeout=60, what="both gatherers holding topics")
    venue.stats.reset()
    if until_429:
        wait_for(lambda: venue.stats.by_status[429] > 0, timeout=60, what="a 429")
    else:
        wait_for(lambda: sum(venue.stats.by_path[p] for p in venue.stats.by_path if "ticker" in p) >= 120,
                 timeout=60, what="tickers polled")
    for proc in pair:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    statuses = venue.stats.by_status
    return {"ok": statuses[200], "429": statuses[429], **{ip: venue.stats.by_ip[ip] for ip in ips}}


def test_shared_limits_keep_gatherers_on_one_ip_under_the_venues_limit(rds: Any, sim: Simulator,
                                                                      procs: Procs) -> None:
    apart = _run_pair(rds, sim, procs, ("127.0.0.2", "127.0.0.3"))
    assert apart["429"] == 0 and apart["ok"] >= 120
    assert apart["127.0.0.2"] > 20 and apart["127.0.0.3"] > 20  # each IP its own budget
    together = _run_pair(rds, sim, procs, ("127.0.0.2", "127.0.0.2"))
    assert together["429"] == 0 and together["ok"] >= 120
    alone = _run_pair(rds, sim, procs, ("127.0.0.2", "127.0.0.2"), "--no-shared-limits", until_429=True)
    assert alone["429"] > 0, alone  # each process alone keeps to 20/s; two on one IP send up to 40/s
    print(f"429s: different IPs, shared {apart}; one IP, shared {together}; one IP, not shared {alone}")
