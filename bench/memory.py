"""Memory and cold start: peak resident memory of a long 1m backfill, and a first fetch in a new process.

Run from the repo root as ``python bench/memory.py`` (default 90 days of 1m
BTC/USDT candles from the Bitget simulator; ``--days 365`` for a year, about
2,458 requests and two minutes per client under Bitget's 20 requests per second
per endpoint). ``--tradeflood-path DIR`` measures the TradeFlood found in
another checkout (e.g. the code before a change).

The simulator runs in this process; every client runs in a subprocess of its
own, so its peak resident memory (``VmHWM``) is its own:

- **tradeflood**: ``Session.fetch`` of the range (store off); peak RSS after the
  fetch, the size of the result's table, and the peak after reading every
  candle as a model once (``sum(c.close for c in series)``).
- **ccxt**: the forward ``fetch_ohlcv`` loop (limit 1000 on the recent endpoint,
  200 on the history one, as in bench/backfill.py); peak RSS after the fetch.

The cold-start section runs a 3-day backfill in a fresh process per client:
seconds to import the client, then seconds of the first fetch (imports made
on first use are inside it), as well as ``python -X importtime -c 'import
tradeflood'``'s total.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from typing import Any

MINUTE = 60_000
DAY = 86_400_000
SYMBOL = "BTC/USDT"


def _rss_mb() -> float:
    """This process's peak resident memory, MB.

    Linux's ``VmHWM``: ``ru_maxrss`` would be no good here, as it keeps the value of
    the parent at fork time across ``exec`` (the parent holds the warmed simulator).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# -- the clients (each in its own process) ------------------------------------------------


def client_tradeflood(url: str, start: int, end: int, models: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    import tradeflood
    from tradeflood.models import Candle

    imported = time.perf_counter() - t0
    t1 = time.perf_counter()
    with tradeflood.Session(urls={"bitget": {"rest": url}}, store=False) as s:
        series = s.fetch(Candle, exchange="bitget", symbol=SYMBOL, interval="1m", start=start, end=end)
    fetched = time.perf_counter() - t1
    out: dict[str, Any] = {"import_s": imported, "fetch_s": fetched, "candles": len(series),
                           "gaps": len(series.gaps), "rss_fetch_mb": _rss_mb()}
    table = getattr(series, "table", None)
    out["table_mb"] = table.nbytes / 2**20 if table is not None else None
    if models:
        t2 = time.perf_counter()
        total = sum(c.close for c in series)
        out["models_s"] = time.perf_counter() - t2
        out["rss_models_mb"] = _rss_mb()
        out["check"] = str(total)[:12]
    return out


def client_ccxt(url: str, start: int, end: int, models: bool) -> dict[str, Any]:
    import asyncio

    t0 = time.perf_counter()
    import ccxt
    import ccxt.async_support  # noqa: F401

    imported = time.perf_counter() - t0
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import loopback_ccxt_bitget

    async def run() -> list[list[Any]]:
        exchange = loopback_ccxt_bitget(url)
        rows: list[list[Any]] = []
        try:
            await exchange.load_loopback_markets()
            since = start
            while since < end:
                history = since <= exchange.milliseconds() - 28 * DAY
                page = await exchange.fetch_ohlcv(SYMBOL, "1m", since=since, limit=200 if history else 1000)
                if not page:
                    break
                rows.extend(r for r in page if r[0] < end)
                since = max(since, page[-1][0]) + MINUTE
        finally:
            await exchange.close()
        return rows

    t1 = time.perf_counter()
    rows = asyncio.run(run())
    fetched = time.perf_counter() - t1
    return {"import_s": imported, "fetch_s": fetched, "candles": len({r[0] for r in rows}),
            "rss_fetch_mb": _rss_mb()}


# -- the parent: a simulator, and one subprocess per client ------------------------------


def _spawn(client: str, url: str, start: int, end: int, models: bool, path: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, os.path.abspath(__file__), "--client", client, "--url", url,
           "--start", str(start), "--end", str(end)] + (["--models"] if models else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{client} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _importtime(path: str | None) -> float:
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tradeflood"], env=env,
                          capture_output=True, text=True, check=True)
    total = 0
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if m and not m.group(2).startswith(" "):  # top-level imports: their cumulative times add up
            total += int(m.group(1))
    return total / 1e6


def _mb(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90, help="length of the backfill (default 90)")
    parser.add_argument("--no-ccxt", action="store_true")
    parser.add_argument("--tradeflood-path", help="measure the tradeflood package found in this folder")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--end", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--models", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        run = client_tradeflood if args.client == "tradeflood" else client_ccxt
        print(json.dumps(run(args.url, args.start, args.end, args.models)))
        return 0

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import FastMarket, fast_market_matches, served, warm

    now = int(time.time() * 1000)
    end = (now // MINUTE - 5) * MINUTE
    start = end - args.days * DAY
    if not fast_market_matches():
        print("FastMarket no longer serves the simulator's rows", file=sys.stderr)
        return 2
    market = FastMarket()
    took = warm(market, [SYMBOL.replace("/", "")], start - DAY, end)
    where = args.tradeflood_path or "this checkout"
    print(f"Bitget simulator on 127.0.0.1 (FastMarket, warmed in {took:.0f} s); 1m {SYMBOL}, "
          f"{args.days} days ({args.days * 1440:,} candles); tradeflood from {where}")
    clients = ["tradeflood"] + ([] if args.no_ccxt else ["ccxt"])

    print("\n== Peak resident memory of the backfill (each client in its own process) ==")
    rows = []
    for client in clients:
        with served(market=market) as (url, _venue):
            r = _spawn(client, url, start, end, client == "tradeflood", args.tradeflood_path)
        rows.append((client, f"{r['candles']:,}", f"{r['fetch_s']:.1f}", _mb(r["rss_fetch_mb"]),
                     _mb(r.get("table_mb")), _mb(r.get("rss_models_mb")),
                     f"{r['models_s']:.1f}" if "models_s" in r else "-"))
    _table(("client", "candles", "fetch s", "peak MB after fetch", "result table MB",
            "peak MB after reading every model", "models s"), rows)

    print("\n== Cold start: a 3-day backfill in a fresh process ==")
    rows = []
    for client in clients:
        with served(market=market) as (url, _venue):
            r = _spawn(client, url, end - 3 * DAY, end, False, args.tradeflood_path)
        rows.append((client, f"{r['import_s']:.2f}", f"{r['fetch_s']:.2f}",
                     f"{r['import_s'] + r['fetch_s']:.2f}"))
    _table(("client", "import s", "first fetch s", "total s"), rows)
    print(f"\npython -X importtime -c 'import tradeflood': {_importtime(args.tradeflood_path):.3f} s "
          "(sum of the top-level imports' cumulative times)")
    return 0


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
