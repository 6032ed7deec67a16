"""Backfill benchmark: TradeFlood and ccxt fetching 1m candle histories from the Bitget simulator.

Run from the repo root as ``python bench/backfill.py`` (``--quick``: 3-day range only;
``--latency-ms 0/50/100``: every run at each of those network round trips, side by side).

For a 3-day and a 60-day range of 1m candles of BTC/USDT, ETH/USDT and SOL/USDT,
each client runs against its own fresh simulated Bitget on 127.0.0.1, which
enforces 20 requests per second per endpoint per IP and answers 429 beyond.
Requests and 429s are counted by the simulator, so both clients are counted
the same way. Each run prints requests per endpoint, wall time, the rate-limit
bound and the candles' correctness (every minute of the range exactly once,
values equal across clients). A last section gathers 5 overlapping ranges in
one plan and compares its requests with the unique grid pages and with 5
separate runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from _common import (
    DAY,
    MINUTE,
    RATE,
    CountingBitgetVenue,
    FastMarket,
    MeteredTransport,
    check_open_times,
    fast_market_matches,
    format_table,
    fresh_session,
    loopback_ccxt_bitget,
    rate_bound,
    served,
    warm,
)

from tradeflood import Query, VirtualClock
from tradeflood.models import Candle
from tradeflood.ratelimit import ArrivalEstimate
from tradeflood.testing import Faults, Market, SimulatorTransport

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
#: ccxt switches to the history endpoint (200 rows at most) at ``since <= now - (30 - 1) days`` for 1m.
CCXT_RECENT_DAYS = 30
CCXT_RECENT_LIMIT, CCXT_HISTORY_LIMIT = 1000, 200
SHORT_PATH = {
    "/api/v2/spot/market/candles": "candles",
    "/api/v2/spot/market/history-candles": "history",
    "/api/v2/spot/public/symbols": "symbols",
}

Bars = dict[str, dict[int, tuple[float, ...]]]


@dataclass
class Run:
    """One client's backfill of one range, as the simulator saw it."""

    range_label: str
    client: str
    by_path: Counter[str]
    rejected_429: int
    wall_s: float
    sim_busy_s: float
    latency_s: float
    candles: str
    values: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.by_path.values())

    @property
    def bound_s(self) -> float:
        return rate_bound(self.by_path)[0]

    @property
    def naive_s(self) -> float:
        return rate_bound(self.by_path)[1]

    def breakdown(self) -> str:
        parts = [f"{SHORT_PATH.get(p, p)} {n} ({n / RATE:.2f}s)" for p, n in sorted(self.by_path.items())]
        return ", ".join(parts)


def _counts(venue: Any) -> tuple[Counter[str], int]:
    served_paths = Counter({p: n for p, n in venue.stats.by_path.items() if n})
    return served_paths, venue.stats.rejected_429


# -- TradeFlood --------------------------------------------------------------------


def run_tradeflood(label: str, start: int, end: int, sim: dict[str, Any]) -> tuple[Run, Bars]:
    meter = MeteredTransport()
    with served(**sim) as (url, venue), fresh_session(url, transport=meter) as s:
        queries = [Query(Candle, exchange="bitget", symbol=sym, interval="1m", start=start, end=end)
                   for sym in SYMBOLS]
        plan = s.plan(*queries)
        print(f"\n[{label}] tradeflood plan (before running):")
        print("\n".join("    " + line for line in plan.explain().splitlines()))
        t0 = time.perf_counter()
        results = s.gather(*queries)
        wall = time.perf_counter() - t0
        by_path, rejected = _counts(venue)
        stats = s.stats
        verdicts, bars = [], {}
        for sym, series in zip(SYMBOLS, results, strict=True):
            ok, detail = check_open_times([c.open_time for c in series], start, end)
            if series.gaps:
                ok, detail = False, f"{detail}, {len(series.gaps)} gaps reported"
            verdicts.append((ok, detail))
            bars[sym] = {c.open_time: (float(c.open), float(c.high), float(c.low), float(c.close),
                                       float(c.volume)) for c in series}
        run = Run(label, "tradeflood", by_path, rejected, wall, venue.busy_s,
                  meter.latency_s / max(1, meter.requests), _verdict(verdicts))
        run.notes.append(f"planned {plan.requests} requests; client counted {stats.requests} sent, "
                         f"{stats.retries} retries, {stats.rate_limited} rate-limited")
        return run, bars


