"""The bus interface a gatherer publishes through, with Redis Streams as its real backend.

:class:`Bus` is what the gatherer needs: leases with fencing, publishes checked
against them, the agent's configuration and status, and membership of the
agent's processes. :class:`RedisBus` does it on one Redis server;
:class:`MemoryBus` does it in one process (``tradeflood gather`` without
``--redis``). Another engine would be another subclass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._codec import Entry
from ._errors import BusConfigError, FencedError
from ._keys import Topic, config_key, lease_key, members_key, status_key
from ._lua import ACQUIRE, PUBLISH, RELEASE, RENEW

__all__ = ["Bus", "MemoryBus", "RedisBus", "Trim", "connect"]

log = logging.getLogger("tradeflood.bus")


@dataclass(frozen=True, slots=True)
class Trim:
    """How a topic's stream is trimmed: keep about ``count`` entries, or those younger than ``age_ms``."""

    count: int | None = None
    age_ms: int | None = None


class Bus(ABC):
    """Where gatherers publish and find their configuration; see the module doc."""

    @abstractmethod
    async def acquire(self, topic: Topic, member: str, ttl_ms: int) -> str | None:
        """Take the topic's lease if it is free; returns the lease value (``token:member``)."""

    @abstractmethod
    async def renew(self, topic: Topic, lease: str, ttl_ms: int) -> bool:
        """Extend a lease still held with exactly ``lease``; False once it is lost."""

    @abstractmethod
    async def release(self, topic: Topic, lease: str) -> None:
        """Give a lease back (only if still held with ``lease``)."""

    @abstractmethod
    async def publish(self, topic: Topic, lease: str, entries: Sequence[Entry],
                      snapshot: Entry | None, trim: Trim | None) -> tuple[int, str]:
        """Append ``entries`` and replace the snapshot, atomically and only under ``lease``.

        Returns (publish time in ms, id of the last entry); raises :class:`FencedError`
        when the lease is no longer held with that value.
        """

    @abstractmethod
    async def last_entries(self, topic: Topic, count: int) -> list[tuple[str, dict[str, str]]]:
        """The newest ``count`` entries of the topic's stream, newest first."""

    @abstractmethod
    async def get_config(self, agent: str) -> str | None:
        """The raw configuration of ``agent``, or None when it has none."""

    @abstractmethod
    async def set_status(self, agent: str, fields: Mapping[str, str]) -> None:
        """Record what ``agent`` wants its operators to see."""

    @abstractmethod
    async def heartbeat(self, agent: str, member: str, ttl_ms: int) -> list[str]:
        """Say ``member`` of ``agent`` is alive for ``ttl_ms``; returns the live members, sorted."""

    @abstractmethod
    async def leave(self, agent: str, member: str) -> None:
        """``member`` stops: it no longer counts when the topics are shared out."""

    async def watch_config(self, agent: str, changed: asyncio.Event) -> bool:
        """Set ``changed`` whenever the agent's configuration changes, if the bus can tell;
        returns False when it cannot (the gatherer then polls)."""
        return False

    async def aclose(self) -> None:  # noqa: B027 (most buses hold nothing to release)
        """Release connections."""


def connect(url: str | None) -> Bus:
    """The bus at ``url`` (``redis://host:port/db``), or an in-process one for None."""
    if url is None:
        return MemoryBus()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise BusConfigError(f"bus URL {url!r}: give redis://HOST:PORT/DB (e.g. redis://127.0.0.1:6379/0)")
    return RedisBus(url)


