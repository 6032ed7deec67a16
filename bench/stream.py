"""Live-stream benchmarks: decode+parse+deliver throughput next to cryptofeed, and fan-out latency.

    python bench/stream.py [--messages 200000] [--consumers 10000] [--seconds 10]

1. Throughput. The simulator (in its own process) pours Binance spot
   ``btcusdt@aggTrade`` events as fast as each client reads. TradeFlood (an
   ``async for`` over ``Session.stream``) and cryptofeed 2.4 (a ``FeedHandler``
   with a Binance TRADES callback) each run in a process of their own against
   the same local feed; both decode JSON, parse prices exactly (Decimal) and
   hand each trade to one consumer. Figure: trades per CPU-second of the
   client process (``resource.getrusage``), so the simulator's own CPU does not
   count, and the ratio TradeFlood / cryptofeed (goal: at least 2).
   TradeFlood's spot trade stream is ``@trade``; here a three-line subclass of
   its binding (the extension mechanism) subscribes ``@aggTrade`` like cryptofeed.
   It runs twice: unpaced (the simulator writes as fast as each client reads;
   bimodal for a client faster than the simulator, whose reads are then small),
   and paced (``--paced``, default 40,000 msg/s: every client gets the same
   bursts every 10 ms, as a busy live feed delivers them). On a machine of few
   (virtual) cores a client that keeps up with the simulator runs beside it and
   each of its messages costs more CPU; ``--one-cpu N`` runs everything on CPU N,
   so no client runs beside the simulator (for the unpaced run: paced on one
   CPU, the simulator's writes and a client's reads take turns message by message).
2. Fan-out. One upstream stream at 100 messages/s delivered to N in-process
   callback consumers: p50/p99 latency from the event's own time (``T``, set by
   the simulator as it sends) to the consumer's callback, measured for the first,
   middle and last consumer of every message; upstream subscriptions must be 1.

Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

STREAM = "btcusdt@aggTrade"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the simulator, in a process of its own ---------------------------------------------------


def _serve(conn: Connection, rate: float | None) -> None:
    import logging

    from tradeflood.testing import Simulator

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # sends to a client that just left

    with Simulator() as sim:
        sim.firehose("binance", STREAM, rate=rate)
        conn.send(sim.urls())
        conn.recv()  # until told to stop


class _Served:
    def __init__(self, rate: float | None) -> None:
        self.parent, child = mp.Pipe()
        self.process = mp.Process(target=_serve, args=(child, rate), daemon=True)

    def __enter__(self) -> dict[str, dict[str, str]]:
        self.process.start()
        return self.parent.recv()  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        self.parent.send("stop")
        self.process.join(10)


def _subscribe_agg_trades() -> None:
    """Make Binance spot trade streams subscribe ``@aggTrade``, as cryptofeed does: a subclass of
    the built-in binding replaces it (the most derived wins)."""
    from tradeflood.bindings.binance import BinanceTradeStream
    from tradeflood.models import Instrument
    from tradeflood.query import Query
    from tradeflood.streams import Topic

    class AggTradeStream(BinanceTradeStream):
        def topic(self, query: Query, instrument: Instrument) -> Topic:
            return Topic("binance", "ws", f"{instrument.native_symbol.lower()}@aggTrade")


# -- 1. throughput -----------------------------------------------------------------------------------


def _tradeflood_throughput(urls: dict[str, dict[str, str]], n: int, conn: Connection,
                           consumer: str = "iterator") -> None:
    import tradeflood
    from tradeflood.models import Trade

    _subscribe_agg_trades()

    async def by_iterator(s: tradeflood.Session) -> tuple[int, float, float]:
        stream = s.stream(Trade, exchange="binance", symbol="BTC/USDT", maxsize=1_000_000)
        await stream.ready()
        count, wall, cpu = 0, 0.0, 0.0
        trade = None
        async for trade in stream:  # noqa: B007 (the last one is checked below)
            if count == 0:
                wall, cpu = time.perf_counter(), _cpu()
            count += 1
            if count > n:
                break
        assert isinstance(trade, Trade) and trade.price > 0
        return n, time.perf_counter() - wall, _cpu() - cpu

    async def by_callback(s: tradeflood.Session) -> tuple[int, float, float]:
        state = {"count": 0, "wall": 0.0, "cpu": 0.0}
        done = asyncio.get_running_loop().create_future()

        def on_trade(trade: Trade) -> None:
            if state["count"] == 0:
                state["wall"], state["cpu"] = time.perf_counter(), _cpu()
            state["count"] += 1
            if state["count"] == n + 1 and not done.done():
                done.set_result((n, time.perf_counter() - state["wall"], _cpu() - state["cpu"]))

        sub = s.subscribe(Trade, on_trade, exchange="binance", symbol="BTC/USDT")
        result = await done
        await sub.close()
        return result  # type: ignore[no-any-return]

    async def main() -> tuple[int, float, float]:
        async with tradeflood.Session(urls=urls, store=False) as s:
            return await (by_callback(s) if consumer == "callback" else by_iterator(s))

    conn.send(asyncio.run(main()))


def _tradeflood_callback(urls: dict[str, dict[str, str]], n: int, conn: Connection) -> None:
    _tradeflood_throughput(urls, n, conn, consumer="callback")


def _cryptofeed_throughput(urls: dict[str, dict[str, str]], n: int, conn: Connection) -> None:
    import logging

    from cryptofeed import FeedHandler
    from cryptofeed.connection import RestEndpoint, Routes, WebsocketEndpoint
    from cryptofeed.defines import TRADES
    from cryptofeed.exchanges import Binance

    logging.disable(logging.CRITICAL)
    _allow_plain_ws()
    Binance.websocket_endpoints = [WebsocketEndpoint(urls["binance"]["ws"])]
    Binance.rest_endpoints = [RestEndpoint(urls["binance"]["rest"], routes=Routes(
        "/api/v3/exchangeInfo", l2book="/api/v3/depth?symbol={}&limit={}"))]
    state: dict[str, Any] = {"count": 0}

    async def on_trade(trade: Any, receipt: float) -> None:
        if state["count"] == 0:
            state["wall"], state["cpu"] = time.perf_counter(), _cpu()
        state["count"] += 1
        if state["count"] > n:
            conn.send((n, time.perf_counter() - state["wall"], _cpu() - state["cpu"]))
            conn.close()
            os._exit(0)  # FeedHandler has no clean stop from inside a callback

    handler = FeedHandler(config={"log": {"disabled": True}, "uvloop": False})
    handler.add_feed(Binance(symbols=["BTC-USDT"], channels=[TRADES], callbacks={TRADES: on_trade}))
    handler.run(install_signal_handlers=False)


def _allow_plain_ws() -> None:
    """cryptofeed refuses any address but wss://; the local simulator speaks plain ws://.
    Only the address check is bypassed: its connection, reader and parser run unchanged."""
    from cryptofeed.connection import WSAsyncConn

    checked = WSAsyncConn.__init__

    def init(self: Any, address: str, *args: Any, **kwargs: Any) -> None:
        checked(self, address.replace("ws://", "wss://", 1), *args, **kwargs)
        self.address = address

    WSAsyncConn.__init__ = init  # type: ignore[method-assign]


def _measure(target: Any, urls: dict[str, dict[str, str]], n: int) -> tuple[int, float, float]:
    parent, child = mp.Pipe()
    process = mp.Process(target=target, args=(urls, n, child))
    process.start()
    if not parent.poll(180):
        process.kill()
        raise RuntimeError(f"{target.__name__} produced nothing in 180 s")
    result = parent.recv()
    process.join(10)
    return result  # type: ignore[no-any-return]


def throughput(n: int, repeat: int, rate: float | None = None) -> None:
    """CPU per message of each client. Unpaced (``rate`` None), the simulator writes as fast as
    each client reads, so a client faster than the simulator reads many small chunks (a loop
    turn and a wake-up each) while a slower one reads large ones: runs are bimodal and the
    regime differs by client. Paced, every client gets the same arrival pattern (bursts of
    ``rate / 100`` messages every 10 ms, below what either client can take), so the figure is
    the cost per message under one input, as a live feed delivers it."""
    how = "as fast as each client reads" if rate is None else f"paced at {rate:,.0f} msg/s for every client"
    print(f"1. Throughput: {n:,} Binance aggTrade events, {how}; decode + parse + deliver to one "
          f"consumer (median of {repeat} runs, taken in turns)")
    clients = (("TradeFlood (async for)", _tradeflood_throughput),
               ("TradeFlood (callback)", _tradeflood_callback),
               ("cryptofeed (callback)", _cryptofeed_throughput))
    runs: dict[str, list[tuple[int, float, float]]] = {name: [] for name, _ in clients}
    with _Served(rate=rate) as urls:
        for _ in range(repeat):
            for name, target in clients:
                runs[name].append(_measure(target, urls, n))
    rows = []
    for name, results in runs.items():
        per_cpu = statistics.median(count / cpu for count, _, cpu in results)
        per_wall = statistics.median(count / wall for count, wall, _ in results)
        spread = ", ".join(f"{count / cpu:,.0f}" for count, _, cpu in results)
        rows.append((name, per_cpu, per_wall, spread))
    for name, per_cpu, per_wall, spread in rows:
        print(f"   {name:<22} {per_cpu:>9,.0f} msg per CPU-second ({1e6 / per_cpu:5.2f} us/msg)  "
              f"{per_wall:>9,.0f} msg/s wall   runs: {spread}")
    for name, per_cpu, _, _ in rows[:2]:
        ratio = per_cpu / rows[2][1]
        print(f"   {name} / cryptofeed (per CPU-second): {ratio:.2f}x   goal >= 2x: "
              f"{'met' if ratio >= 2 else 'MISSED'}")


# -- 2. fan-out --------------------------------------------------------------------------------------


def fan_out(consumers: int, seconds: float, freeze: bool) -> None:
    how = "after gc.freeze()" if freeze else "with the collector as it is"
    print(f"\n2. Fan-out: one stream at 100 msg/s to {consumers:,} callback consumers "
          f"for {seconds:g} s, {how}")
    with _Served(rate=100.0) as urls:
        first, middle, last = asyncio.run(_fan_out(urls, consumers, seconds, freeze))
    for name, samples in (("first", first), ("middle", middle), ("last", last)):
        samples.sort()
        p50 = statistics.median(samples)
        p99 = samples[int(len(samples) * 0.99) - 1]
        print(f"   {name:<6} consumer: {len(samples):>5} messages   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    worst = sorted(last)[int(len(last) * 0.99) - 1]
    print(f"   p99 over the slowest consumer: {worst:.1f} ms   goal < 50 ms: "
          f"{'met' if worst < 50 else 'MISSED'}")


async def _fan_out(urls: dict[str, dict[str, str]], consumers: int, seconds: float,
                   freeze: bool) -> tuple[list[float], ...]:
    import tradeflood
    from tradeflood.models import Trade

    _subscribe_agg_trades()
    samples: tuple[list[float], ...] = ([], [], [])
    watched = {0: samples[0], consumers // 2: samples[1], consumers - 1: samples[2]}

    def consumer(i: int) -> Any:
        record = watched.get(i)
        if record is None:
            return lambda trade: None

        def on_trade(trade: Trade) -> None:
            record.append(time.time() * 1000 - trade.timestamp)

        return on_trade

    async with tradeflood.Session(urls=urls, store=False) as s:
        subs = [s.subscribe(Trade, consumer(i), exchange="binance", symbol="BTC/USDT")
                for i in range(consumers)]
        await asyncio.gather(*(sub.ready() for sub in subs))
        if freeze:
            # What a long-running service does once its consumers are set up: move them out
            # of the collector's way, so that a full collection does not walk them every time.
            gc.freeze()
        started = time.perf_counter()
        for values in samples:
            values.clear()
        await asyncio.sleep(seconds)
        measured = tuple(list(values) for values in samples)  # before the consumers leave
        hub = s._streams.stats()
        print(f"   upstream subscriptions: {hub['upstreams']}   connections: {hub['connections']}   "
              f"consumers: {hub['consumers']:,}   ran {time.perf_counter() - started:.1f} s")
        await asyncio.gather(*(sub.close() for sub in subs))
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--consumers", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs per client (median)")
    parser.add_argument("--paced", type=float, default=40_000.0,
                        help="the paced throughput run's rate, msg/s (0: skip it)")
    parser.add_argument("--one-cpu", type=int, default=None, metavar="CPU",
                        help="run the simulator and every client on this one CPU (a client then never "
                             "runs beside the simulator, which on a small or virtual machine slows "
                             "whichever client reads as fast as the simulator writes); meant for the "
                             "unpaced run (--paced 0)")
    args = parser.parse_args()
    if args.one_cpu is not None:
        os.sched_setaffinity(0, {args.one_cpu})  # the processes started below inherit it
        print(f"(the simulator and the clients all on CPU {args.one_cpu})\n")
    mp.set_start_method("spawn")
    throughput(args.messages, args.repeat)
    if args.paced:
        print()
        throughput(args.messages, args.repeat, rate=args.paced)
    fan_out(args.consumers, args.seconds, freeze=False)
    fan_out(args.consumers, args.seconds, freeze=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
