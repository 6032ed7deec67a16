"""Proxy benchmark: backfills through 1 to 4 proxies, also below the declared limit, and Proxyter.

Run from the repo root as ``python bench/proxies.py`` (needs Debian's tinyproxy; ~2 min;
``--rates 20`` for Bitget's own limit only).

1. **Throughput.** The simulated Bitget on 127.0.0.1 (in a process of its own)
   allows N requests per second per endpoint *per client IP*: 20 (Bitget's own
   limit), then 10. K tinyproxy processes, each bound to its own address
   (127.0.0.2, 127.0.0.3, ...), are K client IPs. A session with a ProxyScheme of
   K proxies backfills 1m candles through Bitget's history endpoint (200 per
   page), 120 x K pages, so every run lasts about as long under its bound and the
   first window's burst weighs the same in each. Printed: pages, time until the
   last reply and until the candles are parsed, the rate-limit bound, pages per
   second until the last reply, the speed-up over one proxy and that speed-up
   over K (the goal: >= 0.9), 429s, candles checked. On a 2-vCPU machine the run
   at 20/s with 4 proxies (80 pages/s through client, simulator and 4 proxies)
   keeps both CPUs busy, so the 10/s run shows the scheme without that ceiling.
2. **A venue enforcing less than it declares.** The same simulated Bitget allows
   10 requests per second per IP (``--true-limit``) while the client declares
   Bitget's 20: a 60-day 1m backfill (``--below-days``) through 1 and 3 proxies
   (``--below-ks``). Each proxy's windows learn the real rate (AIMD on 429s,
   :mod:`tradeflood.adaptive`). Printed: time until the last reply against the
   bound at the TRUE limit (goal: within 1.2x), the 429s (goal: a handful), the
   speed-up over one proxy over K (goal: >= 0.9) and the rates learned.
3. **Proxyter's added latency.** Sequential GETs to a tiny HTTP server on
   loopback, through one tinyproxy directly and through Proxyter in front of that
   same tinyproxy (new connections each time for both, as tinyproxy does not keep
   them), interleaved; p50 and p99 of each and of the difference (goal: p50 < 2 ms).
4. **Proxyter's memory.** ``tradeflood proxyter`` (a process) relays 100 MB replies
   from a local server, one and then five at once; printed: its resident size before
   and its peak during the transfer (Linux ``/proc``; the peak is reset first).

``--parts latency,memory`` runs only those parts (seconds, not minutes); ``--parts below`` only
the lower-limit runs (~2 min).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.pool
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DAY, MINUTE, CountingBitgetVenue, FastMarket, check_open_times, format_table, warm

from tradeflood import Limit, ProxyScheme, Session
from tradeflood.connectors import Bitget
from tradeflood.models import Candle
from tradeflood.testing import Simulator
from tradeflood.testing._tinyproxy import TinyProxy, free_port, tinyproxy_path

PAGES_PER_PROXY = 120
PAGE = 200  # candles per history page


def _serve(conn: Connection, start: int, end: int, rate: int) -> None:
    """In a process of its own (so it does not share the client's GIL): a warmed simulated
    Bitget allowing ``rate`` requests per second per endpoint per IP; sends its URL, then
    resets its counters and later sends them when asked."""
    market = FastMarket()
    warm(market, ["BTCUSDT"], start, end)
    venue = CountingBitgetVenue(market=market, requests_per_second=rate)
    with Simulator(venues={"bitget": venue}) as sim:
        conn.send(sim.url("bitget"))
        conn.recv()
        venue.stats.reset()
        conn.send("reset")
        conn.recv()
        conn.send((venue.stats.requests, venue.stats.rejected_429, dict(venue.stats.by_ip)))


@contextmanager
def client_limit(rate: int) -> Iterator[None]:
    """The client's Bitget limits at ``rate`` per second (Bitget's own is 20), for this run only."""
    saved = Bitget.limits
    Bitget.limits = {group: Limit(rate, 1.0) for group in saved}
    try:
        yield
    finally:
        Bitget.limits = saved


def _stamper(replies: list[float]) -> Callable[[int, int], None]:
    """A progress callback noting when each reply arrived."""
    return lambda done, total: replies.append(time.perf_counter())


@dataclass
class Run:
    """The figures of one backfill through proxies."""

    pages: int
    requests: int  # as the venue counted them
    rejected: int  # 429s the venue answered
    ips: int  # client IPs the venue saw
    sent: float  # seconds until the last reply; the rest is parsing 200 candles a page
    wall: float
    learned: list[float]  # the rates the session learned below the declared one
    ok: bool  # every candle there exactly once


def _backfill(start: int, pages: int, k: int, rate: int, declared: int) -> Run:
    """One backfill of ``pages`` history pages through ``k`` tinyproxies against a simulated Bitget
    allowing ``rate`` requests per second per IP, the client declaring ``declared``; its figures."""
    end = start + pages * PAGE * MINUTE
    proxies = [TinyProxy(bind=f"127.0.0.{2 + i}").start() for i in range(k)]
    here, there = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(there, start, end, rate),
                                                         daemon=True)
    server.start()
    try:
        url = here.recv()
        scheme = ProxyScheme(pools={"*": [p.url for p in proxies]})
        replies: list[float] = []
        progress = _stamper(replies)
        with client_limit(declared), Session(urls={"bitget": {"rest": url}}, proxies=scheme, store=False,
                                             max_concurrency=32, progress=progress) as s:
            s.fetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1d", start="-3d")
            here.send("reset")  # the instrument list is fetched; count the pages only
            here.recv()
            replies.clear()
            t0 = time.perf_counter()
            candles = s.fetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m",
                              start=start, end=end)
            wall = time.perf_counter() - t0
            learned = sorted(s.stats.learned_rates.values())
        ok, _ = check_open_times([c.open_time for c in candles], start, end)
        here.send("stats")
        requests, rejected, by_ip = here.recv()
    finally:
        server.join(10)
        for p in proxies:
            p.close()
    return Run(pages, requests, rejected, len(by_ip), replies[-1] - t0, wall, learned, ok)


def _bound(pages: int, rate: int, k: int) -> int:
    """Seconds the rate-limit windows need at the least: every window full, the first at once."""
    return max(0, -(-pages // (rate * k)) - 1)


def throughput(start: int, ks: tuple[int, ...], rate: int) -> list[list[object]]:
    """K proxies, 120 x K pages each run, the venue enforcing exactly what the client declares."""
    rows: list[list[object]] = []
    base_rate = 0.0
    for k in ks:
        run = _backfill(start, PAGES_PER_PROXY * k, k, rate, rate)
        speed = run.pages / run.sent
        base_rate = base_rate or speed
        speedup = speed / base_rate
        rows.append([k, run.ips, run.pages, run.requests, f"{run.sent:.2f}", f"{run.wall:.2f}",
                     f"{_bound(run.pages, rate, k)}", f"{speed:.1f}", f"{rate * k}", f"{speedup:.2f}",
                     f"{speedup / k:.2f}", run.rejected, "ok" if run.ok else "WRONG"])
    return rows


def below_declared(start: int, ks: tuple[int, ...], true_rate: int, declared: int,
                   days: int) -> list[list[object]]:
    """The same ``days`` of 1m history through K proxies, against a venue whose real per-IP limit
    (``true_rate``) is below the one the client declares: the rate each proxy learns, the time
    against the bound at the TRUE limit, 429s, and scaling over one proxy."""
    pages = days * 1440 // 200
    rows: list[list[object]] = []
    base_rate = 0.0
    for k in ks:
        run = _backfill(start, pages, k, true_rate, declared)
        speed = pages / run.sent
        base_rate = base_rate or speed
        speedup = speed / base_rate
        bound = _bound(pages, true_rate, k)
        rows.append([k, run.ips, pages, run.requests, f"{run.sent:.2f}", f"{run.wall:.2f}", f"{bound}",
                     f"{run.sent / bound:.2f}" if bound else "-", f"{speed:.1f}", f"{true_rate * k}",
                     f"{speedup:.2f}", f"{speedup / k:.2f}", run.rejected,
                     ",".join(f"{r:g}" for r in run.learned) or "-", "ok" if run.ok else "WRONG"])
    return rows


def _serve_forever(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
                   port: int) -> None:
    """Run ``handle`` for every connection to 127.0.0.1:``port`` until the process ends."""

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _tiny_server(port: int) -> None:
    """An HTTP/1.1 server on 127.0.0.1:``port`` answering every request with 2 bytes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()).strip():
                while (await reader.readline()).strip():
                    pass
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    _serve_forever(handle, port)