# -- ccxt ------------------------------------------------------------------------


async def _ccxt_symbol(exchange: Any, symbol: str, start: int, end: int, policy: str,
                       retries: Counter[str]) -> list[list[Any]]:
    """A ccxt user's forward loop: since = last candle + 1 minute, until the range is covered."""
    import ccxt

    rows: list[list[Any]] = []
    since = start
    while since < end:
        history = since <= exchange.milliseconds() - (CCXT_RECENT_DAYS - 1) * DAY
        limit = CCXT_HISTORY_LIMIT if policy == "per-endpoint" and history else CCXT_RECENT_LIMIT
        try:
            page = await exchange.fetch_ohlcv(symbol, "1m", since=since, limit=limit)
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection):
            retries["429"] += 1
            await asyncio.sleep(1.0)
            continue
        if not page:
            break
        rows.extend(page)
        since = max(since, page[-1][0]) + MINUTE
    return rows


async def _ccxt_backfill(url: str, start: int, end: int, policy: str) -> tuple[dict[str, Any], float, Any]:
    exchange = loopback_ccxt_bitget(url)
    caught: Counter[str] = Counter()
    try:
        t0 = time.perf_counter()
        await exchange.load_loopback_markets()
        pages = await asyncio.gather(*(_ccxt_symbol(exchange, sym, start, end, policy, caught)
                                       for sym in SYMBOLS))
        wall = time.perf_counter() - t0
        exchange.caught_429 = caught["429"]
        return dict(zip(SYMBOLS, pages, strict=True)), wall, exchange
    finally:
        await exchange.close()


def run_ccxt(label: str, start: int, end: int, policy: str, reference: Bars | None,
             sim: dict[str, Any]) -> Run:
    with served(**sim) as (url, venue):
        rows, wall, exchange = asyncio.run(_ccxt_backfill(url, start, end, policy))
        by_path, rejected = _counts(venue)
    verdicts, mismatched, compared = [], 0, 0
    for sym in SYMBOLS:
        verdicts.append(check_open_times([r[0] for r in rows[sym]], start, end))
        ref = (reference or {}).get(sym, {})
        for r in rows[sym]:
            if start <= r[0] < end and r[0] in ref:
                compared += 1
                mismatched += tuple(r[1:6]) != ref[r[0]]
    name = "ccxt limit=1000" if policy == "1000" else "ccxt 1000/200"
    sent = exchange.requests_sent
    run = Run(label, name, by_path, rejected, wall, venue.busy_s, exchange.latency_s / max(1, sent),
              _verdict(verdicts))
    run.values = f"{compared - mismatched}/{compared}" if compared else "n/a"
    run.notes.append(f"ccxt sent {sent} requests (client-side count); {exchange.caught_429} raised "
                     "RateLimitExceeded, each retried after 1 s")
    return run


def _verdict(verdicts: list[tuple[bool, str]]) -> str:
    details = {detail for _, detail in verdicts}
    if len(details) == 1:  # the same for every symbol
        return f"{len(verdicts)}x {details.pop()}"
    return "; ".join(f"{sym.split('/')[0]} {d}" for sym, (_, d) in zip(SYMBOLS, verdicts, strict=True))


# -- the limiter alone, in virtual time ---------------------------------------------


