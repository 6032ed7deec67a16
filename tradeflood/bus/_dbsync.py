"""Dbsync: closed candles from the bus into the candle store, each exactly once.

Every ``stream.{tenant}.{exchange}.ohlcv-{interval}.{symbol}`` stream is read
through the consumer group ``dbsync`` (several sync processes share the work;
entries a dead one left pending are claimed after ``claim_idle`` seconds). A
candle is written, then acknowledged: the store ignores a candle it already
holds, so an entry delivered twice (a crash between the two) is still stored
once, and ``fetch`` and the server answer from the store what the cluster
gathered.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from tradeflood.models import Candle
from tradeflood.store._pages import PageStore

from ._codec import decode_item
from ._errors import BusConfigError
from ._keys import Topic

__all__ = ["CandleSync", "SyncStats"]

log = logging.getLogger("tradeflood.bus")


@dataclass
class SyncStats:
    """What a sync did: candles written (new to the store), entries acknowledged, streams followed."""

    written: int = 0
    acknowledged: int = 0
    streams: int = 0


class CandleSync:
    """Follows the candle streams of ``tenant`` (every tenant when None) into ``store``."""

    def __init__(self, redis_url: str, store: PageStore, *, tenant: str | None = None, group: str = "dbsync",
                 consumer: str | None = None, claim_idle: float = 30.0, scan_every: float = 2.0) -> None:
        import redis.asyncio as redis

        self.redis: Any = redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=2)
        self.store = store
        self.tenant = tenant
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}"
        self.claim_idle_ms = int(claim_idle * 1000)
        self.scan_every = scan_every
        self.stats = SyncStats()
        self.stopping = False  # ends run() after the current read (see request_stop)
        self._keys: dict[str, Topic] = {}

    async def discover(self) -> None:
        """Find candle streams not followed yet and join their consumer group."""
        pattern = f"stream.{self.tenant or '*'}.*.ohlcv-*"
        async for key in self.redis.scan_iter(match=pattern, _type="stream", count=1000):
            if key in self._keys:
                continue
            try:
                topic = Topic.parse(key)
            except BusConfigError:
                continue
            try:
                await self.redis.xgroup_create(key, self.group, id="0")
            except Exception as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._keys[key] = topic
            log.info("dbsync follows %s", key)
        self.stats.streams = len(self._keys)

    async def run(self, *, until_idle: bool = False) -> SyncStats:
        """Sync until stopped (or, ``until_idle``, until nothing is left to read)."""
        loop = asyncio.get_running_loop()
        next_scan = 0.0
        first = True
        while not self.stopping:
            if loop.time() >= next_scan:
                await self.discover()
                await self._claim()
                next_scan = loop.time() + self.scan_every
            if not self._keys:
                if until_idle:
                    return self.stats
                await asyncio.sleep(self.scan_every)
                continue
            # A short block keeps request_stop() prompt; entries never wait on it.
            cursor = "0" if first else ">"  # first what this member left unacknowledged
            reply = await self.redis.xreadgroup(self.group, self.consumer, dict.fromkeys(self._keys, cursor),
                                                count=1000, block=None if until_idle else 250)
            got = await self._handle(reply)
            if first:
                first = False
                continue
            if until_idle and not got:
                return self.stats
        return self.stats

    def request_stop(self) -> None:
        """End :meth:`run` after the current read; a cancellation may be swallowed mid-command."""
        self.stopping = True

    async def _claim(self) -> None:
        for key in self._keys:
            _, claimed, *_ = await self.redis.xautoclaim(key, self.group, self.consumer, self.claim_idle_ms,
                                                         "0-0", count=1000)
            await self._handle([(key, claimed)])

    async def _handle(self, reply: Any) -> int:
        got = 0
        for key, entries in reply or ():
            topic = self._keys[key]
            done = []
            for entry_id, fields in entries:
                got += 1
                if fields and fields.get("type") == "item":
                    self._write(topic, decode_item(topic, fields["data"]))
                done.append(entry_id)
            if done:
                self.stats.acknowledged += await self.redis.xack(key, self.group, *done)
        return got

    def _write(self, topic: Topic, candle: Candle) -> None:
        if not candle.closed:
            return
        self.stats.written += self.store.write(candle.exchange, candle.symbol, candle.interval,
                                               candle.open_time, candle.close_time, [candle])

    async def aclose(self) -> None:
        await self.redis.aclose()
