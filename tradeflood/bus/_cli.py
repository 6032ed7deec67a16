"""The bus's commands: ``tradeflood gather``, ``tradeflood bus tail|status``, ``tradeflood store sync``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

__all__ = ["bus", "gather", "store_sync"]

_DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


F = TypeVar("F", bound=Callable[..., Any])


def _redis_option(required: bool = False) -> Callable[[F], F]:
    return click.option("--redis", "redis_url", required=required,
                        default=None if required else os.environ.get("TRADEFLOOD_REDIS", _DEFAULT_REDIS),
                        show_default=not required, help="The bus: redis://HOST:PORT/DB.")


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


async def _until_signalled(main: asyncio.Future[Any], stop: Callable[[], None] | None = None) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop or main.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await main


@click.command()
@click.option("--redis", "redis_url", help="The bus: redis://HOST:PORT/DB. Without it, an in-process bus "
              "whose entries are printed as JSON lines.")
@click.option("--agent", default="gatherer", show_default=True, help="Agent id: its configuration is "
              "stream.config.AGENT, shared by every process started with it.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A configuration file (without --redis; re-read when it changes).")
@click.option("--egress-ip", help="Local address to send REST requests and open WebSockets from; names "
              "the shared rate limits' egress (default: one egress for every process on the bus).")
@click.option("--no-shared-limits", is_flag=True, help="Keep rate limits in this process only.")
@click.option("--lease-ms", type=int, default=2500, show_default=True, help="Topic lease lifetime.")
@click.option("--config-poll", type=float, default=0.5, show_default=True,
              help="Seconds between looks at the configuration (at least 5 with keyspace notifications).")
@click.option("--url", "urls", multiple=True, metavar="VENUE[.API]=URL", help="Override a base URL.")
@click.option("--speed", type=float, hidden=True, help="Testing: run the clock this many times faster...")
@click.option("--origin", type=float, hidden=True, help="...from this real UNIX time.")
def gather(redis_url: str | None, agent: str, config_file: Path | None, egress_ip: str | None,
           no_shared_limits: bool, lease_ms: int, config_poll: float, urls: tuple[str, ...],
           speed: float | None, origin: float | None) -> None:
    """Gather the topics of an agent's configuration and publish them on the bus."""
    from tradeflood.cli import _urls

    if redis_url is None and config_file is None:
        raise click.UsageError("give --redis URL (configuration in stream.config.AGENT) or --config FILE")
    _logging()
    asyncio.run(_gather(redis_url, agent, config_file, egress_ip, not no_shared_limits, lease_ms,
                        config_poll, _urls(urls), speed, origin))


async def _gather(redis_url: str | None, agent: str, config_file: Path | None, egress_ip: str | None,
                  shared: bool, lease_ms: int, config_poll: float, urls: dict[str, dict[str, str]],
                  speed: float | None, origin: float | None) -> None:
    import httpx

    from tradeflood.clock import Clock, LiveClock, ScaledClock
    from tradeflood.session import Session
    from tradeflood.streams import StreamSettings

    from ._backend import MemoryBus, connect
    from ._gatherer import Gatherer
    from ._limits import SharedRateLimits

    clock: Clock = LiveClock()
    if speed:
        start = origin if origin is not None else time.time()
        clock = ScaledClock(speed, start=start + (time.time() - start) * speed)
    bus = connect(redis_url)
    if isinstance(bus, MemoryBus):
        assert config_file is not None
        bus.on_entry = _print_entry
    limits = None
    if redis_url and shared:
        limits = SharedRateLimits(redis_url, clock, egress=egress_ip or "default")
    transport = httpx.AsyncHTTPTransport(local_address=egress_ip, retries=0) if egress_ip else None
    settings = StreamSettings(local_address=egress_ip) if egress_ip else None  # WebSockets too
    session = Session(urls=urls, store=False, clock=clock, transport=transport, limits=limits,
                      stream_settings=settings)
    gatherer = Gatherer(bus, agent, session, lease_ms=lease_ms, config_every=config_poll)
    watcher = asyncio.ensure_future(_watch_file(bus, config_file)) if config_file and isinstance(
        bus, MemoryBus) else None
    try:
        await _until_signalled(asyncio.ensure_future(gatherer.run()), gatherer.request_stop)
    finally:
        if watcher is not None:
            watcher.cancel()
        await session.aclose()
        if limits is not None:
            await limits.aclose()
        await bus.aclose()


