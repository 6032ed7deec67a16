"""The gatherer: one process of an agent, sharing the agent's topics with its other processes.

Every process started with one agent id reads ``stream.config.{agent}`` (it
checks it every ``config_every`` seconds and applies a change at once: new
topics start, removed ones stop upstream; a configuration it cannot use is
refused in ``stream.status.{agent}`` and the log, and the previous one stays in
force; with keyspace notifications enabled on the server, a change is seen as it happens and
polling slows to every 5 s). The processes announce themselves in ``stream.members.{agent}`` and
each owns about ``ceil(topics / members)`` topics through leases: a free
topic is taken (``SET NX PX``), held topics are renewed, a process above its
share hands topics back, and a dead process's leases expire so the others
take its topics over. Redis outages are waited out and reported.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
import zlib
from collections.abc import Sequence

import orjson

from tradeflood.errors import ConfigError, QueryError, TradeFloodError
from tradeflood.session import Session

from ._backend import Bus
from ._config import AgentConfig, parse_config
from ._keys import Topic
from ._worker import Worker

__all__ = ["Gatherer"]

log = logging.getLogger("tradeflood.bus")


class Gatherer:
    """One gatherer process of ``agent``: see the module doc. ``await run()`` until cancelled."""

    def __init__(self, bus: Bus, agent: str, session: Session, *, lease_ms: int = 2500,
                 tick: float = 0.25, config_every: float = 0.5, member: str | None = None) -> None:
        self.bus = bus
        self.agent = agent
        self.session = session
        self.lease_ms = lease_ms
        self.tick = tick
        self.config_every = config_every
        self.member = member or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.config: AgentConfig | None = None
        self.workers: dict[Topic, Worker] = {}
        self.outages = 0
        self._raw: str | None = None
        self._symbols: dict[str, list[str]] = {}
        self._down_since: float | None = None
        self._config_checked = 0.0
        self.stopping = False
        """Set (by :meth:`request_stop`) to end :meth:`run` after the current round."""
        self._changed = asyncio.Event()
        self._notified: bool | None = None  # whether the bus tells of configuration changes

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        log.info("gatherer %s of agent %s starting", self.member, self.agent)
        try:
            while not self.stopping:
                try:
                    await self.step()
                    self._redis_ok()
                except TradeFloodError:
                    raise
                except Exception as exc:
                    if not _is_connection_error(exc):
                        raise
                    self._redis_down(exc)
                await asyncio.sleep(self.tick)
        finally:
            await self.stop()

    def request_stop(self) -> None:
        """End :meth:`run` after the current round (a cancellation may be swallowed mid-command)."""
        self.stopping = True

    async def step(self) -> None:
        """One round: configuration, membership, leases."""
        if self._notified is None:
            self._notified = await self.bus.watch_config(self.agent, self._changed)
            if self._notified:
                log.info("watching stream.config.%s through keyspace notifications", self.agent)
        now = time.monotonic()
        every = max(self.config_every, 5.0) if self._notified else self.config_every
        if self._changed.is_set() or now - self._config_checked >= every:
            self._changed.clear()
            self._config_checked = now
            await self._check_config()
        members = await self.bus.heartbeat(self.agent, self.member, self.lease_ms)
        await self._balance(members)

    async def stop(self) -> None:
        """Stop every topic and give the leases back, so others take over at once."""
        for topic in list(self.workers):
            await self._drop(topic)
        try:
            await self.bus.leave(self.agent, self.member)
        except Exception as exc:
            log.warning("could not leave the agent's members: %s", exc)

    # -- configuration ------------------------------------------------------------------------

    async def _check_config(self) -> None:
        raw = await self.bus.get_config(self.agent)
        if raw is None:
            if self.config is None and self._raw is None:
                log.info("waiting for a configuration at stream.config.%s", self.agent)
                self._raw = ""
            return  # a configuration that disappears (a Redis restart) leaves the last one in force
        if raw == self._raw:
            return
        self._raw = raw
        try:
            config = await parse_config(raw, self._venue_symbols)
        except (QueryError, ConfigError) as exc:
            log.error("configuration of %s refused, the previous one stays in force: %s", self.agent, exc)
            await self.bus.set_status(self.agent, {
                "config": "refused", "config_error": f"{type(exc).__name__}: {exc}",
                "config_refused_at": str(_now_ms()), "config_refused_by": self.member})
            return
        except TradeFloodError as exc:  # the venue could not list its symbols: not the configuration's fault
            self._raw = None  # checked again next time
            log.warning("configuration of %s not checked yet (%s); trying again", self.agent, exc)
            return
        self.config = config
        log.info("configuration of %s applied: %d subscriptions for tenant %s", self.agent,
                 len(config.subscriptions), config.tenant)
        await self.bus.set_status(self.agent, {"config": "applied", "config_error": "",
                                               "config_applied_at": str(_now_ms()),
                                               "config_applied": config.raw})
        wanted = config.by_topic()
        for topic in list(self.workers):
            if topic not in wanted or wanted[topic] != self.workers[topic].sub:
                await self._drop(topic)

    async def _venue_symbols(self, exchange: str) -> list[str]:
        from tradeflood.models import Instrument

        if exchange not in self._symbols:
            instruments = await self.session.afetch(Instrument, exchange=exchange)
            self._symbols[exchange] = [i.symbol for i in instruments]
        return self._symbols[exchange]

    # -- sharing topics -----------------------------------------------------------------------

    async def _balance(self, members: Sequence[str]) -> None:
        for topic, worker in list(self.workers.items()):
            if worker.task.done() or worker.lost:
                await self._drop(topic)
            elif not await self.bus.renew(topic, worker.lease, self.lease_ms):
                log.warning("%s: lease lost; stopping it here", topic)
                await self._drop(topic)
        if self.config is None:
            await self._report(members)
            return
        subs = self.config.by_topic()
        live = list(members) if self.member in members else [*members, self.member]
        share = math.ceil(len(subs) / max(1, len(live)))
        if len(self.workers) > share:
            for topic in list(self.workers)[share:]:
                log.info("%s: handing over (share is %d of %d topics)", topic, share, len(subs))
                await self._drop(topic)
        elif len(self.workers) < share:
            # Each member starts looking at a different place, so members rarely race for one topic.
            order = sorted(subs, key=lambda t: zlib.crc32(f"{t}|{self.member}".encode()))
            for topic in order:
                if len(self.workers) >= share:
                    break
                if topic in self.workers:
                    continue
                lease = await self.bus.acquire(topic, self.member, self.lease_ms)
                if lease is not None:
                    log.info("%s: taken (lease %s)", topic, lease)
                    self.workers[topic] = Worker(self.bus, self.session, subs[topic], lease,
                                                 self.config.trim(topic), self.member)
        await self._report(members)

    async def _drop(self, topic: Topic) -> None:
        worker = self.workers.pop(topic, None)
        if worker is None:
            return
        await worker.stop()
        try:
            await self.bus.release(topic, worker.lease)
        except Exception as exc:
            log.warning("%s: could not release the lease (it will expire): %s", topic, exc)

    async def _report(self, members: Sequence[str]) -> None:
        state = {"host": socket.gethostname(), "pid": os.getpid(), "members": len(members),
                 "topics": sorted(str(t) for t in self.workers), "redis_outages": self.outages,
                 "published": sum(w.published for w in self.workers.values()), "updated": _now_ms()}
        await self.bus.set_status(self.agent, {f"member.{self.member}": orjson.dumps(state).decode()})

    # -- Redis outages ------------------------------------------------------------------------

    def _redis_down(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            self.outages += 1
            log.error("Redis unreachable (%s); carrying on and retrying", exc)

    def _redis_ok(self) -> None:
        if self._down_since is not None:
            log.warning("Redis reachable again after %.1f s", time.monotonic() - self._down_since)
            self._down_since = None
            self._notified = None  # subscribe to the notifications again, if the server sends them


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError | ConnectionError | asyncio.TimeoutError):
        return True
    import redis.exceptions

    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError |
                      redis.exceptions.BusyLoadingError)


def _now_ms() -> int:
    return int(time.time() * 1000)
