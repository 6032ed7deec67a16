"""Reading a live stream in a test: the next items that match, within a real-time bound."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["take"]


async def take(stream: Any, n: int, *, timeout: float = 10.0,
               keep: Callable[[Any], bool] = lambda item: True) -> list[Any]:
    """The next ``n`` items of ``stream`` (anything with an awaitable ``get()``, such as a
    :class:`tradeflood.streams.Subscription`) that ``keep`` accepts, skipping the others.

    ``timeout`` is real seconds for all ``n``; past it :class:`TimeoutError` is raised, so a
    test waits on the condition it checks, never on a fixed sleep.
    """
    out: list[Any] = []

    async def run() -> None:
        while len(out) < n:
            item = await stream.get()
            if keep(item):
                out.append(item)

    await asyncio.wait_for(run(), timeout)
    return out
