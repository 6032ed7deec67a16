"""``tradeflood record`` and ``tradeflood replay``.

::

    tradeflood record trade --exchange VENUE --symbol BTC/USDT --out data/ --duration 1h
    tradeflood record --config record.toml --out data/
    tradeflood replay data/ --model trade --exchange VENUE --symbol BTC/USDT --speed max --format jsonl

A record configuration file lists the streams to keep::

    duration = "1h"                       # optional; default: until interrupted
    [urls.VENUE]                          # optional base-URL overrides, as Session(urls=...)
    rest = "http://127.0.0.1:9000"
    [[stream]]
    model = "trade"                       # trade, book, candle, ticker
    exchange = "VENUE"
    symbol = "BTC/USDT"
"""

from __future__ import annotations

import asyncio
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from tradeflood.errors import ConfigError

__all__ = ["record", "replay"]

MODELS = {"trade": "Trade", "trades": "Trade", "book": "OrderBook", "candle": "Candle", "ticker": "Ticker"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``1h`` or ``2d``."""
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(f"duration {text!r}: expected a number of seconds or e.g. 90s, 30m, 1h, 2d")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


def _model(name: str) -> type[Any]:
    import tradeflood.models as models

    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; record and replay: {', '.join(sorted(MODELS))}")
    return getattr(models, MODELS[name])  # type: ignore[no-any-return]


def _urls(pairs: Sequence[str]) -> dict[str, dict[str, str]]:
    from tradeflood.cli import _urls as parse

    return parse(pairs)


def _stream_params(entry: dict[str, Any]) -> tuple[type[Any], dict[str, Any]]:
    entry = dict(entry)
    model = _model(str(entry.pop("model", "")))
    params = {k: v for k, v in entry.items() if v not in (None, False)}
    if "exchange" not in params or "symbol" not in params:
        raise ConfigError(f"a stream needs an exchange and a symbol: {entry}")
    return model, params


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data.get("stream"), list) or not data["stream"]:
        raise ConfigError(f"{path}: list the streams to record as [[stream]] tables")
    return data


@click.command()
@click.argument("model", required=False, type=click.Choice(sorted(MODELS)))
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="A TOML file of streams.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The recording directory (created if missing).")
@click.option("--exchange", help="Venue of the one stream to record (without --config).")
@click.option("--symbol", help="Unified symbol of that stream.")
@click.option("--interval", help="Candle interval, e.g. 1m.")
@click.option("--depth", type=int, help="Order book depth.")
@click.option("--duration", help="Stop after this long (90s, 30m, 1h); default: until interrupted.")
@click.option("--url", "urls", multiple=True, metavar="VENUE[.API]=URL", help="Override a base URL.")
def record(model: str | None, config: Path | None, out: Path, exchange: str | None, symbol: str | None,
           interval: str | None, depth: int | None, duration: str | None, urls: Sequence[str]) -> None:
    """Record live streams (every frame and REST reply, as received) into a directory."""
    data: dict[str, Any] = _read_config(config) if config is not None else {}
    entries = list(data.get("stream", []))
    if model is not None:
        entries.append({"model": model, "exchange": exchange, "symbol": symbol, "interval": interval,
                        "depth": depth})
    if not entries:
        raise click.UsageError("name a stream (MODEL --exchange --symbol) or give --config")
    streams = [_stream_params(e) for e in entries]
    url_map = {**data.get("urls", {}), **_urls(urls)}
    seconds = parse_duration(duration or data["duration"]) if (duration or data.get("duration")) else None
    counts = asyncio.run(_record(out, streams, url_map, seconds))
    for (m, params), n in zip(streams, counts, strict=True):
        click.echo(f"{m.__name__} {params['exchange']} {params['symbol']}: {n} items", err=True)
    click.echo(f"recorded into {out}", err=True)


async def _record(out: Path, streams: list[tuple[type[Any], dict[str, Any]]], urls: dict[str, Any],
                  seconds: float | None) -> list[int]:
    import tradeflood

    counts = [0] * len(streams)

    def counter(i: int) -> Any:
        def count(item: Any) -> None:
            counts[i] += 1
        return count

    async with tradeflood.Session(record=out, urls=urls, store=False) as s:
        subs = [s.subscribe(model, counter(i), **params) for i, (model, params) in enumerate(streams)]
        for sub in subs:
            await sub.ready()
        try:
            if seconds is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(seconds)
        except (KeyboardInterrupt, asyncio.CancelledError):
            pass
        for sub in subs:
            await sub.close()
    return counts


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--model", required=True, type=click.Choice(sorted(MODELS)))
@click.option("--exchange", required=True)
@click.option("--symbol", required=True)
@click.option("--interval", help="Candle interval, e.g. 1m.")
@click.option("--depth", type=int, help="Order book depth.")
@click.option("--speed", default="max", show_default=True, help="1 (real time), 10, ... or max.")
@click.option("--start", help="Begin at this time (ISO with a timezone, or ms).")
@click.option("--count", type=int, help="Stop after this many items.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--iso-times", "iso", is_flag=True, help="Add ISO-8601 fields after millisecond times.")
@click.option("--publish", metavar="REDIS_URL",
              help="Publish into the bus at this Redis URL instead of printing (as a gatherer would).")
@click.option("--tenant", default="replay", show_default=True, help="With --publish: the bus tenant.")
def replay(directory: Path, model: str, speed: str, start: str | None, count: int | None, fmt: str,
           iso: bool, publish: str | None, tenant: str, **params: Any) -> None:
    """Replay a recording through the live code; print the models (events go to standard error),
    or with --publish feed them into the bus, where consumers read recorded days."""
    from tradeflood.output import write_stream

    if publish is not None:
        from ._publish import publish_replay

        chosen = {k: v for k, v in params.items() if v is not None}
        pace: float | str = speed if speed == "max" else float(speed)
        published = asyncio.run(publish_replay(directory, _model(model), chosen, url=publish, tenant=tenant,
                                               speed=pace, start=start))
        click.echo(f"published {published} entries into the bus under tenant {tenant!r}", err=True)
        return

    problems = asyncio.run(_replay(directory, _model(model), speed, start, count, fmt, iso,
                                   {k: v for k, v in params.items() if v is not None}, write_stream))
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        sys.exit(1)


async def _replay(directory: Path, model: type[Any], speed: str, start: str | None, count: int | None,
                  fmt: str, iso: bool, params: dict[str, Any], write: Any) -> list[str]:
    import tradeflood

    def echo_event(event: Any) -> None:
        click.echo(f"# {type(event).__name__}: {event}", err=True)

    rows: list[Any] = []
    printed = 0
    pace: float | str = speed if speed == "max" else float(speed)
    async with tradeflood.Session(replay=directory, speed=pace, start=start) as s:
        async for item in s.stream(model, on_event=echo_event, **params):
            printed += 1
            if fmt == "csv":
                rows.append(item)  # one header for the whole output
            else:
                write([item], sys.stdout, fmt, iso=iso)
            if count is not None and printed >= count:
                break
        if rows:
            write(rows, sys.stdout, fmt, iso=iso)
        sys.stdout.flush()
        assert s._recording is not None and s._recording.replayer is not None
        return list(s._recording.replayer.problems)
