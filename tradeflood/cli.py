"""The ``tradeflood`` command: fetch, stream, plan, store, venues, proxyter, and an offline demo.

    tradeflood venues
    tradeflood fetch candle --exchange VENUE --symbol BTC/USDT --interval 1h --start 2024-01-01 \\
        --end 2024-01-02 -o candles.csv
    tradeflood plan candle --exchange VENUE --symbol BTC/USDT --interval 1m --start -30d
    tradeflood stream trades --exchange VENUE --symbol BTC/USDT --count 10
    tradeflood store info
    tradeflood store verify [--fix]
    tradeflood demo
    tradeflood record trades --exchange VENUE --symbol BTC/USDT --out data/ --duration 1h
    tradeflood replay data/ --model trade --exchange VENUE --symbol BTC/USDT --speed max

Errors print one line and exit with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from . import registry
from .errors import TradeFloodError
from .output import check_writable, write_file, write_stream
from .progress import ProgressLine
from .session import Session
from .timeparse import RELATIVE

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])
MODELS = {"candle": "Candle", "book": "OrderBook", "trades": "Trade", "ticker": "Ticker",
          "instruments": "Instrument", "funding-rate": "FundingRate", "open-interest": "OpenInterest",
          "markcandle": "MarkCandle", "indexcandle": "IndexCandle",
          "mark-candle": "MarkCandle", "index-candle": "IndexCandle"}  # the server's names too


def _model(name: str) -> type[Any]:
    import tradeflood.models as models

    return getattr(models, {**MODELS, **STREAMED}[name])  # type: ignore[no-any-return]


def _urls(pairs: Sequence[str]) -> dict[str, dict[str, str]]:
    urls: dict[str, dict[str, str]] = {}
    for pair in pairs:
        name, eq, url = pair.partition("=")
        if not eq:
            raise click.BadParameter(f"{pair!r}: expected VENUE=URL, e.g. {_a_venue()}=http://127.0.0.1:9000",
                                     param_hint="--url")
        venue, _, api = name.partition(".")  # VENUE=... is the REST URL; VENUE.ws=... another one
        urls.setdefault(venue, {})[api or "rest"] = url
    return urls


def _a_venue() -> str:
    return next(iter(registry.venues()), "venue")


class VenueOption(click.Option):
    """``--exchange``: its help names the venues registered (built-in and plugins) when shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = f"Venue: {', '.join(registry.venues())} (see `tradeflood venues`)."
        return super().get_help_record(ctx)


URL_HELP = ("Override a venue's base URL (repeatable): VENUE=URL for REST, VENUE.ws=URL for its "
            "WebSocket, VENUE.API=URL for another API (e.g. VENUE.rest.futures=URL).")


