"""How fast the simulator's WebSocket side serves: the Binance trade firehose, and the cost of live feeds.

Prints, without asserting:
- firehose messages per second read by one plain ``websockets`` client (raw
  ``/ws/<stream>`` and combined ``/stream?streams=``), unpaced and paced at 50k/s,
  with the simulator in a thread of the client's process (sharing its GIL) and
  in a process of its own (``python -m tradeflood.testing``);
- the simulator thread's CPU per second while serving live feeds (depth@100ms,
  trades, klines, tickers of every instrument on both venues) to a few clients.

Everything stays on 127.0.0.1. Run: ``/work/venv/bin/python bench/ws_simulator.py``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time

from websockets.asyncio.client import connect

from tradeflood.testing import Simulator

COUNT = 200_000


async def read(url: str, count: int) -> float:
    """Seconds to read ``count`` frames from ``url``."""
    async with connect(url, max_size=None, max_queue=1024) as ws:
        start = time.perf_counter()
        for _ in range(count):
            await ws.recv()
        return time.perf_counter() - start


def firehose() -> None:
    print(f"firehose: {COUNT:,} btcusdt@trade events to one client")
    for rate in (None, 50_000):
        pace = "unpaced" if rate is None else f"rate={rate:,}/s"
        for shape in ("/ws/btcusdt@trade", "/stream?streams=btcusdt@trade"):
            with Simulator() as sim:
                sim.firehose("binance", "btcusdt@trade", rate=rate)
                threaded = asyncio.run(read(sim.ws_url("binance") + shape, COUNT))
            spec = "binance:btcusdt@trade" + ("" if rate is None else f":{rate}")
            server = subprocess.Popen(
                [sys.executable, "-m", "tradeflood.testing", "--firehose", spec],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            try:
                assert server.stdout is not None
                urls = json.loads(server.stdout.readline())
                cpu_before = process_cpu(server.pid)
                separate = asyncio.run(read(urls["binance"]["ws"] + shape, COUNT))
                server_cpu = (process_cpu(server.pid) - cpu_before) / separate
            finally:
                server.terminate()
                server.wait()
            print(f"  {pace:<16} {shape:<32} in-process {COUNT / threaded:>8,.0f} msg/s"
                  f"   own process {COUNT / separate:>8,.0f} msg/s (server busy {server_cpu:.0%})")


def process_cpu(pid: int) -> float:
    """CPU seconds used so far by process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def thread_cpu(thread: threading.Thread) -> float:
    ident = thread.native_id
    with open(f"/proc/self/task/{ident}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 10 ms


async def listen(sim: Simulator, seconds: float) -> int:
    symbols = ("btcusdt", "ethusdt", "solusdt")
    spot = "/".join(f"{s}@depth@100ms/{s}@trade/{s}@kline_1m/{s}@ticker" for s in symbols)
    fut = "/".join(f"{s}@depth@100ms/{s}@aggTrade/{s}@markPrice" for s in symbols)
    args = [{"instType": kind, "channel": ch, "instId": s} for kind in ("SPOT", "USDT-FUTURES")
            for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT") for ch in ("books", "trade", "candle1m", "ticker")]
    urls = [sim.ws_url("binance") + "/stream?streams=" + spot,
            sim.ws_url("binance") + "/futures/stream?streams=" + fut]
    received = 0

    async def client(url: str, bitget: bool) -> None:
        nonlocal received
        async with connect(url, max_size=None) as ws:
            if bitget:
                await ws.send(json.dumps({"op": "subscribe", "args": args}))
            end = time.perf_counter() + seconds
            while (left := end - time.perf_counter()) > 0:
                try:
                    await asyncio.wait_for(ws.recv(), left)
                    received += 1
                except TimeoutError:
                    break

    tasks = [client(u, False) for u in urls for _ in range(2)]
    tasks += [client(sim.ws_url("bitget"), True) for _ in range(2)]
    await asyncio.gather(*tasks)
    return received


def live_feeds(seconds: float = 5.0) -> None:
    with Simulator() as sim:
        assert sim._thread is not None
        before = thread_cpu(sim._thread)
        received = asyncio.run(listen(sim, seconds))
        cpu = thread_cpu(sim._thread) - before
        sent = sum(s.stats.messages_sent for s in sim.streams.values())
    print(f"live feeds: 45 topics (21 Binance, 24 Bitget), 6 clients, {seconds:.0f} s")
    print(f"  server thread CPU {cpu / seconds:.0%} of one core; {sent:,} frames sent, {received:,} read")


if __name__ == "__main__":
    firehose()
    live_feeds()
