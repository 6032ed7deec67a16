"""Serve the simulator from a process of its own: ``python -m tradeflood.testing``.

Prints one JSON line, the URL overrides of :meth:`Simulator.urls`, then serves
on 127.0.0.1 until stdin closes or the process is told to stop. A benchmark
runs it as a subprocess so that the simulator does not share a GIL with the
clients it measures. ``--firehose binance:btcusdt@trade[:RATE]`` turns on the
throughput mode for that stream (repeatable).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from tradeflood.testing._server import Simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tradeflood.testing", description=__doc__)
    parser.add_argument("--firehose", action="append", default=[], metavar="VENUE:STREAM[:RATE]")
    args = parser.parse_args(argv)
    with Simulator() as sim:
        for spec in args.firehose:
            venue, stream, *rate = spec.split(":")
            futures = stream.startswith("futures/")
            sim.firehose(venue, stream.removeprefix("futures/"), float(rate[0]) if rate else None,
                         futures=futures)
        print(json.dumps(sim.urls()), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()


if __name__ == "__main__":
    main()
