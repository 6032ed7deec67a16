"""The ``tradeflood`` command: fetch, plan, venues, and an offline demo.

    tradeflood fetch candle --exchange bitget --symbol BTC/USDT --interval 1h \\
        --start 2024-01-01 --end 2024-01-02 > candles.csv
    tradeflood plan candle --exchange binance --symbol BTC/USDT --interval 1m --start -30d
    tradeflood demo

Errors print one line and exit with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from . import registry
from .errors import TradeFloodError
from .output import write_csv, write_jsonl
from .session import Session
from .timeparse import RELATIVE as _RELATIVE

__all__ = ["main"]

MODELS = {"candle": "Candle", "book": "OrderBook", "trades": "Trade", "ticker": "Ticker",
          "instruments": "Instrument"}


def _model(name: str) -> type[Any]:
    import tradeflood.models as models

    try:
        return getattr(models, MODELS[name])  # type: ignore[no-any-return]
    except KeyError:
        raise TradeFloodError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None


def _urls(pairs: Sequence[str]) -> dict[str, dict[str, str]]:
    urls: dict[str, dict[str, str]] = {}
    for pair in pairs:
        venue, eq, url = pair.partition("=")
        if not eq:
            raise TradeFloodError(f"--url {pair!r}: expected VENUE=URL, e.g. bitget=http://127.0.0.1:9000")
        urls.setdefault(venue, {})["rest"] = url
    return urls


def _query_params(args: argparse.Namespace) -> dict[str, Any]:
    names = ("exchange", "symbol", "interval", "start", "end", "depth", "limit")
    params = {k: getattr(args, k) for k in names}
    return {k: v for k, v in params.items() if v is not None}


def _progress(stream: TextIO) -> Callable[[int, int], None] | None:
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        stream.write(f"\r{done}/{total} requests")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def cmd_fetch(args: argparse.Namespace) -> int:
    model = _model(args.model)
    with Session(urls=_urls(args.url), progress=_progress(sys.stderr)) as session:
        result = session.fetch(model, **_query_params(args))
    rows = result if isinstance(result, list) else [result]
    (write_jsonl if args.format == "jsonl" else write_csv)(rows, sys.stdout)
    for gap in getattr(result, "gaps", ()):
        print(f"gap: {gap}", file=sys.stderr)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    model = _model(args.model)
    with Session(urls=_urls(args.url)) as session:
        print(session.plan(session.query(model, **_query_params(args))).explain())
    return 0


def cmd_venues(args: argparse.Namespace) -> int:
    from .candles import CandleBinding

    for venue, models in registry.venues().items():
        print(f"{venue}: {', '.join(models)}")
        for (_, v), binding in registry.bindings_for().items():
            if v == venue and issubclass(binding, CandleBinding):
                print(f"  intervals: {' '.join(binding.intervals)}")
            if v == venue and binding.model.__name__ == "Candle":
                limits = binding.connector.limits
                shown = ", ".join(f"{g} {lim.count}/{lim.per:g}s" for g, lim in limits.items())
                print(f"  limits: {shown}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradeflood", description="Market data from trading venues.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    def query_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("model", choices=list(MODELS), help="what to fetch")
        p.add_argument("--exchange", required=True, help="venue, e.g. bitget or binance")
        p.add_argument("--symbol", help="unified symbol: BTC/USDT spot, BTC/USDT:USDT perpetual")
        p.add_argument("--interval", help="candle interval: 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M")
        p.add_argument("--start", help="ISO time with timezone, date, ms, or relative like -7d")
        p.add_argument("--end", help="as --start; default now")
        p.add_argument("--depth", type=int, help="order book depth")
        p.add_argument("--limit", type=int, help="how many (latest candles, recent trades)")
        p.add_argument("--url", action="append", default=[], metavar="VENUE=URL",
                       help="override a venue's REST base URL (repeatable)")

    fetch = sub.add_parser("fetch", help="fetch data and print it as CSV or JSON lines")
    query_args(fetch)
    fetch.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    fetch.set_defaults(run=cmd_fetch)
    plan = sub.add_parser("plan", help="explain a fetch without running it")
    query_args(plan)
    plan.set_defaults(run=cmd_plan)
    sub.add_parser("venues", help="venues, models, intervals and rate limits").set_defaults(run=cmd_venues)
    sub.add_parser("demo", help="an offline end-to-end run against the built-in simulator").set_defaults(
        run=cmd_demo)
    return parser


def _join_relative_times(argv: Sequence[str]) -> list[str]:
    # "--start -7d" would read as an option named -7d; join it into "--start=-7d".
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in ("--start", "--end") and _RELATIVE.match(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_join_relative_times(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.run(args))
    except (TradeFloodError, ValueError) as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
