"""Backfill benchmark on the new venues: 60 days of 1m candles from the OKX and Bybit simulators,
TradeFlood next to ccxt on the same simulator.

Run from the repo root as ``python bench/venues.py`` (``--days N`` for another range).

For BTC/USDT, each client runs against its own fresh simulated venue on
127.0.0.1 (live clock, the venue's documented limits, 429 or 403 beyond them).
Requests and refusals are counted by the simulator. The rate-limit bound is the
least time the venue's limits allow for the requests made: for OKX the largest
over its endpoints (``market/candles`` 40 per 2 s, ``history-candles`` 20 per
2 s, each per IP); for Bybit all requests at 600 per 5 s per IP. Under one
window's worth of requests the bound is 0 and the wall time is latency alone.
ccxt runs as a user would: ``enableRateLimit``, a forward loop of
``fetch_ohlcv(since=last + 1m, limit=<venue max>)``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from _common import DAY, MINUTE, FastMarket, check_open_times, format_table, warm

from tradeflood import Session
from tradeflood.models import Candle
from tradeflood.testing import Simulator
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._okx import LIMITS as OKX_LIMITS
from tradeflood.testing._okx import OkxVenue

SYMBOL = "BTC/USDT"
#: (requests, window seconds) per path, as each venue documents it; "*" is one window for all.
WINDOWS = {"okx": {p: (n, 2.0) for p, n in OKX_LIMITS.items()}, "bybit": {"*": (600, 5.0)}}
PAGE = {"okx": 300, "bybit": 1000}


def bound(venue: str, by_path: Counter[str]) -> float:
    """The least time a venue's sliding windows allow for these requests: n requests at N per W
    seconds need (ceil(n / N) - 1) x W, endpoint by endpoint (they run side by side)."""
    windows = WINDOWS[venue]
    counts = {"*": sum(by_path.values())} if "*" in windows else by_path
    return max(((-(-n // windows[p][0]) - 1) * windows[p][1] for p, n in counts.items() if p in windows),
               default=0.0)


def make_venue(name: str, market: FastMarket) -> Any:
    return OkxVenue(market=market) if name == "okx" else BybitVenue(market=market)


def run_tradeflood(name: str, start: int, end: int, market: FastMarket) -> dict[str, Any]:
    venue = make_venue(name, market)
    with Simulator({name: venue}, ws=False) as sim, \
            Session(urls={name: {"rest": sim.url(name)}}, store=False) as s:
        t0 = time.perf_counter()
        series = s.fetch(Candle, exchange=name, symbol=SYMBOL, interval="1m", start=start, end=end)
        wall = time.perf_counter() - t0
    _, detail = check_open_times([c.open_time for c in series], start, end)
    return _row(name, "tradeflood", venue, wall, f"{detail}{'' if not series.gaps else ', gaps'}")


async def _ccxt(name: str, url: str, start: int, end: int) -> tuple[list[list[Any]], float]:
    import ccxt.async_support as ccxt_async

    base = getattr(ccxt_async, name)

    class Loopback(base):  # type: ignore[misc, valid-type]
        async def fetch(self, u: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            if urlsplit(u).hostname != "127.0.0.1":
                raise RuntimeError(f"ccxt tried to reach {u!r}")
            return await super().fetch(u, method, headers, body)

    exchange = Loopback({"enableRateLimit": True})
    exchange.options["fetchMarkets"] = {**exchange.options.get("fetchMarkets", {}), "types": ["spot"]}
    exchange.options["adjustForTimeDifference"] = False
    exchange.hostname = "127.0.0.1"
    for key in list(exchange.urls["api"]):
        exchange.urls["api"][key] = url
    try:
        t0 = time.perf_counter()
        await exchange.load_markets()
        rows: list[list[Any]] = []
        since = start
        while since < end:
            page = await exchange.fetch_ohlcv(SYMBOL, "1m", since=since, limit=PAGE[name])
            if not page:
                break
            rows.extend(r for r in page if r[0] < end)
            since = max(since, page[-1][0]) + MINUTE
        return rows, time.perf_counter() - t0
    finally:
        await exchange.close()


def run_ccxt(name: str, start: int, end: int, market: FastMarket) -> dict[str, Any]:
    venue = make_venue(name, market)
    with Simulator({name: venue}, ws=False) as sim:
        try:
            rows, wall = asyncio.run(_ccxt(name, sim.url(name), start, end))
        except Exception as exc:  # a peer that cannot run here is reported, not hidden
            return _row(name, "ccxt", venue, float("nan"), f"failed: {type(exc).__name__}: {exc}"[:90])
    _, detail = check_open_times(sorted({r[0] for r in rows}), start, end)
    return _row(name, "ccxt", venue, wall, detail)


def _row(name: str, client: str, venue: Any, wall: float, candles: str) -> dict[str, Any]:
    by_path = Counter({p: n for p, n in venue.stats.by_path.items() if n})
    refused = venue.stats.rejected_429 + venue.stats.by_status.get(403, 0)
    return {"venue": name, "client": client, "requests": sum(by_path.values()), "refused": refused,
            "wall": wall, "bound": bound(name, by_path), "candles": candles,
            "paths": ", ".join(f"{p.rsplit('/', 1)[-1]} {n}" for p, n in sorted(by_path.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    now = int(time.time() * 1000)
    end = now // MINUTE * MINUTE - 10 * MINUTE
    start = end - args.days * DAY
    market = FastMarket()
    print(f"warming the market ({args.days} days of 1m bars)...", flush=True)
    warm(market, ["BTCUSDT"], start - DAY, end + 20 * MINUTE)
    rows = []
    for name in ("okx", "bybit"):
        for runner in (run_tradeflood, run_ccxt):
            row = runner(name, start, end, market)
            rows.append(row)
            print(f"  {name} {row['client']}: {row['requests']} requests in {row['wall']:.1f}s", flush=True)
    header = ["venue", "client", "requests", "429/403", "wall s", "bound s", "wall/bound", "candles",
              "by path"]
    table = [[r["venue"], r["client"], r["requests"], r["refused"], f"{r['wall']:.2f}", f"{r['bound']:.2f}",
              f"{r['wall'] / r['bound']:.2f}x" if r["bound"] else "n/a (< 1 window)", r["candles"],
              r["paths"]]
             for r in rows]
    print(f"\n{args.days} days of 1m {SYMBOL} candles ({args.days * 1440} bars)")
    print(format_table(header, table))


if __name__ == "__main__":
    main()
