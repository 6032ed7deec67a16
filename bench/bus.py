"""Bus benchmarks: publishing throughput next to cryptofeed's Redis backend, latency through Redis,
failover after SIGKILL.

    python bench/bus.py [--messages 30000] [--rate 3000] [--seconds 6] [--kills 10]   # ~2.5 min
    python bench/bus.py --parts latency                                               # ~30 s

Redis at 127.0.0.1:6379, a database this run claims (``tradeflood.testing.claim_redis_database``,
emptied before and after, given back at exit). Nothing leaves 127.0.0.1.

1. Throughput. The simulator (a process of its own) pours Binance ``btcusdt@aggTrade`` events
   at ``--rate`` messages/s, a pace both clients keep up with (poured as fast as a client
   reads, the upstream reader of either client takes the whole event loop and publishing
   starves, which measures the feed rather than the publisher). One TradeFlood gatherer
   (``tradeflood.bus.Gatherer``: decode, exact parse, entry JSON, lease-checked Lua publish)
   and cryptofeed 2.4 (a ``FeedHandler`` with its ``TradeStream`` Redis backend: decode,
   parse, pipelined ``XADD``) each run in a process of their own. Figure: entries in Redis
   per CPU-second of the publishing process.
2. Latency. The simulator pours ``btcusdt@trade`` at 1,000 and then 10,000 messages/s; a
   gatherer process publishes; a ``Session(bus=...)`` in this process reads. Figure: p50/p99
   of the consumer's clock minus the trade's venue time ``T`` (stamped as the simulator sends),
   beside the rates published and received and the CPU each process spent per trade. At
   10,000/s the three processes need about half a CPU between them; on a machine busy with
   other work they may not get it, and then the latency is the age of a growing backlog (a
   note says so): compare CPU per trade, which load does not move, before blaming the code.
3. Failover. Two gatherer processes of one agent gathering Bitget BTC/USDT trades (the
   simulator's own feed, about one trade a second, so a figure includes waiting for the next
   trade); the owner of the topic is killed with SIGKILL and a new process started,
   ``--kills`` times. Figure: seconds from the kill to the first entry published under a new
   lease (median, max; goal: max under 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

_DB_ENV = "TRADEFLOOD_BENCH_REDIS_DB"  # the claimed database, set by main() and inherited by children
PARTS = ("throughput", "latency", "failover")


def _db_url() -> str:
    return f"redis://127.0.0.1:6379/{os.environ[_DB_ENV]}"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(_db_url(), decode_responses=True)


def _flush() -> None:
    """Empty this run's database, keeping it claimed."""
    from tradeflood.testing import renew_redis_claim

    client = _redis()
    client.flushdb()
    renew_redis_claim(client)