def _wait_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@contextmanager
def processes(upstream: str, target: Callable[..., None] = _tiny_server,
              *args: object) -> Iterator[tuple[int, int, subprocess.Popen[bytes]]]:
    """A local HTTP server (``target(port, *args)``) and ``tradeflood proxyter`` (the CLI, in front of
    ``upstream``, allowed to reach only that server), each a process; yields the server's port and
    Proxyter's port and process."""
    target_port, proxyter_port = free_port(), free_port()
    server = multiprocessing.get_context("fork").Process(target=target, args=(target_port, *args),
                                                         daemon=True)
    server.start()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "proxies.toml"
        config.write_text(f'listen = "127.0.0.1:{proxyter_port}"\n[pools]\n"*" = ["{upstream}"]\n'
                          f'[allow]\nhosts = ["127.0.0.1:{target_port}"]\n')
        command = [sys.executable, "-m", "tradeflood.cli", "proxyter", "--config", str(config)]
        proxyter = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_listening(target_port)
            _wait_listening(proxyter_port)
            yield target_port, proxyter_port, proxyter
        finally:
            proxyter.terminate()
            proxyter.wait(10)
            server.terminate()
            server.join(10)


def latency(rounds: int = 10, per_round: int = 100) -> list[list[object]]:
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    with TinyProxy(bind="127.0.0.2") as upstream, processes(upstream.url) as (target_port, port, _):
        target = f"http://127.0.0.1:{target_port}/x"
        direct = httpx.Client(proxy=upstream.url, limits=no_keepalive)
        via = httpx.Client(proxy=f"http://bench:x@127.0.0.1:{port}", limits=no_keepalive)
        samples: dict[str, list[float]] = {"tinyproxy": [], "proxyter -> tinyproxy": []}
        for client in (direct, via):  # warm up
            for _ in range(20):
                client.get(target)
        for _ in range(rounds):
            for name, client in (("tinyproxy", direct), ("proxyter -> tinyproxy", via)):
                for _ in range(per_round):
                    t0 = time.perf_counter()
                    assert client.get(target).content == b"ok"
                    samples[name].append(time.perf_counter() - t0)
        direct.close()
        via.close()
    rows: list[list[object]] = []
    for name, values in samples.items():
        q = statistics.quantiles(values, n=100)
        rows.append([name, len(values), f"{statistics.median(values) * 1000:.3f}", f"{q[98] * 1000:.3f}"])
    a, b = samples["tinyproxy"], samples["proxyter -> tinyproxy"]
    qa, qb = statistics.quantiles(a, n=100), statistics.quantiles(b, n=100)
    rows.append(["added by proxyter", "", f"{(statistics.median(b) - statistics.median(a)) * 1000:.3f}",
                 f"{(qb[98] - qa[98]) * 1000:.3f}"])
    return rows


