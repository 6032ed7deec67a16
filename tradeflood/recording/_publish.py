"""A replay published into the bus: recorded days as a gatherer would have published them.

``tradeflood replay DIR --model trade ... --publish redis://...`` plays the recording
through a replay Session and hands the stream to the bus's own :class:`Worker`, so
the entries, snapshots and events are exactly what a live gatherer writes, under a
lease of the topic (renewed while the replay runs, given back at its end). Consumers
(``Session(bus=...)``, ``redis-cli XREAD``, other languages) are then tested against
recorded market days.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from tradeflood.errors import TradeFloodError

__all__ = ["publish_replay"]

#: How long the replay's lease on its topic lives between renewals (milliseconds).
LEASE_MS = 5_000


async def publish_replay(directory: Path, model: type[Any], params: dict[str, Any], *, url: str,
                         tenant: str, speed: float | str, start: str | None) -> int:
    """Replay ``model`` of ``params`` from ``directory`` into the bus at ``url``; returns the
    number of entries published. Fails if a live gatherer holds the topic."""
    import tradeflood
    from tradeflood.bus import RedisBus, Subscription, Topic, Trim, action_for
    from tradeflood.bus._worker import Worker

    topic = Topic(tenant, params["exchange"], action_for(model, params.get("interval")), params["symbol"])
    member = f"replay:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    bus = RedisBus(url)
    try:
        lease = await bus.acquire(topic, member, LEASE_MS)
        if lease is None:
            raise TradeFloodError(f"{topic.stream} is held by another publisher (a live gatherer?); "
                                  "replay into another tenant with --tenant")
        async with tradeflood.Session(replay=directory, speed=speed, start=start) as session:
            worker = Worker(bus, session, Subscription(topic, depth=params.get("depth")), lease, Trim(),
                            member)
            while not worker.task.done():
                await asyncio.wait({worker.task}, timeout=LEASE_MS / 3000)
                if not worker.task.done() and not await bus.renew(topic, lease, LEASE_MS):
                    await worker.stop()
                    raise TradeFloodError(f"{topic.stream}: the replay lost its lease to another publisher")
            await worker.stop()  # publishes what is still pending
            if worker.error is not None:
                raise worker.error
        await bus.release(topic, lease)
        return worker.published
    finally:
        await bus.aclose()