def query_options(fn: F) -> F:
    """The options every command that names a query shares."""
    options = [
        click.argument("model", type=click.Choice(list(MODELS))),
        click.option("--exchange", required=True, cls=VenueOption),
        click.option("--symbol", help="Unified symbol: BTC/USDT spot, BTC/USDT:USDT perpetual."),
        click.option("--interval", help="Candle interval: 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M "
                     "(also the period of an open-interest history)."),
        click.option("--start", help="ISO time with a timezone, a date, ms, or relative like -7d."),
        click.option("--end", help="As --start; default now."),
        click.option("--depth", type=int, help="Order book depth."),
        click.option("--limit", type=int, help="How many (latest candles or history rows, recent trades)."),
        click.option("--url", "urls", multiple=True, metavar="VENUE[.API]=URL", help=URL_HELP),
        click.option("--no-store", is_flag=True, help="Bypass the on-disk candle store."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _session(urls: Sequence[str], no_store: bool, progress: Any = None) -> Session:
    return Session(urls=_urls(urls), store=not no_store, progress=progress)


def _params(kw: dict[str, Any]) -> dict[str, Any]:
    names = ("exchange", "symbol", "interval", "start", "end", "depth", "limit")
    return {k: kw[k] for k in names if kw.get(k) is not None}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Market data from trading venues: candles, books, trades, tickers, instruments."""
    ctx.obj = {"debug": debug}


@cli.command()
@query_options
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              help="Format on standard output.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to a file instead: .csv, .jsonl or .parquet (needs pyarrow).")
@click.option("--iso-times", "iso", is_flag=True,
              help="Add an ISO-8601 UTC column after each millisecond time (open_time_iso, ...).")
@click.option("--invalid", type=click.Choice(["raise", "drop"]), default="raise",
              help="Rows failing the value checks: fail (raise), or leave them out and report them (drop).")
def fetch(model: str, fmt: str, output: Path | None, iso: bool, urls: Sequence[str], no_store: bool,
          invalid: str, **kw: Any) -> None:
    """Fetch data and print it (CSV or JSON lines) or write it to a file."""
    if output is not None:
        check_writable(output)
    with _session(urls, no_store, ProgressLine(sys.stderr)) as session:
        result = session.fetch(_model(model), invalid=invalid, **_params(kw))
    if result is None:  # --invalid drop refused the one result (a book, a ticker)
        click.echo("no result: the venue's answer failed a value check and was dropped", err=True)
        return
    rows = result if isinstance(result, Sequence) else [result]  # many models, or one
    if output is not None:
        write_file(rows, output, iso=iso)
        click.echo(f"wrote {len(rows)} rows to {output}", err=True)
    else:
        write_stream(rows, sys.stdout, fmt, iso=iso)
    for gap in getattr(result, "gaps", ()):
        click.echo(f"gap: {gap}", err=True)
    if getattr(result, "dropped", 0):
        click.echo(f"dropped {result.dropped} invalid rows", err=True)


STREAMED = {"candle": "Candle", "book": "OrderBook", "trades": "Trade", "ticker": "Ticker",
            "liquidations": "Liquidation", "funding-rate": "FundingRate", "open-interest": "OpenInterest",
            "markcandle": "MarkCandle", "indexcandle": "IndexCandle",
            "mark-candle": "MarkCandle", "index-candle": "IndexCandle"}


@cli.command()
@click.argument("model", type=click.Choice(list(STREAMED)))
@click.option("--exchange", required=True, cls=VenueOption)
@click.option("--symbol", required=True, help="Unified symbol: BTC/USDT spot, BTC/USDT:USDT perpetual.")
@click.option("--interval", help="Candle interval, e.g. 1m.")
@click.option("--depth", type=int, help="Order book depth to print.")
@click.option("--throttle", type=float, help="At most one value per this many seconds.")
@click.option("--partial", is_flag=True, help="Candles: also print the forming candle's updates.")
@click.option("--poll", type=float, help="Poll over REST every this many seconds instead of streaming.")
@click.option("--count", type=int, help="Stop after this many items.")
@click.option("--iso-times", "iso", is_flag=True,
              help="Add an ISO-8601 UTC field after each millisecond time (timestamp_iso, ...).")
@click.option("--url", "urls", multiple=True, metavar="VENUE[.API]=URL", help=URL_HELP)
def stream(model: str, count: int | None, iso: bool, urls: Sequence[str], **kw: Any) -> None:
    """Print live updates as JSON lines until interrupted (events go to standard error)."""
    import tradeflood

    params = {k: v for k, v in kw.items() if v not in (None, False)}
    printed = 0
    with Session(urls=_urls(urls), store=False) as session:
        try:
            for item in tradeflood.stream(_model(model), session=session, on_event=_echo_event, **params):
                write_stream([item], sys.stdout, "jsonl", iso=iso)
                sys.stdout.flush()
                printed += 1
                if count is not None and printed >= count:
                    break
        except KeyboardInterrupt:
            click.echo(f"stopped after {printed} items", err=True)


def _echo_event(event: Any) -> None:
    """A stream event (gap, reconnection, resync) as one line on standard error."""
    click.echo(f"# {type(event).__name__}: {event}", err=True)


@cli.command()
@query_options
def plan(model: str, urls: Sequence[str], no_store: bool, **kw: Any) -> None:
    """Explain a fetch without running it: requests, savings, weight, estimated time."""
    with _session(urls, no_store) as session:
        click.echo(session.plan(session.query(_model(model), **_params(kw))).explain())


@cli.command()
@click.option("--markdown", is_flag=True,
              help="Print the table of venues by kind of data and transport (the README's).")
def venues(markdown: bool) -> None:
    """List venues with the models they fetch and stream, candle intervals and rate limits."""
    from .candles import CandleBinding

    if markdown:
        from .catalog import markdown_table

        click.echo(markdown_table(), nl=False)
        return
    fetched, streamed = registry.bindings_for(), registry.stream_bindings_for()
    for venue in registry.venues():
        click.echo(f"{venue}:")
        for role, table in (("fetch", fetched), ("stream", streamed)):
            names = sorted(model.__name__ for model, v in table if v == venue)
            if names:
                click.echo(f"  {role}: {', '.join(names)}")
        bindings = [b for (_, v), b in fetched.items() if v == venue]
        for binding in bindings:
            if issubclass(binding, CandleBinding):
                which = "" if binding.model.__name__ == "Candle" else f" ({binding.model.__name__})"
                click.echo(f"  intervals{which}: {' '.join(binding.intervals)}")
        streams = [b for (_, v), b in streamed.items() if v == venue]
        connector = (bindings[0] if bindings else streams[0]).connector
        if connector.limits:
            click.echo("  limits: " + ", ".join(f"{g} {lim.count}/{lim.per:g}s"
                                                for g, lim in connector.limits.items()))


@cli.group()
def store() -> None:
    """The on-disk candle store ($TRADEFLOOD_STORE, else the user's cache folder)."""


@store.command("info")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Another store file.")
def store_info(path: Path | None) -> None:
    """Where the store is, its size, and the series it holds."""
    from .store import CandleStore, default_store_path, format_store_info

    with CandleStore(path or default_store_path()) as s:
        click.echo(format_store_info(s.info()))


@store.command("verify")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Another store file.")
@click.option("--fix", is_flag=True, help="Remove the rows that fail, so their times are fetched again.")
def store_verify(path: Path | None, fix: bool) -> None:
    """Re-check the stored rows (an older version stored them unchecked).

    Lists each row of every series (candles, funding rates, open interest, mark
    and index bars) that fails the value checks (a high below the low, a price
    not positive, an open time off the grid, a funding rate of 100% or more, a
    negative open interest); with --fix removes them and marks their times as
    not known, so the next fetch asks the venue again. Exits 1 when bad rows
    remain.
    """
    from .store import CandleStore, default_store_path, verify_store

    target = path or default_store_path()
    if not target.exists():
        click.echo(f"no store at {target}; nothing to verify")
        return
    with CandleStore(target) as s:
        report = verify_store(s, fix=fix)
    click.echo(str(report))
    if report.bad and not fix:
        click.echo("run 'tradeflood store verify --fix' to remove them", err=True)
        raise SystemExit(1)


@store.command("clear")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Another store file.")
@click.option("--exchange", help="Only this venue.")
@click.option("--symbol", help="Only this symbol.")
@click.option("--interval", help="Only this interval, or kind of rows (FundingRate, Trade...).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True,
              help="Also delete a file that cannot be read as a store (damaged, or not a store at all).")
def store_clear(path: Path | None, exchange: str | None, symbol: str | None, interval: str | None,
                yes: bool, force: bool) -> None:
    """Delete stored candles and other rows (all, or one venue, symbol, interval or kind).

    A file that cannot be read as a TradeFlood store (damaged, or some other file
    the path happens to name) is never deleted unless ``--force`` is given, and
    then only as a whole (with its -wal and -shm files), named before it goes.
    """
    from .store import CandleStore, StoreCorruptError, default_store_path

    target = path or default_store_path()
    if not target.exists():
        click.echo(f"no store at {target}; nothing to delete")
        return
    try:
        store = CandleStore(target)
    except StoreCorruptError as exc:
        if not force or exchange or symbol or interval:
            raise TradeFloodError(f"{exc}; nothing was deleted. To delete the file {target} itself, "
                                  "run 'tradeflood store clear --force' (without filters)") from None
        doomed = [p for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")) if p.exists()]
        names = ", ".join(str(p) for p in doomed)
        if not yes:
            click.confirm(f"{target} is not a readable TradeFlood store. Delete {names}?", abort=True)
        for leftover in doomed:
            leftover.unlink(missing_ok=True)
        click.echo(f"removed {names}")
        return
    with store:
        which = " ".join(f"{k}={v}" for k, v in (("exchange", exchange), ("symbol", symbol),
                                                  ("interval", interval)) if v) or "all series"
        if not yes:
            click.confirm(f"Delete the stored rows ({which}) in {target}?", abort=True)
        click.echo(f"deleted {store.clear(exchange, symbol, interval)} rows")


@cli.command()
def demo() -> None:
    """An offline end-to-end run against the built-in simulator."""
    from .testing.demo import run_demo

    sys.exit(run_demo(sys.stdout))


@cli.command()
@click.option("--config", "config", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Proxyter's TOML file: pools, route, limits (see tradeflood.proxy.proxyter).")
@click.option("--listen", help="host:port to accept clients on; overrides the file's 'listen'.")
def proxyter(config: Path, listen: str | None) -> None:
    """Run Proxyter: a forward proxy that sends each request through the file's proxy pools."""
    from .proxy.proxyter import serve

    serve(config, listen, echo=click.echo)


from tradeflood.server._cli import serve  # noqa: E402 (the server registers its own command)

cli.add_command(serve)

# import cycle: the bus's commands reuse this module's option helpers and join its groups.
from .bus._cli import bus, gather, store_sync  # noqa: E402

cli.add_command(gather)
cli.add_command(bus)
store.add_command(store_sync)

def _add_recording_commands() -> None:
    # import cycle: the recording commands reuse this module's helpers; zstandard loads when they run.
    from .recording._cli import record, replay

    cli.add_command(record)
    cli.add_command(replay)


_add_recording_commands()


def _join_relative_times(argv: Sequence[str]) -> list[str]:
    # "--start -7d" would read as an option named -7d; join it into "--start=-7d".
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in ("--start", "--end") and RELATIVE.match(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status: 0 ok, 1 a question left unanswered,
    2 bad input or a failed fetch, 130 interrupted (Ctrl-C: one line on standard error,
    the pages fetched whole kept in the store)."""
    args = _join_relative_times(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    warnings = _WarningLines()
    log = logging.getLogger("tradeflood")
    log.addHandler(warnings)
    try:
        # Not cli.main(): it prints a blank line of its own on Ctrl-C before anything we say.
        with cli.make_context("tradeflood", list(args)) as ctx:
            cli.invoke(ctx)
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except KeyboardInterrupt:
        if sys.stderr.isatty():
            click.echo(err=True)  # end the terminal's "^C"
        click.echo("aborted (interrupted)", err=True)
        return 130  # 128 + SIGINT, as shells report a command Ctrl-C stopped
    except click.exceptions.Abort:  # a prompt's answer never came (end of input)
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return 2
    except (TradeFloodError, ValueError, OSError) as exc:
        if debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        click.echo(f"error: {message}", err=True)
        return 2
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        log.removeHandler(warnings)
    return 0


class _WarningLines(logging.Handler):
    """The library's warnings (a store that is off, ...) as one ``warning:`` line each on stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        click.echo(f"warning: {text.splitlines()[0] if text else record.levelname}", err=True)


if __name__ == "__main__":
    sys.exit(main())