def run_virtual(start: int, end: int, latency_ms: float, market: Market | None,
                conservative: bool) -> tuple[Counter[str], int, float]:
    """TradeFlood's backfill through the in-process simulator on a virtual clock: time passes
    only while every task waits, so the elapsed time is the limiter's and the round trips',
    whatever the machine's load. Each way takes half the round trip, +-20%. With
    ``conservative``, every request holds its weight until one window after its reply (the
    rule before the arrival estimate). Returns (requests by path, 429s, virtual seconds)."""
    clock = VirtualClock(start=time.time())
    half = latency_ms / 2000
    faults = Faults(latency=(0.8 * half, 1.2 * half), request_latency=(0.8 * half, 1.2 * half), seed=7)
    venue = CountingBitgetVenue(market=market, clock=clock, faults=faults, requests_per_second=RATE)
    warmup = ArrivalEstimate.warmup
    if conservative:
        ArrivalEstimate.warmup = sys.maxsize  # never leaves the conservative rule
    try:
        with fresh_session("http://127.0.0.1:9", transport=SimulatorTransport({"bitget": venue}),
                           clock=clock) as s:
            queries = [Query(Candle, exchange="bitget", symbol=sym, interval="1m", start=start, end=end)
                       for sym in SYMBOLS]
            t0 = clock.monotonic()
            s.gather(*queries)
            elapsed = clock.monotonic() - t0
    finally:
        ArrivalEstimate.warmup = warmup
    return _counts(venue)[0], venue.stats.rejected_429, elapsed


def virtual(start: int, end: int, latencies: list[float], market: Market | None, label: str) -> None:
    print(f"\n== The limiter alone: {label} backfill on a virtual clock (no CPU contention) ==")
    rows = []
    for latency_ms in latencies:
        for conservative in (True, False):
            by_path, rejected, elapsed = run_virtual(start, end, latency_ms, market, conservative)
            bound = rate_bound(by_path)[0]
            rows.append((f"{latency_ms:g}", "after reply (before)" if conservative else "estimated arrival",
                         sum(by_path.values()), rejected, f"{elapsed:.2f}", f"{bound:.2f}",
                         f"{elapsed / bound:.3f}x"))
    print(format_table(("rtt ms", "weight expires per s after", "requests", "429s", "virtual s", "bound s",
                        "virtual/bound"), rows))
    print("goal: estimated arrival <= 1.05x the bound with zero 429s at every round trip")


# -- overlap -----------------------------------------------------------------------


