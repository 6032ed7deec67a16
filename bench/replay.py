"""Record and replay benchmarks, side by side in one run.

    python bench/replay.py [--messages 50000] [--repeat 3]

The simulator (in its own process) pours Binance spot ``btcusdt@trade`` events as
fast as each client reads. Each figure is measured in a client process of its own,
in trades per CPU-second of that process (``resource.getrusage``: every thread,
the recorder's writer included; the simulator's CPU does not count):

1. Live: ``async for`` over ``Session.stream(Trade)`` from the socket, without
   and with ``record=`` (the recording overhead on the live path; goal: under 10%).
2. Replay at ``speed="max"`` of the recording just made, into the same models
   through the same code (goal: at least the live path's figure).
3. Bytes stored per message (the ``ws`` files, compressed, header and index
   included) against the raw JSON frames (goal: under 20%).

cryptofeed's raw capture is a different format that it cannot replay into its own
feed handlers, so there is no cryptofeed replay figure to set beside these.
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

STREAM = "btcusdt@trade"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(conn: Connection) -> None:
    import logging

    from tradeflood.testing import Simulator

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    with Simulator() as sim:
        sim.firehose("binance", STREAM)
        conn.send(sim.urls())
        conn.recv()


def _live(urls: dict[str, dict[str, str]], n: int, record: str | None, conn: Connection) -> None:
    import tradeflood
    from tradeflood.models import Trade

    async def main() -> tuple[int, float]:
        async with tradeflood.Session(urls=urls, store=False, record=record) as s:
            stream = s.stream(Trade, exchange="binance", symbol="BTC/USDT", maxsize=1_000_000)
            await stream.ready()
            count, cpu = 0, 0.0
            async for trade in stream:
                if count == 0:
                    cpu = _cpu()
                count += 1
                if count > n:
                    assert trade.price > 0
                    break
            return n, _cpu() - cpu

    conn.send(asyncio.run(main()))


def _replay(directory: str, conn: Connection) -> None:
    import tradeflood
    from tradeflood.models import Trade

    async def main() -> tuple[int, float]:
        async with tradeflood.Session(replay=directory, speed="max") as s:
            count, cpu = 0, 0.0
            async for item in s.stream(Trade, exchange="binance", symbol="BTC/USDT", maxsize=1_000_000):
                if isinstance(item, Trade):
                    if count == 0:  # as the live figure: from the first trade on, setup excluded
                        cpu = _cpu()
                    count += 1
            return count - 1, _cpu() - cpu

    conn.send(asyncio.run(main()))


def _run(target: Any, *args: Any) -> tuple[int, float]:
    parent, child = mp.Pipe()
    process = mp.Process(target=target, args=(*args, child))
    process.start()
    if not parent.poll(300):
        process.kill()
        raise RuntimeError(f"{target.__name__} produced nothing in 300 s")
    result = parent.recv()
    process.join(30)
    return result  # type: ignore[no-any-return]


def _sizes(directory: Path) -> tuple[int, int, int]:
    """(frames, raw JSON bytes, bytes on disk of the ws files) of a recording."""
    from tradeflood.recording import merged
    from tradeflood.recording._format import FRAME

    frames = raw = 0
    for _, record in merged(directory, ("ws",)):
        if record.kind == FRAME:
            frames += 1
            raw += len(record.data)
    stored = sum(p.stat().st_size for p in directory.glob("ws-*"))
    return frames, raw, stored


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n = args.messages
    rates: dict[str, list[float]] = {"live": [], "live + record": [], "replay max": []}
    sizes = None
    parent, child = mp.Pipe()
    server = mp.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    urls = parent.recv()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.repeat):  # taken in turns, so a busy moment hurts all alike
                count, cpu = _run(_live, urls, n, None)
                rates["live"].append(count / cpu)
                directory = Path(tmp) / f"run{i}"
                count, cpu = _run(_live, urls, n, str(directory))
                rates["live + record"].append(count / cpu)
                count, cpu = _run(_replay, str(directory))
                assert count >= n, (count, n)
                rates["replay max"].append(count / cpu)
                sizes = _sizes(directory)
    finally:
        parent.send("stop")
        server.join(10)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"Binance {STREAM}, {n:,} trades per run, median of {args.repeat} runs "
          "(trades per CPU-second of the client process)")
    for name, value in med.items():
        print(f"  {name:<15} {value:>12,.0f} /CPU-s   runs: {', '.join(f'{r:,.0f}' for r in rates[name])}")
    print(f"  recording overhead on the live path: {100 * (1 - med['live + record'] / med['live']):.1f}% "
          "(goal: under 10%)")
    print(f"  replay / live: {med['replay max'] / med['live']:.2f}x (goal: at least 1)")
    assert sizes is not None
    frames, raw, stored = sizes
    print(f"  stored: {stored / frames:.1f} bytes per message against {raw / frames:.1f} bytes of raw JSON "
          f"= {100 * stored / raw:.1f}% (goal: under 20%); {frames:,} frames, {stored:,} bytes")
    print("  cryptofeed: no replay of a capture into its feed handlers, so no figure")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main(sys.argv[1:])
    print(f"({time.perf_counter() - t0:.0f} s)")
