"""Parse benchmark on OKX and Bybit: CPU per candle and per trade, TradeFlood next to ccxt.

Run from the repo root as ``python bench/parse_venues.py`` (``--rounds N`` to change the repetitions).

The payloads are real-shaped replies made by the simulator in process (no
sockets): an OKX ``market/candles`` page (300 rows) and ``market/trades`` page
(500 trades), a Bybit ``market/kline`` page (1000 rows) and ``market/recent-trade``
page (1000 trades, linear). Every parser starts from the decoded JSON (JSON
decoding is not timed) and turns the whole page into its result, ``--rounds``
times, interleaved, with the garbage collector off while timed; the best round
is reported (the median too), in microseconds per row.

- TradeFlood: the functions the OKX and Bybit bindings call (rows into models
  with exact Decimals, every value checked), and the columnar candle parse a
  fetch uses when pyarrow is installed.
- ccxt: ``parse_ohlcvs`` and ``parse_trades`` with a market like the one ccxt
  loads (rows into floats, or trade dicts with floats).

Both sides must agree on the parsed values, or the comparison means nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from typing import Any

import ccxt
from _common import cpu_model
from parse import time_rounds

from tradeflood.bindings.bybit import candle_columns_bybit
from tradeflood.bindings.bybit import parse as bybit_parse
from tradeflood.bindings.okx import candle_columns_okx
from tradeflood.bindings.okx import parse as okx_parse
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._okx import OkxVenue

MINUTE = 60_000


def okx_payloads() -> tuple[list[list[str]], list[dict[str, Any]], int]:
    """(an OKX spot 1m candle page, an OKX spot trade page, the time they were made)."""
    venue = OkxVenue()
    now = venue.now_ms()
    end = (now // MINUTE - 2) * MINUTE
    candles = venue.handle("GET", "/api/v5/market/candles",
                           {"instId": "BTC-USDT", "bar": "1m", "limit": "300", "after": str(end)},
                           "127.0.0.1").json()["data"]
    trades = venue.handle("GET", "/api/v5/market/trades", {"instId": "BTC-USDT", "limit": "500"},
                          "127.0.0.1").json()["data"]
    return candles, trades, now


def bybit_payloads() -> tuple[dict[str, Any], dict[str, Any], int]:
    """(a Bybit spot 1m kline result, a Bybit linear recent-trade result, the time they were made)."""
    venue = BybitVenue()
    now = venue.now_ms()
    end = (now // MINUTE - 2) * MINUTE
    kline = venue.handle("GET", "/v5/market/kline",
                         {"category": "spot", "symbol": "BTCUSDT", "interval": "1", "limit": "1000",
                          "start": str(end - 1000 * MINUTE), "end": str(end - MINUTE)},
                         "127.0.0.1").json()["result"]
    trades = venue.handle("GET", "/v5/market/recent-trade",
                          {"category": "linear", "symbol": "BTCUSDT", "limit": "1000"},
                          "127.0.0.1").json()["result"]
    return kline, trades, now


def market(ccxt_id: str, native: str, *, spot: bool) -> dict[str, Any]:
    """The fields of a ccxt market that its candle and trade parsers read."""
    symbol = "BTC/USDT" if spot else "BTC/USDT:USDT"
    return {"id": native, "symbol": symbol, "base": "BTC", "quote": "USDT",
            "settle": None if spot else "USDT", "type": "spot" if spot else "swap", "spot": spot,
            "swap": not spot, "future": False, "option": False, "contract": not spot,
            "linear": None if spot else True, "inverse": None if spot else False,
            "contractSize": None if spot else 1.0, "precision": {"amount": 1e-8, "price": 0.01},
            "lowercaseId": None, "info": {}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="timed repetitions per parser (default 30)")
    args = parser.parse_args()

    okx_rows, okx_trades, _ = okx_payloads()
    by_kline, by_trades, by_now = bybit_payloads()
    okx, bybit = ccxt.okx(), ccxt.bybit()
    m_okx = market("okx", "BTC-USDT", spot=True)
    m_by, m_by_swap = market("bybit", "BTCUSDT", spot=True), market("bybit", "BTCUSDT", spot=False)
    okx.markets_by_id = {"BTC-USDT": [m_okx]}
    bybit.markets_by_id = {"BTCUSDT": [m_by_swap]}
    spot = {"symbol": "BTC/USDT", "interval": "1m"}

    cases: dict[str, tuple[int, Callable[[], Any]]] = {
        "okx candle tradeflood": (len(okx_rows), lambda: okx_parse.parse_candles(
            okx_rows, native_symbol="BTC-USDT", spot=True, **spot)),
        "okx candle columnar": (len(okx_rows), lambda: candle_columns_okx(
            okx_rows, native_symbol="BTC-USDT", spot=True, **spot)),
        "okx candle ccxt": (len(okx_rows), lambda: okx.parse_ohlcvs(okx_rows, m_okx, "1m")),
        "okx trade tradeflood": (len(okx_trades), lambda: okx_parse.parse_trades(
            okx_trades, symbol="BTC/USDT", native_symbol="BTC-USDT")),
        "okx trade ccxt": (len(okx_trades), lambda: okx.parse_trades(okx_trades, m_okx)),
        "bybit candle tradeflood": (len(by_kline["list"]), lambda: bybit_parse.parse_candles(
            by_kline, native_symbol="BTCUSDT", received_ms=by_now, **spot)),
        "bybit candle columnar": (len(by_kline["list"]), lambda: candle_columns_bybit(
            by_kline, native_symbol="BTCUSDT", received_ms=by_now, **spot)),
        "bybit candle ccxt": (len(by_kline["list"]),
                              lambda: bybit.parse_ohlcvs(by_kline["list"], m_by, "1m")),
        "bybit trade tradeflood": (len(by_trades["list"]), lambda: bybit_parse.parse_trades(
            by_trades, symbol="BTC/USDT:USDT", native_symbol="BTCUSDT")),
        "bybit trade ccxt": (len(by_trades["list"]),
                             lambda: bybit.parse_trades(by_trades["list"], m_by_swap)),
    }

    # Same numbers out of both parsers, or the comparison means nothing.
    for venue in ("okx", "bybit"):
        ours = [(c.open_time, float(c.open), float(c.high), float(c.low), float(c.close))
                for c in cases[f"{venue} candle tradeflood"][1]()]
        theirs = [tuple(r[:5]) for r in cases[f"{venue} candle ccxt"][1]()]
        if ours != theirs:
            print(f"{venue}: TradeFlood and ccxt disagree on the parsed candles", file=sys.stderr)
            return 1
        ours_t = sorted((t.id, t.timestamp, float(t.price), float(t.amount), t.side)
                        for t in cases[f"{venue} trade tradeflood"][1]())
        theirs_t = sorted((t["id"], t["timestamp"], t["price"], t["amount"], t["side"])
                          for t in cases[f"{venue} trade ccxt"][1]())
        if ours_t != theirs_t:
            print(f"{venue}: TradeFlood and ccxt disagree on the parsed trades", file=sys.stderr)
            return 1

    seconds = time_rounds({name: fn for name, (_, fn) in cases.items()}, args.rounds)
    rows = {name: n for name, (n, _) in cases.items()}
    us = {name: 1e6 * min(s) / rows[name] for name, s in seconds.items()}
    median = {name: 1e6 * statistics.median(s) / rows[name] for name, s in seconds.items()}
    print(f"Parse cost per row on OKX and Bybit, payloads from the simulator, best of {args.rounds} rounds "
          f"(median), GC off while timed; Python {sys.version.split()[0]}, ccxt {ccxt.__version__}")
    print(f"CPU: {cpu_model()}")
    print(f"{'venue':<6} {'kind':<7} {'parser':<40} {'us/row':>8} {'(median)':>9} {'vs ccxt':>8}")
    labels = {"tradeflood": "tradeflood -> models (Decimal, checked)",
              "columnar": "columnar -> Arrow (fetch)", "ccxt": "ccxt -> floats"}
    for venue in ("okx", "bybit"):
        for kind in ("candle", "trade"):
            base = us[f"{venue} {kind} ccxt"]
            for parser_, label in labels.items():
                name = f"{venue} {kind} {parser_}"
                if name in us:
                    print(f"{venue:<6} {kind:<7} {label:<40} {us[name]:>8.2f} {f'({median[name]:.2f})':>9} "
                          f"{us[name] / base:>7.2f}x")
    for venue in ("okx", "bybit"):
        for kind in ("candle", "trade"):
            ratio = us[f"{venue} {kind} tradeflood"] / us[f"{venue} {kind} ccxt"]
            print(f"goal ({venue} {kind}): no slower than ccxt: {ratio:.2f}x -> "
                  f"{'met' if ratio <= 1.0 else 'NOT met'}")
    print("Both parsers gave the same times and values (as floats) on every payload.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
