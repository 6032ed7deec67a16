"""Bus tests: a real Redis on 127.0.0.1 (a database of this run's own, emptied before and after each
test), the simulator in this process as the venue, and gatherers as real processes
(``python -m tradeflood.cli``).

Each run claims a database no other run is using (``tradeflood.testing.claim_redis_database``):
two runs on one machine sharing a database would empty each other's keys mid-test (a shared rate
window wiped is a burst of requests past the venue's limit). $TRADEFLOOD_TEST_REDIS_DB forces one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tradeflood.testing import Simulator, claim_redis_database, renew_redis_claim


def _claim_database() -> int:
    try:
        return claim_redis_database()
    except redis.exceptions.ConnectionError:
        return 13  # no Redis: the rds fixture says so


DB = _claim_database()
REDIS_URL = f"redis://127.0.0.1:6379/{DB}"


def redis_client(url: str = REDIS_URL) -> Any:
    return redis.Redis.from_url(url, decode_responses=True)


@pytest.fixture
def rds() -> Iterator[Any]:
    client = redis_client()
    try:
        client.ping()
    except Exception as exc:  # CI starts redis-server; a developer's machine may not have one
        pytest.fail(f"Redis does not answer at {REDIS_URL}: {exc} (start redis-server, see .ci/run)")
    empty(client)
    yield client
    empty(client)
    client.close()


def empty(client: Any) -> None:
    """Empty this run's database (it stays claimed by this run)."""
    client.flushdb()
    renew_redis_claim(client)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


def sim_env(sim: Simulator) -> dict[str, str]:
    """The environment that points a gatherer process at the simulator."""
    env = dict(os.environ)
    for venue, apis in sim.urls().items():
        for api, url in apis.items():
            env[f"TRADEFLOOD_{venue.upper()}_{api.upper().replace('.', '_')}_URL"] = url
    env["TRADEFLOOD_STORE"] = "off"
    return env


class Procs:
    """Gatherer (and other) processes started by a test, killed at its end."""

    def __init__(self, sim: Simulator, tmp: Path) -> None:
        self.sim = sim
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, env: dict[str, str] | None = None,
              name: str = "proc") -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}-{len(self.procs)}.log", "wb")  # noqa: SIM115 (kept open for the child)
        proc = subprocess.Popen([sys.executable, "-m", "tradeflood.cli", *args], stdout=log,
                                stderr=subprocess.STDOUT, env=env or sim_env(self.sim))
        proc.log_path = log.name  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def gatherer(self, agent: str = "g", *extra: str, url: str = REDIS_URL) -> subprocess.Popen[bytes]:
        return self.start("gather", "--redis", url, "--agent", agent, *extra, name=f"gather-{agent}")

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def procs(sim: Simulator, tmp_path: Path) -> Iterator[Procs]:
    p = Procs(sim, tmp_path)
    yield p
    p.kill_all()


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "a condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {value!r})")
        time.sleep(0.05)


def logs(proc: subprocess.Popen[bytes]) -> str:
    return Path(proc.log_path).read_text(errors="replace")  # type: ignore[attr-defined]
