"""Funding-rate parse benchmark: CPU per funding row of TradeFlood against ccxt, on the four venues.

Run from the repo root as ``python bench/funding.py`` (``--rounds N`` to change the repetitions).

The payloads are full funding-history pages made by the simulator in process (no
sockets), in each venue's wire shape and page size: Bitget ``history-fund-rate``
(100 rows), Binance ``fundingRate`` (1000), Bybit ``funding/history`` (200), OKX
``funding-rate-history`` (400). Each parser turns the page into its result,
``--rounds`` times, interleaved, with the garbage collector off while timed; the
best round is reported (the median too), in microseconds per row.

- TradeFlood: the parse function the venue's ``FundingRate`` binding calls
  (rows into ``FundingRate`` models with exact Decimals, every value checked),
  from the decoded reply's data.
- ccxt: ``fetch_funding_rate_history`` with its ``fetch`` stubbed to return the
  decoded reply (ccxt parses funding history inside its fetch methods; only
  Binance has a separate per-row parse). What ccxt spends on a call besides the
  rows (building the request, the envelope) is measured on an empty page and
  subtracted, so the ccxt figure is its cost per row, to its favour.

The current rate is measured too, per call: ours against ccxt's ``parse_funding_rate``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from typing import Any

import ccxt
from parse import time_rounds

from tradeflood.bindings.binance import funding as binance
from tradeflood.bindings.bitget import funding as bitget
from tradeflood.bindings.bybit import funding as bybit
from tradeflood.bindings.bybit.parse import find_ticker
from tradeflood.bindings.okx import funding as okx
from tradeflood.clock import VirtualClock
from tradeflood.testing import BinanceVenue, BitgetVenue, BybitVenue, OkxVenue

NOW = 1_717_210_830_000
STEP = 8 * 3_600_000
SYMBOL = "BTC/USDT:USDT"
VENUES = ("bitget", "binance", "bybit", "okx")


def ccxt_market(native: str, contract_size: float) -> dict[str, Any]:
    """A ccxt USDT perpetual market for BTC/USDT:USDT (what its fetch methods look up)."""
    return {"id": native, "symbol": SYMBOL, "base": "BTC", "quote": "USDT", "settle": "USDT", "baseId": "BTC",
            "quoteId": "USDT", "settleId": "USDT", "type": "swap", "spot": False, "margin": False,
            "swap": True, "future": False, "option": False, "contract": True, "linear": True,
            "inverse": False, "contractSize": contract_size, "active": True,
            "precision": {"amount": 0.001, "price": 0.1}, "limits": {}, "info": {}}


def replies() -> dict[str, tuple[Any, Any]]:
    """Per venue: the decoded history page and the decoded current-rate reply."""
    clock = VirtualClock(start=NOW / 1000)
    far = str(NOW - 1000 * STEP)
    usdt = {"symbol": "BTCUSDT", "productType": "USDT-FUTURES"}
    calls = {
        "bitget": (BitgetVenue,
                   ("/api/v2/mix/market/history-fund-rate", {**usdt, "pageSize": "100"}),
                   ("/api/v2/mix/market/current-fund-rate", usdt)),
        "binance": (BinanceVenue,
                    ("/fapi/v1/fundingRate", {"symbol": "BTCUSDT", "limit": "1000", "startTime": far}),
                    ("/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"})),
        "bybit": (BybitVenue,
                  ("/v5/market/funding/history",
                   {"category": "linear", "symbol": "BTCUSDT", "limit": "200", "startTime": far,
                    "endTime": str(NOW)}),
                  ("/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"})),
        "okx": (OkxVenue,
                ("/api/v5/public/funding-rate-history", {"instId": "BTC-USDT-SWAP", "limit": "400"}),
                ("/api/v5/public/funding-rate", {"instId": "BTC-USDT-SWAP"})),
    }
    out = {}
    for name, (make, (hpath, hq), (cpath, cq)) in calls.items():
        venue = make(clock=clock)
        out[name] = (json.loads(venue.handle("GET", hpath, hq, "127.0.0.1").body),
                     json.loads(venue.handle("GET", cpath, cq, "127.0.0.1").body))
    return out


def empty(name: str, body: Any) -> Any:
    """The same reply with no rows: what a ccxt call costs besides parsing them."""
    if name == "binance":
        return []
    if name == "bybit":
        return {**body, "result": {**body["result"], "list": []}}
    return {**body, "data": []}


def ours_history(name: str, body: Any) -> Callable[[], Any]:
    if name == "bitget":
        return lambda: bitget.parse_funding_history(body["data"], symbol=SYMBOL)
    if name == "binance":
        return lambda: binance.parse_funding_history(body, symbol=SYMBOL)
    if name == "bybit":
        return lambda: bybit.parse_funding_history(body["result"], symbol=SYMBOL)
    return lambda: okx.parse_funding_history(body["data"], symbol=SYMBOL)


def ours_current(name: str, body: Any) -> Callable[[], Any]:
    if name == "bitget":
        return lambda: bitget.parse_current_funding(body["data"], symbol=SYMBOL)
    if name == "binance":
        return lambda: binance.parse_premium_index(body, symbol=SYMBOL)
    if name == "bybit":
        def bybit_current() -> Any:
            result = body["result"]
            return bybit.parse_ticker_funding(find_ticker(result, "BTCUSDT"), symbol=SYMBOL,
                                              timestamp=body["time"])
        return bybit_current
    return lambda: okx.parse_current_funding(body["data"], symbol=SYMBOL)


def ccxt_exchange(name: str, reply: Any) -> Any:
    exchange = getattr(ccxt, name)()
    native = "BTC-USDT-SWAP" if name == "okx" else "BTCUSDT"
    exchange.set_markets([ccxt_market(native, 0.01 if name == "okx" else 1.0)])
    exchange.fetch = lambda *args, **kwargs: reply
    return exchange


def ccxt_current_record(name: str, body: Any) -> Any:
    if name == "binance":
        return body
    if name == "bybit":
        return body["result"]["list"][0]
    return body["data"][0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="timed repetitions per parser (default 30)")
    args = parser.parse_args()

    pages = replies()
    rows: dict[str, int] = {}
    cases: dict[str, Callable[[], object]] = {}
    for name in VENUES:
        history, current = pages[name]
        ours = ours_history(name, history)
        full, bare = ccxt_exchange(name, history), ccxt_exchange(name, empty(name, history))
        theirs = ccxt_exchange(name, current)
        market = theirs.market(SYMBOL)
        record = ccxt_current_record(name, current)
        ours_now = ours_current(name, current)
        # Same rows out of both, or the comparison means nothing.
        a = [(r.funding_time, float(r.rate)) for r in ours()]
        b = [(r["timestamp"] - r["timestamp"] % 60_000, r["fundingRate"]) for r in
             full.fetch_funding_rate_history(SYMBOL)]
        if a != b:
            print(f"{name}: TradeFlood and ccxt disagree on the parsed rows", file=sys.stderr)
            return 1
        if float(ours_now().rate) != theirs.parse_funding_rate(record, market)["fundingRate"]:
            print(f"{name}: TradeFlood and ccxt disagree on the current rate", file=sys.stderr)
            return 1
        rows[name] = len(a)
        cases[f"{name} tradeflood"] = ours
        cases[f"{name} ccxt"] = lambda full=full: full.fetch_funding_rate_history(SYMBOL)
        cases[f"{name} ccxt empty"] = lambda bare=bare: bare.fetch_funding_rate_history(SYMBOL)
        cases[f"{name} now tradeflood"] = ours_now
        cases[f"{name} now ccxt"] = lambda t=theirs, r=record, m=market: t.parse_funding_rate(r, m)

    seconds = time_rounds(cases, args.rounds)
    best = {k: 1e6 * min(v) for k, v in seconds.items()}
    median = {k: 1e6 * statistics.median(v) for k, v in seconds.items()}
    print(f"Parse cost per funding row: a full history page per venue from the simulator, best of "
          f"{args.rounds} rounds (median), GC off while timed; Python {sys.version.split()[0]}, "
          f"ccxt {ccxt.__version__}")
    print(f"{'venue':<8} {'rows':>5} {'tradeflood us/row':>18} {'ccxt us/row':>12} {'ccxt net us/row':>16} "
          f"{'vs ccxt net':>12}")
    for name in VENUES:
        n = rows[name]
        ours_us = best[f"{name} tradeflood"] / n
        theirs_us = best[f"{name} ccxt"] / n
        net = (best[f"{name} ccxt"] - best[f"{name} ccxt empty"]) / n
        print(f"{name:<8} {n:>5} {ours_us:>9.2f} ({median[f'{name} tradeflood'] / n:.2f}) "
              f"{theirs_us:>12.2f} {net:>16.2f} {ours_us / net:>11.2f}x")
    print(f"{'venue':<8} {'current rate: tradeflood us/call':>34} {'ccxt parse_funding_rate us/call':>32}")
    for name in VENUES:
        print(f"{name:<8} {best[f'{name} now tradeflood']:>34.2f} {best[f'{name} now ccxt']:>32.2f}")
    for name in VENUES:
        net = (best[f"{name} ccxt"] - best[f"{name} ccxt empty"]) / rows[name]
        ratio = best[f"{name} tradeflood"] / rows[name] / net
        print(f"goal ({name}): funding-row parse no slower than ccxt's: {ratio:.2f}x -> "
              f"{'met' if ratio <= 1.0 else 'NOT met'}")
    print("Both parsers gave the same funding times and rates (as floats) on every page.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
