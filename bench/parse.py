"""Parse benchmark: CPU per candle of TradeFlood's candle parsers against ccxt's ``parse_ohlcvs``.

Run from the repo root as ``python bench/parse.py`` (``--rounds N`` to change the repetitions).

The payloads are 1000-row 1m candle pages made by the simulator in process (no
sockets): a Bitget spot ``candles`` reply and a Binance spot ``klines`` reply.
Each parser turns the whole page into its result, ``--rounds`` times,
interleaved with the others, with the garbage collector off while timed; the
best round is reported (the median too), in microseconds per candle.

- TradeFlood: ``parse_candles`` / ``parse_klines``, the functions the Bitget and
  Binance candle bindings call; rows into ``Candle`` models with exact Decimals,
  every value checked. The page is read as columns and the candle rules run over
  them as the models are built (``tradeflood.parsing.candle_models``), so this
  line already holds the cost of the value checks.
- ccxt: ``exchange.parse_ohlcvs(rows, market, "1m")`` (rows into lists of
  floats, then sorted by time and filtered).
- validated Candle: ``Candle(...)`` per row with full pydantic validation (strings
  into Decimals by the model's validators), for context.
- columnar: ``candle_columns_bitget`` / ``candle_columns_binance``, what a fetch now
  parses pages with when pyarrow is installed (rows into an exact Arrow table; models
  are built later only if the result is used as a list). ``bench/columnar.py``
  measures it in more detail, from decoded rows and from the reply's bytes.

Every parser starts from the decoded JSON rows (JSON decoding is not timed), as
ccxt's ``parse_ohlcvs`` does.

- + checks: the same parse followed by what a fetch runs on every reply
  (:func:`tradeflood.checks.checked`: positive prices, ``low <= min(open,
  close) <= max(open, close) <= high``, open times on the grid; vectorised over
  the columns for the columnar parse). A model page the parse checked (a
  ``CheckedCandles``) is taken as it is, so for models this is the whole cost;
  "row checks alone" times the checks on the same models as a plain list (a
  page the parse could not check), for comparison.

A third candle page shows a market whose tick is coarse for its price (a
DOGE/USDT-like spot pair from the simulator: price 0.08, tick 0.00001), whose
pages write the same few price texts over and over, as many real pages do; the
simulator's BTC pages above repeat none. The model parse reads each distinct text
once on such a page (``tradeflood.parsing.exact_reader``).

Trades are measured the same way, per trade: a full recent-trades reply of each
venue (500 Bitget fills, 1000 Binance trades) through TradeFlood's parse, the parse plus the checks (positive
price and amount, each id once), and ccxt's ``parse_trades``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import ccxt
from _common import PAGE_ROWS as ROWS
from _common import cpu_model, payloads

from tradeflood.bindings.binance import candle_columns_binance, parse_klines
from tradeflood.bindings.binance.parse import parse_trades as binance_trades
from tradeflood.bindings.bitget import candle_columns_bitget, parse_candles
from tradeflood.bindings.bitget.parse import parse_trades as bitget_trades
from tradeflood.candles import CandleSeries
from tradeflood.checks import checked
from tradeflood.models import Candle

MINUTE = 60_000


def ccxt_market(exchange: Any) -> dict[str, Any]:
    """A ccxt spot market for BTC/USDT; ``parse_ohlcv`` reads only ``inverse`` from it."""
    return {"id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "type": "spot",
            "spot": True, "swap": False, "future": False, "contract": False, "linear": None,
            "inverse": None}


def trade_payloads() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(Bitget spot fills, Binance spot recent trades) from the simulator: as many as each
    serves in one reply (500 and 1000)."""
    from tradeflood.testing import BinanceVenue, BitgetVenue

    fills = BitgetVenue().handle("GET", "/api/v2/spot/market/fills",
                                 {"symbol": "BTCUSDT", "limit": "1000"}, "127.0.0.1").json()["data"]
    trades = BinanceVenue().handle("GET", "/api/v3/trades", {"symbol": "BTCUSDT", "limit": "1000"},
                                   "127.0.0.1").json()
    if len(fills) != 500 or len(trades) != 1000:
        raise SystemExit(f"expected 500 and 1000 trades, got bitget {len(fills)}, binance {len(trades)}")
    return fills, trades