class Simulator:
    """``python -m tradeflood.testing`` as a process of its own, firehosing one stream."""

    def __init__(self, *firehose: str) -> None:
        args = [a for spec in firehose for a in ("--firehose", spec)]
        self.proc = subprocess.Popen([sys.executable, "-m", "tradeflood.testing", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        self.urls: dict[str, dict[str, str]] = json.loads(self.proc.stdout.readline())

    def env(self) -> dict[str, str]:
        env = dict(os.environ, TRADEFLOOD_STORE="off")
        for venue, apis in self.urls.items():
            for api, url in apis.items():
                env[f"TRADEFLOOD_{venue.upper()}_{api.upper().replace('.', '_')}_URL"] = url
        return env

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


# -- 1. throughput ------------------------------------------------------------------------------


async def _count(key: str, n: int) -> tuple[int, float, float]:
    """Watch ``key`` grow from its first entry to ``n`` entries; (entries, wall, CPU) of this process."""
    import redis.asyncio as redis

    client: Any = redis.from_url(_db_url())
    try:
        while await client.xlen(key) < 1:
            await asyncio.sleep(0.01)
        start, wall, cpu = await client.xlen(key), time.perf_counter(), _cpu()
        while (count := await client.xlen(key)) < n:
            await asyncio.sleep(0.02)
        return count - start, time.perf_counter() - wall, _cpu() - cpu
    finally:
        await client.aclose()


def _tradeflood_publisher(urls: dict[str, dict[str, str]], n: int, conn: Any) -> None:
    import logging

    import tradeflood
    from tradeflood.bus import Gatherer, RedisBus

    sys.path.insert(0, os.path.dirname(__file__))
    from stream import _subscribe_agg_trades  # the same aggTrade binding subclass as bench/stream.py

    logging.disable(logging.WARNING)
    _subscribe_agg_trades()
    _redis().set("stream.config.bench", json.dumps({"tenant": "b", "subscriptions": [
        {"exchange": "binance", "action": "trades", "symbol": "BTC/USDT"}]}))

    async def main() -> tuple[int, float, float]:
        bus = RedisBus(_db_url())
        async with tradeflood.Session(urls=urls, store=False) as s:
            task = asyncio.ensure_future(Gatherer(bus, "bench", s).run())
            result = await _count("stream.b.binance.trades.BTC/USDT", n)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await bus.aclose()
        return result

    conn.send(asyncio.run(main()))


def _cryptofeed_publisher(urls: dict[str, dict[str, str]], n: int, conn: Any) -> None:
    import logging

    from cryptofeed import FeedHandler
    from cryptofeed.backends.redis import TradeStream
    from cryptofeed.connection import RestEndpoint, Routes, WebsocketEndpoint
    from cryptofeed.defines import TRADES
    from cryptofeed.exchanges import Binance

    sys.path.insert(0, os.path.dirname(__file__))
    from stream import _allow_plain_ws

    logging.disable(logging.CRITICAL)
    _allow_plain_ws()
    Binance.websocket_endpoints = [WebsocketEndpoint(urls["binance"]["ws"])]
    Binance.rest_endpoints = [RestEndpoint(urls["binance"]["rest"], routes=Routes(
        "/api/v3/exchangeInfo", l2book="/api/v3/depth?symbol={}&limit={}"))]
    backend = TradeStream(key="trades")
    backend.redis = _db_url()  # this run's database, not the shared 0

    async def watch() -> None:
        conn.send(await _count("trades-BINANCE-BTC-USDT", n))
        os._exit(0)  # FeedHandler has no clean stop from inside its loop

    handler = FeedHandler(config={"log": {"disabled": True}, "uvloop": False})
    handler.add_feed(Binance(symbols=["BTC-USDT"], channels=[TRADES], callbacks={TRADES: backend}))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    watching = loop.create_task(watch())  # noqa: F841, RUF006 (held until the process exits)
    handler.run(start_loop=True, install_signal_handlers=False)


def _measure(target: Any, urls: dict[str, dict[str, str]], n: int) -> tuple[int, float, float]:
    _flush()
    parent, child = mp.Pipe()
    process = mp.Process(target=target, args=(urls, n, child))
    process.start()
    if not parent.poll(120):
        process.kill()
        raise RuntimeError(f"{target.__name__} published {n} entries in no less than 120 s")
    result = parent.recv()
    process.join(10)
    if process.is_alive():
        process.kill()
    return result  # type: ignore[no-any-return]


def throughput(n: int, rate: int) -> None:
    print(f"1. Throughput: {n:,} Binance aggTrade events at {rate:,}/s into Redis, one publishing "
          "process each")
    sim = Simulator(f"binance:btcusdt@aggTrade:{rate}")
    try:
        rows = []
        for name, target in (("TradeFlood gatherer", _tradeflood_publisher),
                             ("cryptofeed TradeStream", _cryptofeed_publisher)):
            try:
                count, wall, cpu = _measure(target, sim.urls, n)
            except Exception as exc:
                print(f"   {name}: failed: {exc}")
                continue
            rows.append((name, count / cpu))
            print(f"   {name:24} {count:>8,} entries  {count / wall:>9,.0f}/s wall  "
                  f"{count / cpu:>9,.0f} per CPU-second")
        if len(rows) == 2:
            print(f"   TradeFlood / cryptofeed per CPU-second: {rows[0][1] / rows[1][1]:.2f}x")
    finally:
        sim.stop()


# -- 2. latency ---------------------------------------------------------------------------------


def _gatherer(env: dict[str, str], agent: str, log: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tradeflood.cli", "gather", "--redis", _db_url(),
                             "--agent", agent], env=env, stdout=log, stderr=log)


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Stop a gatherer: SIGTERM, then SIGKILL if it is still there after 10 s. A gatherer left
    behind would keep its membership of the agent and contend for the topic with the next run's."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        print(f"   (gatherer {proc.pid} still running 10 s after SIGTERM: killed)")
        proc.kill()
        proc.wait(10)


def _configure(agent: str, exchange: str = "binance") -> None:
    _redis().set(f"stream.config.{agent}", json.dumps({"tenant": "b", "subscriptions": [
        {"exchange": exchange, "action": "trades", "symbol": "BTC/USDT"}]}))


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) another process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _latencies(seconds: float, gatherer: int,
                     venue: int) -> tuple[list[float], float, float, list[float]]:
    """(latencies in ms, trades/s received, entries/s published, CPU us per trade of this consumer,
    the gatherer, the simulator). Published next to received tells which side fell behind."""
    import tradeflood
    from tradeflood.models import Trade

    key = "stream.b.binance.trades.BTC/USDT"
    client = _redis()
    while not client.exists(key):
        await asyncio.sleep(0.05)
    out: list[float] = []
    async with tradeflood.Session(bus=_db_url(), tenant="b") as s:
        st = s.stream(Trade, exchange="binance", symbol="BTC/USDT", maxsize=1_000_000)
        await st.ready()
        warm = time.monotonic() + 1.0
        while time.monotonic() < warm:
            await st.get()
        end = time.monotonic() + seconds
        cpu = [_cpu(), _process_cpu(gatherer), _process_cpu(venue)]
        added = client.xinfo_stream(key)["entries-added"]
        while time.monotonic() < end:
            item = await st.get()
            if isinstance(item, Trade):
                out.append(time.time() * 1000 - item.timestamp)
        now = [_cpu(), _process_cpu(gatherer), _process_cpu(venue)]
        added = client.xinfo_stream(key)["entries-added"] - added
        await st.close()
    n = max(1, len(out))
    per_trade = [(b - a) / n * 1e6 for a, b in zip(cpu, now, strict=True)]
    return out, len(out) / seconds, added / seconds, per_trade