class RedisBus(Bus):
    """The bus on one Redis server (``redis[hiredis]``)."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self.url = url
        self.redis: Any = redis.from_url(url, decode_responses=True, socket_timeout=5,
                                         socket_connect_timeout=2, health_check_interval=10)
        self._acquire = self.redis.register_script(ACQUIRE)
        self._renew = self.redis.register_script(RENEW)
        self._release = self.redis.register_script(RELEASE)
        self._publish = self.redis.register_script(PUBLISH)
        self._watch: asyncio.Future[None] | None = None

    async def acquire(self, topic: Topic, member: str, ttl_ms: int) -> str | None:
        key = lease_key(topic)
        value = await self._acquire(keys=[key, key.replace("stream.lease.", "stream.fence.", 1)],
                                    args=[member, ttl_ms])
        return value or None

    async def renew(self, topic: Topic, lease: str, ttl_ms: int) -> bool:
        return bool(await self._renew(keys=[lease_key(topic)], args=[lease, ttl_ms]))

    async def release(self, topic: Topic, lease: str) -> None:
        await self._release(keys=[lease_key(topic)], args=[lease])

    async def publish(self, topic: Topic, lease: str, entries: Sequence[Entry],
                      snapshot: Entry | None, trim: Trim | None) -> tuple[int, str]:
        kind, amount = "", 0
        if trim is not None and trim.age_ms is not None:
            kind, amount = "AGE", trim.age_ms
        elif trim is not None and trim.count is not None:
            kind, amount = "MAXLEN", trim.count
        args: list[Any] = [lease, kind, amount, len(entries)]
        for entry in entries:
            args.append(2 * len(entry))
            for k, v in entry.items():
                args += (k, v)
        if snapshot:
            args.append(2 * len(snapshot))
            for k, v in snapshot.items():
                args += (k, v)
        else:
            args.append(0)
        now, last = await self._publish(keys=[lease_key(topic), topic.stream, topic.snapshot], args=args)
        if int(now) < 0:
            raise FencedError(topic.stream, str(last))
        return int(now), str(last)

    async def last_entries(self, topic: Topic, count: int) -> list[tuple[str, dict[str, str]]]:
        return list(await self.redis.xrevrange(topic.stream, count=count))

    async def get_config(self, agent: str) -> str | None:
        value = await self.redis.get(config_key(agent))
        return None if value is None else str(value)

    async def set_status(self, agent: str, fields: Mapping[str, str]) -> None:
        await self.redis.hset(status_key(agent), mapping=dict(fields))

    async def heartbeat(self, agent: str, member: str, ttl_ms: int) -> list[str]:
        key = members_key(agent)
        now = await self.now_ms()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {member: now + ttl_ms})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zrange(key, 0, -1)
            result = await pipe.execute()
        return sorted(result[-1])

    async def leave(self, agent: str, member: str) -> None:
        await self.redis.zrem(members_key(agent), member)

    async def watch_config(self, agent: str, changed: asyncio.Event) -> bool:
        """Keyspace notifications of ``stream.config.{agent}``, when the server sends them
        (``notify-keyspace-events`` with ``K`` and ``$`` or ``A``)."""
        try:
            flags = (await self.redis.config_get("notify-keyspace-events")).get("notify-keyspace-events", "")
        except Exception as exc:  # CONFIG may be renamed or refused on managed servers
            log.info("keyspace notifications unknown (%s); polling the configuration", exc)
            return False
        if "K" not in flags or not ({"$", "A"} & set(flags)):
            return False
        db = self.redis.connection_pool.connection_kwargs.get("db", 0)
        channel = f"__keyspace@{db}__:{config_key(agent)}"
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(channel)
        self._watch = asyncio.ensure_future(self._listen(pubsub, changed))
        return True

    async def _listen(self, pubsub: Any, changed: asyncio.Event) -> None:
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None:
                    changed.set()
        except Exception as exc:  # Redis went away: polling goes on regardless
            log.warning("configuration notifications stopped (%s); polling goes on", exc)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def now_ms(self) -> int:
        seconds, micros = await self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def aclose(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        await self.redis.aclose()


class MemoryBus(Bus):
    """The bus inside one process: streams as lists, one member, leases always granted.

    ``config`` is the agent configuration it serves; ``entries`` is every
    published entry by stream key, for a caller (``tradeflood gather`` without
    Redis prints them) to read.
    """

    def __init__(self, config: str | None = None, on_entry: Any = None) -> None:
        self.config = config
        self.streams: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.snapshots: dict[str, dict[str, str]] = {}
        self.status: dict[str, dict[str, str]] = {}
        self.on_entry = on_entry
        self._leases: dict[Topic, str] = {}
        self._tokens: dict[Topic, int] = {}
        self._seq = 0

    async def acquire(self, topic: Topic, member: str, ttl_ms: int) -> str | None:
        if topic in self._leases:
            return None
        token = self._tokens[topic] = self._tokens.get(topic, 0) + 1
        value = self._leases[topic] = f"{token}:{member}"
        return value

    async def renew(self, topic: Topic, lease: str, ttl_ms: int) -> bool:
        return self._leases.get(topic) == lease

    async def release(self, topic: Topic, lease: str) -> None:
        if self._leases.get(topic) == lease:
            del self._leases[topic]

    async def publish(self, topic: Topic, lease: str, entries: Sequence[Entry],
                      snapshot: Entry | None, trim: Trim | None) -> tuple[int, str]:
        if self._leases.get(topic) != lease:
            raise FencedError(topic.stream, self._leases.get(topic, ""))
        now = int(time.time() * 1000)
        stream = self.streams.setdefault(topic.stream, [])
        token = lease.partition(":")[0]
        last = stream[-1][0] if stream else "0-0"
        for entry in entries:
            self._seq += 1
            last = f"{now}-{self._seq}"
            stored = {**entry, "pub_ts": str(now), "token": token}
            stream.append((last, stored))
            if self.on_entry is not None:
                self.on_entry(topic, last, stored)
        if trim is not None and trim.count is not None and len(stream) > trim.count:
            del stream[: len(stream) - trim.count]
        if snapshot:
            self.snapshots[topic.snapshot] = {**snapshot, "id": last, "pub_ts": str(now), "token": token}
        return now, last

    async def last_entries(self, topic: Topic, count: int) -> list[tuple[str, dict[str, str]]]:
        return list(reversed(self.streams.get(topic.stream, [])[-count:]))

    async def get_config(self, agent: str) -> str | None:
        return self.config

    async def set_status(self, agent: str, fields: Mapping[str, str]) -> None:
        self.status.setdefault(agent, {}).update(fields)

    async def heartbeat(self, agent: str, member: str, ttl_ms: int) -> list[str]:
        return [member]

    async def leave(self, agent: str, member: str) -> None:
        return None
