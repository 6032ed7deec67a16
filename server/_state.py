"""What one running server holds: the shared session, its topics, callbacks, clients and limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from tradeflood import Session

from ._callbacks import Callbacks
from ._limits import KeyLimits
from ._metrics import Metrics
from ._settings import ServerSettings
from ._shared import SharedRequests
from ._topics import Topics

if TYPE_CHECKING:
    from ._ws import Connection

__all__ = ["ServerState"]

log = logging.getLogger("tradeflood.server")


class ServerState:
    """Everything the endpoints share; made when the app starts, closed when it stops."""

    def __init__(self, settings: ServerSettings, session: Session, *, owns_session: bool) -> None:
        self.settings = settings
        self.session = session
        self.owns_session = owns_session
        self.metrics = Metrics()
        self.topics = Topics(session, poll_buffer=settings.poll_buffer, poll_linger=settings.poll_linger,
                             metrics=self.metrics)
        self.callbacks = Callbacks(self)
        self.limits = KeyLimits(settings)
        self.shared = SharedRequests()
        self.connections: set[Connection] = set()
        self.sockets: Counter[str] = Counter()
        self.subscriptions: Counter[str] = Counter()
        self.started = time.time()
        # /readyz: venue -> (when probed, reachable, error)
        self.probes: dict[str, tuple[float, bool | None, str | None]] = {}
        self.stopping = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self.metrics.watch(session, self.counts)

    def counts(self) -> dict[str, int]:
        topics = self.topics.counts()
        return {"topics": topics["topics"], "topic_sinks": topics["sinks"],
                "websocket_subscriptions": sum(len(c.subs) for c in self.connections),
                "callbacks": len(self.callbacks.all)}

    def track(self, task: asyncio.Future[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- per-key caps --------------------------------------------------------------------

    def open_socket(self, key: str) -> bool:
        if self.sockets[key] >= self.settings.max_sockets_per_key:
            return False
        self.sockets[key] += 1
        return True

    def close_socket(self, key: str) -> None:
        self.sockets[key] -= 1
        if self.sockets[key] <= 0:
            del self.sockets[key]

    def join_key(self, key: str, n: int) -> bool:
        if self.subscriptions[key] + n > self.settings.max_subscriptions_per_key:
            return False
        self.subscriptions[key] += n
        return True

    def leave_key(self, key: str, n: int) -> None:
        self.subscriptions[key] -= n
        if self.subscriptions[key] <= 0:
            del self.subscriptions[key]

    # -- shutdown ------------------------------------------------------------------------

    async def drain(self) -> None:
        """Stop serving clients: close every socket with 1001 and flush callback batches."""
        if self.stopping:
            return
        self.stopping = True
        log.info("server shutting down: %d sockets, %d callbacks", len(self.connections),
                 len(self.callbacks.all))
        closes = [c.ws.close(1001, "server shutting down") for c in list(self.connections)]
        await asyncio.gather(*closes, return_exceptions=True)
        await self.callbacks.flush()

    async def aclose(self) -> None:
        await self.drain()
        await self.callbacks.aclose()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.topics.aclose()
        if self.owns_session:
            await self.session.aclose()