def latency(seconds: float) -> None:
    print(f"2. Latency venue -> gatherer -> Redis -> Session(bus=): {seconds:.0f} s per rate")
    for rate in (1_000, 10_000):
        _flush()
        sim = Simulator(f"binance:btcusdt@trade:{rate}")
        _configure("lat")
        log = tempfile.TemporaryFile()  # noqa: SIM115 (the gatherer's log, read after it ends)
        proc = _gatherer(sim.env(), "lat", log)
        try:
            lat, got, published, us = asyncio.run(_latencies(seconds, proc.pid, sim.proc.pid))
            q = statistics.quantiles(lat, n=100)
            print(f"   {rate:>6,} msg/s offered: {published:>7,.0f}/s published, {got:>7,.0f}/s received, "
                  f"p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms; CPU per trade: "
                  f"consumer {us[0]:.0f} us, gatherer {us[1]:.0f} us, simulator {us[2]:.0f} us")
        finally:
            _end(proc)
        log.seek(0)
        overflows = log.read().count(b"fell behind its upstream")
        log.close()
        if published < 0.95 * rate or overflows:
            # Not keeping up: the latencies are the age of a full queue or a growing backlog.
            print(f"   (published {published / rate:.0%} of the offered rate, the gatherer's queue "
                  f"overflowed {overflows} times: it did not get the CPU it needs; load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
            sim.stop()


# -- 3. failover --------------------------------------------------------------------------------


def failover(kills: int) -> None:
    print(f"3. Failover: {kills} SIGKILLs of the topic's owner, two gatherer processes")
    _flush()
    client = _redis()
    # The simulator's own trade feed (ids shared by every subscriber, like a venue's), not the
    # firehose: a firehose numbers each subscriber's trades afresh, so a new owner would drop its
    # first trades as already published until its ids caught up.
    sim = Simulator()
    key, lease = "stream.b.bitget.trades.BTC/USDT", "stream.lease.b.bitget.trades.BTC/USDT"
    _configure("fo", "bitget")
    procs = {p.pid: p for p in (_gatherer(sim.env(), "fo"), _gatherer(sim.env(), "fo"))}
    took: list[float] = []
    try:
        for _ in range(kills):
            deadline = time.monotonic() + 60
            while not (client.get(lease) and client.zcard("stream.members.fo") == 2 and client.xlen(key)):
                if time.monotonic() > deadline:
                    raise RuntimeError("the gatherers did not settle")
                time.sleep(0.05)
            token, _, member = client.get(lease).partition(":")
            last = client.xrevrange(key, count=1)[0][0]
            victim = procs.pop(int(member.split(":")[1]))
            victim.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            victim.wait(10)
            while True:
                fresh = client.xrange(key, min=f"({last}")
                if any(f["token"] != token for _, f in fresh):
                    took.append(time.monotonic() - killed)
                    break
                if fresh:
                    last = fresh[-1][0]
                if time.monotonic() - killed > 30:
                    raise RuntimeError("no failover within 30 s")
                time.sleep(0.01)
            client.zrem("stream.members.fo", member)  # the dead member's heartbeat would expire by itself
            new = _gatherer(sim.env(), "fo")
            procs[new.pid] = new
        print(f"   median {statistics.median(took):.2f} s, max {max(took):.2f} s, min {min(took):.2f} s "
              f"(lease 2.5 s; goal: max under 5 s): {'met' if max(took) < 5 else 'NOT met'}")
    finally:
        for p in procs.values():
            p.send_signal(signal.SIGKILL)
            p.wait(10)
        sim.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="which parts to run (default: all three)")
    parser.add_argument("--messages", type=int, default=30_000, help="1. entries to count per publisher")
    parser.add_argument("--rate", type=int, default=3_000, help="1. messages/s the simulator pours")
    parser.add_argument("--seconds", type=float, default=6.0, help="2. seconds measured per rate")
    parser.add_argument("--kills", type=int, default=10, help="3. SIGKILLs of the topic's owner")
    args = parser.parse_args()
    from tradeflood.testing import claim_redis_database

    os.environ[_DB_ENV] = str(claim_redis_database())
    # SIGTERM (timeout(1), a CI runner) ends the run through the finally clauses below, so the
    # gatherers are stopped and the database is emptied and given back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"Redis database {os.environ[_DB_ENV]} (claimed for this run)")
    try:
        if "throughput" in args.parts:
            throughput(args.messages, args.rate)
        if "latency" in args.parts:
            latency(args.seconds)
        if "failover" in args.parts:
            failover(args.kills)
    finally:
        _flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
