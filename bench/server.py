"""Server benchmark: WebSocket fan-out, candles out of the store, memory per client, side by side.

    python bench/server.py [--seconds 8] [--clients 1,100,1000]

Everything runs on 127.0.0.1: the simulator in a process of its own pours
Binance ``btcusdt@trade`` at 100 messages/s; ``tradeflood serve`` runs as a
process of its own (its CPU read from /proc); clients run in worker processes.

1. Fan-out: N clients (1, 100, 1000) subscribe the same trade topic. Latency is
   from the trade's own timestamp (set by the simulator as it sends) to the
   client's receive, p50/p99 over every message of every client; messages/s out
   is the server's count of frames sent per second; server CPU is its CPU-seconds
   per wall second. Up to 25 clients per worker process parse and time every
   frame; the others only drain their sockets (so the clients' own Python does
   not starve the server of the two cores). Goal: 1000 clients, p99 under 100 ms.
2. Candles out: a year of 1m candles (525,600) written into a store, served by
   ``GET /v1/candles`` as Arrow and as JSON lines (read to the last byte), next
   to ``CandleStore.read_arrow`` in process. Goal: Arrow within 2x of in-process.
3. Memory: the server's RSS growth per idle WebSocket client (1000 sockets),
   then per subscription (each of them subscribing the topic).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

MINUTE = 60_000
YEAR_START = 1_735_689_600_000  # 2025-01-01T00:00:00Z
YEAR_BARS = 525_600
STREAM = "btcusdt@trade"
WARMUP = 2.0  # seconds of delivery before measuring: the backlog of the setup drains first


# -- processes ------------------------------------------------------------------------------


def _simulate(conn: Connection, rate: float) -> None:
    import logging

    from tradeflood.testing import Simulator

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    with Simulator() as sim:
        sim.firehose("binance", STREAM, rate=rate)
        conn.send(sim.urls())
        conn.recv()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _start_server(urls: dict[str, dict[str, str]], store: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "TRADEFLOOD_STORE": str(store), "TRADEFLOOD_SERVER_PORT": str(port)}
    for venue, apis in urls.items():
        for api, url in apis.items():
            env[f"TRADEFLOOD_{venue.upper()}_{api.upper().replace('.', '_')}_URL"] = url
    config = store.parent / "server.toml"
    config.write_text("[server]\nmax_sockets_per_key = 5000\nmax_subscriptions_per_key = 5000\n"
                      "client_queue_size = 5000\n")
    exe = Path(sys.executable).parent / "tradeflood"
    proc = subprocess.Popen([str(exe), "serve", "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


# -- fan-out clients ---------------------------------------------------------------------------


def _clients(conn: Connection, ws_url: str, n: int, seconds: float, subscribe: bool, full: int) -> None:
    asyncio.run(_run_clients(conn, ws_url, n, seconds, subscribe, full))


def _masked(payload: bytes) -> bytes:
    """One client text frame (clients must mask what they send)."""
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawClient:
    """A WebSocket client that only drains bytes: the server does all of its work for it, while
    the client costs almost nothing, so 1000 of them fit beside the server on two cores."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, ws_url: str) -> RawClient:
        import base64
        from urllib.parse import urlsplit

        parts = urlsplit(ws_url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def send(self, text: str) -> None:
        self.writer.write(_masked(text.encode()))
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()


async def _run_clients(conn: Connection, ws_url: str, n: int, seconds: float, subscribe: bool,
                       full: int) -> None:
    import orjson
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    window = [float("inf"), float("inf")]  # measure from, until: set when told to go
    acks: list[int] = [0] * n  # "subscribed" answers seen per socket
    loop = asyncio.get_running_loop()

    async def read(i: int, ws: Any) -> None:
        # Every client reads from its first moment, so nothing piles up before the measure.
        tail = b""
        while True:
            if isinstance(ws, RawClient):
                chunk = await ws.reader.read(1 << 20)
                if not chunk:
                    return
                acks[i] += (tail + chunk).count(b'"op":"subscribed"') - tail.count(b'"op":"subscribed"')
                tail = chunk[-32:]
                continue
            try:
                raw = await ws.recv()
            except Exception:
                return
            now = time.time() * 1000
            frame = orjson.loads(raw)
            data = frame.get("data")
            if data is None:
                acks[i] += frame.get("op") == "subscribed"
            elif window[0] <= time.monotonic() < window[1]:
                latencies.append(now - data["timestamp"])

    async def subscribe_all(model: str, symbol: str, expected: int) -> None:
        for i, ws in enumerate(sockets):
            await ws.send(orjson.dumps({"op": "subscribe", "id": f"{model}{i}", "model": model,
                                        "exchange": "binance", "symbol": symbol}).decode())
        while min(acks) < expected:
            await asyncio.sleep(0.05)

    sockets: list[Any] = []
    readers = []
    for i in range(n):
        if i < full:
            ws = await connect(ws_url, max_size=None, open_timeout=60, ping_interval=None)
        else:
            ws = await RawClient.open(ws_url)
        sockets.append(ws)
        readers.append(asyncio.ensure_future(read(i, ws)))
    if subscribe:
        await subscribe_all("trade", "BTC/USDT", 1)
    conn.send("ready")
    command = await loop.run_in_executor(None, conn.recv)
    if command == "ticker":  # the memory measure: every socket subscribes a quiet, conflated topic
        await subscribe_all("ticker", "ETH/USDT", 1)
        conn.send("ready")
        command = await loop.run_in_executor(None, conn.recv)
    if command == "go":
        window[0] = time.monotonic() + WARMUP
        window[1] = window[0] + seconds
        await asyncio.sleep(WARMUP + seconds)
        conn.send(latencies)
        await loop.run_in_executor(None, conn.recv)
    for task in readers:
        task.cancel()
    for ws in sockets:
        await ws.close()


class ClientPool:
    """N clients spread over worker processes (one per 250), told together when to start.

    The first ``full`` clients of each process parse every frame and time it; the others
    drain bytes only."""

    def __init__(self, ws_url: str, n: int, seconds: float, subscribe: bool = True, full: int = 25) -> None:
        per = 250
        self.links: list[Connection] = []
        self.procs: list[mp.Process] = []
        for start in range(0, n, per):
            parent, child = mp.Pipe()
            proc = mp.Process(target=_clients, daemon=True,
                              args=(child, ws_url, min(per, n - start), seconds, subscribe, full))
            proc.start()
            self.links.append(parent)
            self.procs.append(proc)
        for link in self.links:
            assert link.recv() == "ready"

    def go(self) -> list[Any]:
        for link in self.links:
            link.send("go")
        return [link.recv() for link in self.links]

    def start(self) -> None:
        for link in self.links:
            link.send("go")

    def results(self) -> list[Any]:
        return [link.recv() for link in self.links]

    def command(self, what: str) -> None:
        for link in self.links:
            link.send(what)
        for link in self.links:
            assert link.recv() == "ready"

    def stop(self) -> None:
        for link in self.links:
            with contextlib.suppress(OSError):
                link.send("stop")
        for proc in self.procs:
            proc.join(30)


def _sent(url: str) -> float:
    import httpx

    for line in httpx.get(url + "/metrics", timeout=30).text.splitlines():
        if line.startswith('tradeflood_server_messages_out_total{channel="websocket"}'):
            return float(line.split()[-1])
    return 0.0


def fan_out(server: subprocess.Popen[bytes], url: str, counts: list[int], seconds: float) -> list[str]:
    ws_url = url.replace("http", "ws") + "/v1/stream"
    rows = []
    for n in counts:
        pool = ClientPool(ws_url, n, seconds)
        pool.start()
        time.sleep(WARMUP)  # the backlog of the setup drains first
        sent0 = _sent(url)
        cpu0, t0 = _cpu_seconds(server.pid), time.monotonic()
        results = pool.results()
        wall = time.monotonic() - t0
        cpu = (_cpu_seconds(server.pid) - cpu0) / wall
        received = _sent(url) - sent0
        pool.stop()
        lat = sorted(x for r in results for x in r)
        p50 = statistics.median(lat) if lat else float("nan")
        p99 = lat[int(len(lat) * 0.99) - 1] if lat else float("nan")
        verdict = ("OK" if p99 < 100 else "OVER") if n >= 1000 else ""
        rows.append(f"  {n:>5} clients  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
                    f"  out {received / wall:9.0f} msg/s"
                    f"  server CPU {cpu * 100:5.0f}%  {verdict}")
        print(rows[-1], flush=True)
        time.sleep(1.0)
    return rows


# -- candles out -------------------------------------------------------------------------------


def _write_year(path: Path) -> None:
    from decimal import Decimal

    from tradeflood.models import Candle, trusted_builder
    from tradeflood.store import CandleStore

    build = trusted_builder(Candle)
    candles = []
    for i in range(YEAR_BARS):
        p = Decimal(4_200_000 + (i * 7919) % 100_000).scaleb(-2)
        candles.append(build({"exchange": "bitget", "symbol": "BTC/USDT", "native_symbol": "BTCUSDT",
                              "interval": "1m", "open_time": YEAR_START + i * MINUTE, "open": p,
                              "high": p + 5,
                              "low": p - Decimal("4.5"), "close": p + Decimal("0.25"),
                              "volume": Decimal(i % 50_000).scaleb(-4),
                              "quote_volume": (p * Decimal(i % 50_000)).scaleb(-4), "closed": True}))
    with CandleStore(path) as store:
        store.write("bitget", "BTC/USDT", "1m", YEAR_START, YEAR_START + YEAR_BARS * MINUTE, candles)


def candles_out(url: str, store: Path) -> list[str]:
    import httpx
    import pyarrow as pa

    from tradeflood.store import CandleStore

    end = YEAR_START + YEAR_BARS * MINUTE
    params = {"exchange": "bitget", "symbol": "BTC/USDT", "interval": "1m", "start": str(YEAR_START),
              "end": str(end)}
    rows = []
    with httpx.Client(base_url=url, timeout=300) as client:
        warm = {**params, "end": str(YEAR_START + 1000 * MINUTE)}
        client.get("/v1/candles", params=warm)  # the symbol list, fetched once

        def served(fmt: str) -> tuple[float, bytes]:
            t0 = time.perf_counter()
            with client.stream("GET", "/v1/candles", params={**params, "format": fmt}) as reply:
                reply.raise_for_status()
                body = reply.read()
            return time.perf_counter() - t0, body

        arrow_s, arrow_body = min((served("arrow") for _ in range(2)), key=lambda r: r[0])
        table = pa.ipc.open_stream(arrow_body).read_all()
        assert table.num_rows == YEAR_BARS, table.num_rows
        jsonl_s, jsonl_body = served("jsonl")
        assert jsonl_body.count(b"\n") == YEAR_BARS
    with CandleStore(store) as st:
        local = []
        for _ in range(3):
            t0 = time.perf_counter()
            local_table = st.read_arrow("bitget", "BTC/USDT", "1m", YEAR_START, end)
            local.append(time.perf_counter() - t0)
        assert local_table.num_rows == YEAR_BARS
    in_process = min(local)
    ratio = arrow_s / in_process
    for label, seconds in (("in process (CandleStore.read_arrow)", in_process), ("server, Arrow", arrow_s),
                           ("server, JSON lines", jsonl_s)):
        rows.append(f"  {label:<38} {seconds:7.3f} s  {YEAR_BARS / seconds:12,.0f} candles/s")
        print(rows[-1], flush=True)
    rows.append(f"  Arrow over in-process: {ratio:.2f}x  (goal within 2x: {'OK' if ratio <= 2 else 'OVER'})")
    print(rows[-1], flush=True)
    return rows


def memory(server: subprocess.Popen[bytes], url: str, n: int = 1000) -> list[str]:
    ws_url = url.replace("http", "ws") + "/v1/stream"
    time.sleep(0.5)
    base = _rss_mb(server.pid)
    pool = ClientPool(ws_url, n, 0.1, subscribe=False, full=0)
    time.sleep(1.0)
    idle = _rss_mb(server.pid)
    pool.command("ticker")
    time.sleep(1.0)
    subscribed = _rss_mb(server.pid)
    pool.stop()
    per_idle = (idle - base) * 1024 / n
    per_sub = (subscribed - idle) * 1024 / n
    rows = [f"  per idle WebSocket client  {per_idle:6.1f} KB   "
            f"(RSS {base:.0f} -> {idle:.0f} MB, {n} sockets)",
            f"  per subscription           {per_sub:6.1f} KB   "
            f"(RSS {idle:.0f} -> {subscribed:.0f} MB as each "
            "socket subscribes one ticker topic)"]
    for row in rows:
        print(row, flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", default="1,100,1000")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    began = time.monotonic()
    parent, child = mp.Pipe()
    sim = mp.Process(target=_simulate, args=(child, 100.0), daemon=True)
    sim.start()
    urls = parent.recv()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "candles.sqlite3"
        print("writing a year of 1m candles into a store ...", flush=True)
        _write_year(store)
        server, url = _start_server(urls, store)
        try:
            print("== Memory ==", flush=True)
            mem = memory(server, url)
            print(f"== WebSocket fan-out: one trade topic at 100 msg/s, {args.seconds:g} s each ==",
                  flush=True)
            fan = fan_out(server, url, counts, args.seconds)
            print("== Candles out: a year of 1m candles (525,600) ==", flush=True)
            out = candles_out(url, store)
        finally:
            server.terminate()
            server.wait(30)
            parent.send("stop")
            sim.join(10)
    print(f"\n== Summary ({time.monotonic() - began:.0f} s) ==")
    for row in fan + out + mem:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
