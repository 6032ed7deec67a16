"""Identical requests from different clients at the same time share one fetch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

__all__ = ["SharedRequests"]


class SharedRequests:
    """Single flight: while a fetch of ``key`` runs, later askers await the same result."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[Any]] = {}
        self.shared = 0

    async def run(self, key: Hashable, fetch: Callable[[], Awaitable[Any]]) -> Any:
        running = self._running.get(key)
        if running is not None:
            self.shared += 1
            return await asyncio.shield(running)
        fut: asyncio.Future[Any] = asyncio.ensure_future(fetch())
        self._running[key] = fut
        fut.add_done_callback(lambda _: self._running.pop(key, None))
        return await asyncio.shield(fut)