def coarse_klines() -> tuple[list[list[Any]], int]:
    """A Binance spot 1m klines page (1000 rows) of a DOGE/USDT-like pair from the simulator:
    price 0.08, tick 0.00001, so its bars repeat a few hundred price texts; and when it was made."""
    from decimal import Decimal

    from tradeflood.testing import BinanceVenue, Instrument, Market, default_instruments

    doge = Instrument("DOGE", "USDT", "spot", 5, 0, Decimal("0.08"), 1_546_300_800_000)
    venue = BinanceVenue(market=Market(instruments=[*default_instruments(), doge]))
    now = venue.now_ms()
    end = (now // MINUTE - 2) * MINUTE
    rows = venue.handle("GET", "/api/v3/klines", {"symbol": "DOGEUSDT", "interval": "1m", "limit": str(ROWS),
                                                  "startTime": str(end - ROWS * MINUTE)}, "127.0.0.1").json()
    if len(rows) != ROWS:
        raise SystemExit(f"expected {ROWS} DOGE rows, got {len(rows)}")
    return rows, now


def time_rounds(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each case, ``rounds`` times, the cases interleaved, GC off while timed."""
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm up: imports, caches, specialisation
        fn()
    for _ in range(rounds):
        for name, fn in cases.items():
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                seconds[name].append(time.perf_counter() - t0)
            finally:
                gc.enable()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="timed repetitions per parser (default 30)")
    args = parser.parse_args()

    rows, klines, now = payloads()
    coarse, coarse_now = coarse_klines()
    names_coarse = {"symbol": "DOGE/USDT", "native_symbol": "DOGEUSDT", "interval": "1m",
                    "received_ms": coarse_now}
    bitget, binance = ccxt.bitget(), ccxt.binance()
    market_bg, market_bn = ccxt_market(bitget), ccxt_market(binance)
    # What ccxt's parse_trade reads of a market beyond what parse_ohlcv does.
    trade_market = {"option": False, "margin": True, "settle": None, "precision": {}}
    trade_bg, trade_bn = {**market_bg, **trade_market}, {**market_bn, **trade_market}
    names = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": "1m", "received_ms": now}

    def validated(rows_: list[list[Any]], exchange: str) -> list[Candle]:
        return [Candle(exchange=exchange, symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
                       open_time=int(r[0]), open=r[1], high=r[2], low=r[3], close=r[4], volume=r[5],
                       quote_volume=r[7], closed=True) for r in rows_]

    def check(venue: str, items: Any) -> Any:
        return checked(items, venue=venue, endpoint="bench", interval="1m")[0]

    # Parsed once, so the checks alone can be timed too (the difference of two noisy timings
    # is not a measure on a loaded machine).
    parsed_models = parse_klines(klines, **names)
    parsed_table = CandleSeries.from_table(candle_columns_binance(klines, **names))
    cases: dict[str, Callable[[], object]] = {
        "bitget tradeflood": lambda: parse_candles(rows, spot=True, **names),
        "bitget tradeflood + checks": lambda: check("bitget", parse_candles(rows, spot=True, **names)),
        "bitget columnar + checks": lambda: check("bitget", CandleSeries.from_table(
            candle_columns_bitget(rows, spot=True, **names))),
        "binance tradeflood + checks": lambda: check("binance", parse_klines(klines, **names)),
        "binance checks alone": lambda: check("binance", list(parsed_models)),
        "binance checks alone (columns)": lambda: check("binance", parsed_table),
        "binance columnar + checks": lambda: check("binance", CandleSeries.from_table(
            candle_columns_binance(klines, **names))),
        "bitget ccxt": lambda: bitget.parse_ohlcvs(rows, market_bg, "1m"),
        "bitget validated Candle": lambda: validated(rows, "bitget"),
        "bitget columnar": lambda: candle_columns_bitget(rows, spot=True, **names),
        "binance tradeflood": lambda: parse_klines(klines, **names),
        "binance ccxt": lambda: binance.parse_ohlcvs(klines, market_bn, "1m"),
        "binance validated Candle": lambda: validated(klines, "binance"),
        "binance columnar": lambda: candle_columns_binance(klines, **names),
        "coarse tradeflood": lambda: parse_klines(coarse, **names_coarse),
        "coarse ccxt": lambda: binance.parse_ohlcvs(coarse, market_bn, "1m"),
    }

    # Same numbers out of both parsers, or the comparison means nothing.
    for venue, ours, theirs in (("bitget", cases["bitget tradeflood"], cases["bitget ccxt"]),
                                ("binance", cases["binance tradeflood"], cases["binance ccxt"]),
                                ("coarse", cases["coarse tradeflood"], cases["coarse ccxt"])):
        a = [(c.open_time, float(c.open), float(c.high), float(c.low), float(c.close), float(c.volume))
             for c in ours()]  # type: ignore[attr-defined]
        b = [tuple(r) for r in theirs()]  # type: ignore[attr-defined]
        if a != b:
            print(f"{venue}: TradeFlood and ccxt disagree on the parsed values", file=sys.stderr)
            return 1

    fills, recent = trade_payloads()
    names_t = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT"}
    parsed_trades = binance_trades(recent, **names_t)
    trade_cases: dict[str, Callable[[], object]] = {
        "bitget tradeflood": lambda: bitget_trades(fills, **names_t),
        "bitget tradeflood + checks": lambda: check("bitget", bitget_trades(fills, **names_t)),
        "bitget ccxt": lambda: bitget.parse_trades(fills, trade_bg),
        "binance tradeflood": lambda: binance_trades(recent, **names_t),
        "binance tradeflood + checks": lambda: check("binance", binance_trades(recent, **names_t)),
        "binance ccxt": lambda: binance.parse_trades(recent, trade_bn),
        "binance checks alone": lambda: check("binance", parsed_trades),
    }

    seconds = time_rounds(cases, args.rounds)
    us = {name: 1e6 * min(s) / ROWS for name, s in seconds.items()}
    median = {name: 1e6 * statistics.median(s) / ROWS for name, s in seconds.items()}
    trade_seconds = time_rounds(trade_cases, args.rounds)
    count = {"bitget": len(fills), "binance": len(recent)}
    us_t = {name: 1e6 * min(s) / count[name.split()[0]] for name, s in trade_seconds.items()}
    median_t = {name: 1e6 * statistics.median(s) / count[name.split()[0]]
                for name, s in trade_seconds.items()}

    print(f"Parse cost per candle: {ROWS}-row 1m spot payloads from the simulator, best of "
          f"{args.rounds} rounds (median), GC off while timed; Python {sys.version.split()[0]}, "
          f"ccxt {ccxt.__version__}")
    print(f"CPU: {cpu_model()}")
    print(f"{'venue':<8} {'parser':<38} {'us/candle':>10} {'(median)':>9} {'vs ccxt':>8}")
    labels = {
        "tradeflood": "tradeflood parse -> Candle (Decimal)",
        "tradeflood + checks": "  the same + value checks",
        "ccxt": "ccxt parse_ohlcvs -> [float]",
        "validated Candle": "Candle(...) validated per row",
        "columnar": "columnar -> Arrow decimal128 (fetch)",
        "columnar + checks": "  the same + value checks (columns)",
    }
    for venue in ("bitget", "binance"):
        base = us[f"{venue} ccxt"]
        for kind, label in labels.items():
            name = f"{venue} {kind}"
            print(f"{venue:<8} {label:<38} {us[name]:>10.2f} {f'({median[name]:.2f})':>9} "
                  f"{us[name] / base:>7.2f}x")
    distinct = len({text for row in coarse for text in row[2:5]})
    print(f"binance  coarse tick page (DOGE/USDT-like, {distinct} distinct high/low/close texts in "
          f"{3 * ROWS}): tradeflood + checks {us['coarse tradeflood']:.2f} "
          f"({median['coarse tradeflood']:.2f}) us/candle, ccxt {us['coarse ccxt']:.2f} "
          f"({median['coarse ccxt']:.2f}): {us['coarse tradeflood'] / us['coarse ccxt']:.2f}x")
    print(f"\nParse cost per trade: spot recent-trades replies from the simulator ({len(fills)} Bitget, "
          f"{len(recent)} Binance trades)")
    print(f"{'venue':<8} {'parser':<38} {'us/trade':>10} {'(median)':>9} {'vs ccxt':>8}")
    trade_labels = {"tradeflood": "tradeflood parse -> Trade (Decimal)",
                    "tradeflood + checks": "  the same + value checks",
                    "ccxt": "ccxt parse_trades -> dict"}
    for venue in ("bitget", "binance"):
        base = us_t[f"{venue} ccxt"]
        for kind, label in trade_labels.items():
            name = f"{venue} {kind}"
            print(f"{venue:<8} {label:<38} {us_t[name]:>10.2f} {f'({median_t[name]:.2f})':>9} "
                  f"{us_t[name] / base:>7.2f}x")
    print(f"\nThe value checks alone, on an already parsed Binance page: "
          f"{us['binance checks alone']:.3f} us/candle (row checks on models), "
          f"{us['binance checks alone (columns)']:.3f} us/candle (columns), "
          f"{us_t['binance checks alone']:.3f} us/trade; "
          f"ccxt's whole parse {us['binance ccxt']:.2f} us/candle, {us_t['binance ccxt']:.2f} us/trade")
    print()
    for venue in ("bitget", "binance"):
        for kind, what in (("tradeflood", "model parse"), ("tradeflood + checks", "model parse + checks")):
            ratio = us[f"{venue} {kind}"] / us[f"{venue} ccxt"]
            verdict = "met" if ratio <= 1.0 else "NOT met"
            print(f"goal ({venue}): TradeFlood {what} no higher than ccxt: {ratio:.2f}x -> {verdict}")
        ratio = us[f"{venue} columnar + checks"] / us[f"{venue} ccxt"]
        print(f"      ({venue}): columnar parse + checks (what fetch uses) {ratio:.2f}x ccxt")
        ratio_t = us_t[f"{venue} tradeflood + checks"] / us_t[f"{venue} ccxt"]
        print(f"      ({venue}): trade parse + checks {ratio_t:.2f}x ccxt")
    print("Both parsers gave the same open times and values (as floats) on both payloads.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