MB = 1 << 20


def _big_server(port: int, size: int) -> None:
    """An HTTP/1.1 server on 127.0.0.1:``port`` answering every request with ``size`` bytes."""
    block = b"0123456789abcdef" * (MB // 16)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()).strip():
                pass
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % size)
            for _ in range(size // MB):
                writer.write(block)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    _serve_forever(handle, port)


def _rss_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for process {pid}")


def memory(size: int = 100 * MB) -> list[list[object]]:
    """Proxyter's resident size before and at its peak while relaying 1 and 5 replies of ``size``."""
    rows: list[list[object]] = []
    with processes("direct", _big_server, size) as (target_port, proxyter_port, proxyter):
        request = f"GET http://127.0.0.1:{target_port}/big HTTP/1.1\r\nhost: x\r\n\r\n".encode()

        def fetch() -> int:
            """The body bytes received (the connection stays open: count up to the length)."""
            with socket.create_connection(("127.0.0.1", proxyter_port)) as sock:
                sock.sendall(request)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += sock.recv(65536)
                got = len(data.partition(b"\r\n\r\n")[2])
                while got < size and (piece := sock.recv(MB)):
                    got += len(piece)
                return got

        for n in (1, 5):
            Path(f"/proc/{proxyter.pid}/clear_refs").write_text("5")  # peak := now
            before = _rss_mb(proxyter.pid, "VmRSS")
            t0 = time.perf_counter()
            with multiprocessing.pool.ThreadPool(n) as threads:
                received = threads.map(lambda _: fetch(), range(n))
            wall = time.perf_counter() - t0
            assert all(r >= size for r in received), received
            peak = _rss_mb(proxyter.pid, "VmHWM")
            rows.append([n, f"{size // MB}", f"{before:.1f}", f"{peak:.1f}", f"{peak - before:.1f}",
                         f"{n * size / MB / wall:.0f}"])
    return rows


def main() -> int:
    if tinyproxy_path() is None:
        print("tinyproxy is not installed (Debian: apt-get install tinyproxy)", file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="20,10", help="per-IP limits to run at (requests/s), e.g. 20,10")
    parser.add_argument("--parts", default="throughput,below,latency,memory",
                        help="which parts to run: throughput, below, latency, memory (comma-separated)")
    parser.add_argument("--below-days", type=int, default=60,
                        help="below: days of 1m history to backfill (200 a page)")
    parser.add_argument("--below-ks", default="1,3", help="below: the numbers of proxies to run with")
    parser.add_argument("--true-limit", type=int, default=10,
                        help="below: the venue's real per-IP limit (requests/s), under Bitget's declared 20")
    parser.add_argument("--rounds", type=int, default=10, help="latency: rounds of 100 requests per path")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    ks = (1, 2, 4)
    start = (int(time.time() * 1000) // DAY - 140) * DAY  # beyond the 30-day look-back: history pages
    for rate in (int(r) for r in args.rates.split(",") if "throughput" in parts):
        print(f"Backfill through K proxies (each its own egress IP), {rate} req/s per endpoint per IP"
              + (" (Bitget's own limit)" if rate == 20 else ""))
        print(format_table(["K", "IPs seen", "pages", "requests", "replies s", "wall s", "bound s", "pages/s",
                            "limit/s", "x vs K=1", "x / K", "429s", "candles"], throughput(start, ks, rate)))
        print()
    if "below" in parts:
        declared = 20
        print(f"{args.below_days}-day 1m backfill through K proxies against a venue enforcing "
              f"{args.true_limit} req/s per endpoint per IP while the client declares Bitget's {declared}")
        print(format_table(["K", "IPs seen", "pages", "requests", "replies s", "wall s", "true bound s",
                            "x true bound", "pages/s", "true limit/s", "x vs K=1", "x / K", "429s",
                            "learned/s", "candles"],
                           below_declared(start, tuple(int(k) for k in args.below_ks.split(",")),
                                          args.true_limit, declared, args.below_days)))
        print()
    if "latency" in parts:
        print("Proxyter's added latency on loopback (sequential GETs, new connections; "
              "each server its own process)")
        print(format_table(["path", "requests", "p50 ms", "p99 ms"], latency(rounds=args.rounds)))
        print()
    if "memory" in parts:
        print("Proxyter's resident size relaying 100 MB replies (a process; Linux /proc)")
        print(format_table(["replies at once", "MB each", "RSS before MB", "peak MB", "growth MB", "MB/s"],
                           memory()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