async def _watch_file(bus: Any, path: Path) -> None:
    seen = None
    while True:
        stamp = path.stat().st_mtime_ns
        if stamp != seen:
            seen = stamp
            bus.config = path.read_text()
        await asyncio.sleep(1.0)


def _print_entry(topic: Any, entry_id: str, fields: dict[str, str]) -> None:
    sys.stdout.write(orjson.dumps({"key": topic.stream, "id": entry_id, **fields,
                                   "data": orjson.loads(fields["data"])}).decode() + "\n")
    sys.stdout.flush()


@click.group()
def bus() -> None:
    """Look at the bus: tail a topic, or the status of agents, leases and topics."""


@bus.command("tail")
@click.argument("key")
@_redis_option()
@click.option("--from-start", is_flag=True, help="Print the entries already there first.")
@click.option("--count", type=int, help="Stop after this many entries.")
def tail(key: str, redis_url: str, from_start: bool, count: int | None) -> None:
    """Print the entries of KEY (stream.TENANT.EXCHANGE.ACTION.SYMBOL) as JSON lines."""
    from ._keys import Topic

    Topic.parse(key)
    asyncio.run(_tail(key, redis_url, "0-0" if from_start else "$", count))


async def _tail(key: str, redis_url: str, after: str, count: int | None) -> None:
    import redis.asyncio as redis

    client: Any = redis.from_url(redis_url, decode_responses=True)
    printed = 0
    stopping = asyncio.Event()
    try:
        async def follow() -> None:
            nonlocal after, printed
            while (count is None or printed < count) and not stopping.is_set():
                reply = await client.xread({key: after}, count=1000, block=250)
                for _, entries in reply or ():
                    for entry_id, fields in entries:
                        _print_entry(_Key(key), entry_id, fields)
                        after = entry_id
                        printed += 1
                        if count is not None and printed >= count:
                            return

        await _until_signalled(asyncio.ensure_future(follow()), stopping.set)
    finally:
        await client.aclose()


class _Key:
    def __init__(self, stream: str) -> None:
        self.stream = stream


@bus.command("status")
@_redis_option()
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(redis_url: str, as_json: bool) -> None:
    """Agents and their members, leases, topics with their length, owner and lag."""
    from ._status import bus_status, format_status

    async def run() -> dict[str, Any]:
        import redis.asyncio as redis

        client: Any = redis.from_url(redis_url, decode_responses=True)
        try:
            return await bus_status(client)
        finally:
            await client.aclose()

    found = asyncio.run(run())
    click.echo(orjson.dumps(found).decode() if as_json else format_status(found))


@click.command("sync")
@_redis_option(required=True)
@click.option("--tenant", help="Only this tenant's candle streams (default: every tenant).")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Another store file.")
@click.option("--once", is_flag=True, help="Stop once nothing is left to read.")
def store_sync(redis_url: str, tenant: str | None, path: Path | None, once: bool) -> None:
    """Persist the closed candles published on the bus into the candle store (dbsync)."""
    from tradeflood.store import CandleStore, default_store_path

    from ._dbsync import CandleSync

    _logging()

    async def run() -> None:
        with CandleStore(path or default_store_path()) as store:
            sync = CandleSync(redis_url, store, tenant=tenant)
            try:
                if once:
                    stats = await sync.run(until_idle=True)
                    click.echo(f"{stats.written} candles written, {stats.acknowledged} entries acknowledged "
                               f"from {stats.streams} streams")
                else:
                    await _until_signalled(asyncio.ensure_future(sync.run()), sync.request_stop)
            finally:
                await sync.aclose()

    asyncio.run(run())
