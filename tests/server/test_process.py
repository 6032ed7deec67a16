"""The server as a process: the Dockerfile's command exactly as written, and SIGTERM mid-stream."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tradeflood.testing import Simulator

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def dockerfile_command(path: Path) -> list[str]:
    """ENTRYPOINT + CMD of the Dockerfile's last stage (exec or shell form), as argv."""
    entry: list[str] = []
    cmd: list[str] = []
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word.upper() == "FROM":
            entry, cmd = [], []
        if word.upper() in ("ENTRYPOINT", "CMD"):
            rest = rest.strip()
            argv = json.loads(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]
            if word.upper() == "ENTRYPOINT":
                entry = argv
            else:
                cmd = argv
    return entry + cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


def environment(sim: Simulator, port: int) -> dict[str, str]:
    env = {**os.environ, "TRADEFLOOD_SERVER_PORT": str(port), "TRADEFLOOD_API_KEYS": "test-key",
           "TRADEFLOOD_STORE": "off", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for venue, apis in sim.urls().items():
        for api, url in apis.items():
            env[f"TRADEFLOOD_{venue.upper()}_{api.upper().replace('.', '_')}_URL"] = url
    return env


def wait_healthy(url: str, proc: subprocess.Popen[bytes], deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            if httpx.get(url + "/healthz", timeout=1).json() == {"status": "ok"}:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not become healthy")


def test_the_dockerfile_command_serves_healthz(sim: Simulator) -> None:
    argv = dockerfile_command(ROOT / "Dockerfile")
    assert argv[:2] == ["tradeflood", "serve"] and "0.0.0.0" in argv, shlex.join(argv)
    text = (ROOT / "Dockerfile").read_text()
    assert "HEALTHCHECK" in text and "/healthz" in text and "USER tradeflood" in text
    assert text.count("FROM ") >= 2  # multi-stage
    port = free_port()
    proc = subprocess.Popen(argv, env=environment(sim, port), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        reply = httpx.get(f"http://127.0.0.1:{port}/v1/ticker",
                          params={"exchange": "bitget", "symbol": "BTC/USDT"},
                          headers={"Authorization": "Bearer test-key"}, timeout=30)
        assert reply.status_code == 200 and reply.json()["exchange"] == "bitget"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_without_keys_it_refuses_to_listen_beyond_loopback(sim: Simulator) -> None:
    env = environment(sim, free_port())
    del env["TRADEFLOOD_API_KEYS"]
    done = subprocess.run([str(BIN / "tradeflood"), "serve", "--host", "0.0.0.0"], env=env,
                          capture_output=True, timeout=60)
    assert done.returncode == 2 and b"without API keys" in done.stderr


def test_sigterm_mid_stream_shuts_down_cleanly_within_the_bound(sim: Simulator) -> None:
    port = free_port()
    proc = subprocess.Popen([str(BIN / "tradeflood"), "serve", "--port", str(port)],
                            env=environment(sim, port), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        with connect(f"ws://127.0.0.1:{port}/v1/stream?token=test-key", open_timeout=30) as ws:
            ws.send(orjson.dumps({"op": "subscribe", "id": "a", "model": "trade", "exchange": "binance",
                                  "symbol": "BTC/USDT"}).decode())
            got = 0
            while got < 5:
                if "data" in orjson.loads(ws.recv(timeout=30)):
                    got += 1
            assert sum(sim.streams["binance"].stats.subscriptions.values()) == 1
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=15)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert proc.wait(15) == 0
        elapsed = time.monotonic() - started
        assert elapsed < 10, elapsed
        logs = [json.loads(line) for line in proc.stderr.read().decode().splitlines() if line.startswith("{")]  # type: ignore[union-attr]
        messages = [entry["msg"] for entry in logs]
        assert "server shutting down: 1 sockets, 0 callbacks" in messages
        assert "tradeflood server stopped" in messages
        assert any(e["logger"] == "tradeflood.server.access" and e.get("path") == "/healthz" for e in logs)
        deadline = time.monotonic() + 10
        while sum(sim.streams["binance"].stats.subscriptions.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not sum(sim.streams["binance"].stats.subscriptions.values())  # the upstream was left
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