def overlap(end: int, sim: dict[str, Any]) -> None:
    """5 overlapping 1m ranges of BTC/USDT within the last 10 days: one gather vs 5 separate runs."""
    offsets = ((-10 * DAY, -3 * DAY), (-9 * DAY + 137 * MINUTE, -2 * DAY),
               (-8 * DAY - 411 * MINUTE, -DAY + 53 * MINUTE), (-7 * DAY, 0),
               (-9 * DAY - 777 * MINUTE, -4 * DAY + 999 * MINUTE))
    ranges = [(end + a, end + b) for a, b in offsets]

    def queries() -> list[Query]:
        return [Query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m", start=a, end=b)
                for a, b in ranges]

    print("\n== Overlap: 5 overlapping 1m ranges of BTC/USDT in the last 10 days, one gather ==")
    for a, b in ranges:
        print(f"    [{(a - end) / DAY:+.3f} d, {(b - end) / DAY:+.3f} d)  {(b - a) // MINUTE} candles")

    # Unique grid pages: counted in the merged plan (nothing is sent to plan) and by grid arithmetic.
    # Queries sharing a series are paged on the shared grid; a lone query may page from its own start.
    with fresh_session("http://127.0.0.1:9") as planner:  # plans only: nothing is sent
        pages = {(t.path, t.param("startTime") or t.param("endTime"))
                 for t in planner.plan(*queries()).turns}
    size = 1000 * MINUTE  # every range is inside the recent endpoint's 30-day window
    grid = {start for a, b in ranges for start in range(a // size * size, b, size)}
    candle_pages = sum(1 for path, _ in pages if "candles" in path)

    with served(**sim) as (url, venue), fresh_session(url) as s:
        t0 = time.perf_counter()
        results = s.gather(*queries())
        gather_wall = time.perf_counter() - t0
        gather_requests = venue.stats.requests
        gather_429 = venue.stats.rejected_429
    ok = all(check_open_times([c.open_time for c in r], a, b)[0] and not r.gaps
             for r, (a, b) in zip(results, ranges, strict=True))

    separate, separate_wall, separate_429 = [], 0.0, 0
    for q in range(len(ranges)):
        with served(**sim) as (url, venue), fresh_session(url) as s:
            t0 = time.perf_counter()
            s.gather(queries()[q])
            separate_wall += time.perf_counter() - t0
            separate.append(venue.stats.requests)
            separate_429 += venue.stats.rejected_429

    rows = [
        ("one gather (5 queries)", gather_requests, gather_429, f"{gather_wall:.2f}",
         "OK" if ok else "FAIL"),
        ("5 separate sessions", f"{sum(separate)}", separate_429, f"{separate_wall:.2f}",
         "+".join(map(str, separate))),
    ]
    print(format_table(("overlap", "requests", "429s", "wall s", "candles / per run"), rows))
    print(f"unique grid pages: {candle_pages} candle pages in the merged plan "
          f"(distinct endpoint + page edge), {len(grid)} by grid arithmetic "
          f"({'agree' if len(grid) == candle_pages else 'DISAGREE'}), + 1 instrument list "
          f"= {candle_pages + 1}")
    verdict = "equal" if gather_requests == candle_pages + 1 else "NOT equal"
    print(f"one gather sent {gather_requests} = unique pages + 1: {verdict}; "
          f"saved {sum(separate) - gather_requests} of {sum(separate)} "
          f"({gather_requests / sum(separate):.2f}x the separate runs' requests)")


# -- main ----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the 3-day range (and the overlap)")
    parser.add_argument("--no-ccxt", action="store_true", help="skip the ccxt runs")
    parser.add_argument("--no-overlap", action="store_true", help="skip the overlap section")
    parser.add_argument("--no-virtual", action="store_true",
                        help="skip the limiter-alone section (TradeFlood on a virtual clock)")
    parser.add_argument("--virtual-only", action="store_true",
                        help="only the limiter-alone section (minutes, not tens of minutes, on a busy box)")
    parser.add_argument("--stock-sim", action="store_true",
                        help="serve from the simulator's stock market, every bar built per request "
                             "(slow: the simulator then sets the pace; see bench/README.md)")
    parser.add_argument("--latency-ms", type=_latencies, default=[0.0], metavar="MS[/MS...]",
                        help="network round trips to run at, side by side (e.g. 0/50/100; default 0): "
                             "half before the venue counts each request, half after")
    args = parser.parse_args()

    now = int(time.time() * 1000)
    end = (now // MINUTE - 5) * MINUTE  # a fixed, closed minute a little in the past
    ranges = [("3d", end - 3 * DAY)] + ([] if args.quick else [("60d", end - 60 * DAY)])
    print(f"Bitget simulator on 127.0.0.1, {RATE} req/s per endpoint per IP, round trips of "
          f"{'/'.join(f'{ms:g}' for ms in args.latency_ms)} ms; 1m candles of {', '.join(SYMBOLS)}; "
          f"ranges end at "
          f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(end / 1000))}Z")
    market = None
    if args.stock_sim:
        print("simulator market: stock (every bar built on each request)")
    elif not fast_market_matches():
        print("FastMarket no longer serves the simulator's rows; run with --stock-sim", file=sys.stderr)
        return 2
    else:
        market = FastMarket()
        took = warm(market, [s.replace("/", "") for s in SYMBOLS], ranges[-1][1], end)
        print(f"simulator market: FastMarket (same rows, verified), every bar of the ranges built "
              f"before timing, shared by all runs ({took:.1f} s)")
    if args.virtual_only:
        virtual(ranges[-1][1], end, args.latency_ms, market, ranges[-1][0])
        return 0
    runs: list[Run] = []
    for latency_ms in args.latency_ms:
        sim = {"market": market, "latency_ms": latency_ms}
        for range_label, start in ranges:
            label = f"{range_label} @{latency_ms:g}ms"
            tf, bars = run_tradeflood(label, start, end, sim)
            here = [tf]
            if not args.no_ccxt:
                here.append(run_ccxt(label, start, end, "1000", bars, sim))
                if range_label != "3d":  # within 29 days ccxt uses the recent endpoint only: same as above
                    here.append(run_ccxt(label, start, end, "per-endpoint", bars, sim))
            for run in here:
                print(f"[{label}] {run.client}: {run.requests} requests: {run.breakdown()}; "
                      + "; ".join(run.notes))
            runs += here

    print("\n== Backfill: requests and wall time against the rate-limit bound ==")
    rows = []
    for run in runs:
        tf = next(r for r in runs if r.range_label == run.range_label and r.client == "tradeflood")
        rows.append((
            run.range_label, run.client, run.requests, run.rejected_429, f"{run.wall_s:.2f}",
            f"{run.bound_s:.2f}", f"{run.naive_s:.2f}", f"{run.wall_s / run.bound_s:.2f}x",
            f"{run.sim_busy_s:.2f}", f"{run.wall_s / max(run.bound_s, run.sim_busy_s):.2f}x",
            f"{1000 * run.latency_s:.0f}", run.candles, run.values or "-",
            "-" if run is tf else f"{tf.requests / run.requests:.2f}",
        ))
    print(format_table(("range", "client", "requests", "429s", "wall s", "bound s", "naive s",
                        "wall/bound", "sim busy s", "wall/max(bound,sim)", "lat ms", "candles",
                        "values vs TF",
                        "req TF/this"), rows))
    print(f"""
bound s    = max over endpoints of (requests to it / {RATE} per s): Bitget limits each endpoint
             separately (recent candles, history-candles and the symbol list are three budgets), so
             a client using them in parallel can finish in the time of its busiest endpoint.
naive s    = all requests / {RATE} per s (the bound if the limit were per IP across endpoints).
wall/bound = goal <= 1.05x with zero 429s at every round trip. A wall time below the bound is
             possible: a rolling 1 s window admits an initial burst of {RATE}, so n requests need
             about (n/{RATE} - 1) s.
sim busy s = time the simulator spent answering (it shares this process and its GIL with the client);
             when it exceeds the bound, the simulator, not the rate limit, sets the pace.
lat ms     = mean time from sending a request to having its reply, seen by the client (the
             range's label says the simulated round trip: half before the venue counts a request).
values vs TF = candles whose open, high, low, close and volume equal TradeFlood's (as floats).
ccxt limit=1000   : fetch_ohlcv(since, limit=1000) looping forward (ccxt's largest limit).
ccxt 1000/200     : the same with limit=200 when ccxt picks its history endpoint (since older than
                    {CCXT_RECENT_DAYS - 1} days), the largest limit that endpoint serves.
ccxt throttles all requests to one {RATE}/s budget (rateLimit=50 ms), whatever the endpoint.""")
    if not args.no_virtual:
        virtual(ranges[-1][1], end, args.latency_ms, market, ranges[-1][0])
    if not args.no_overlap:
        overlap(end, {"market": market, "latency_ms": args.latency_ms[0]})
    return 0


def _latencies(text: str) -> list[float]:
    """``0/50/100`` (or ``0,50,100``): round trips in milliseconds."""
    try:
        values = [float(part) for part in text.replace(",", "/").split("/") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds such as 0/50/100, not {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative milliseconds such as 0/50/100, not {text!r}")
    return values


if __name__ == "__main__":
    sys.exit(main())
