"""The sync bridge: a Session's coroutines run from plain code on a private event-loop thread.

A session lives on one event loop. The first async call pins it to the caller's
loop; the first sync call starts a private loop on a daemon thread and pins it
there, so sync methods block on that thread and async ones called later from
another loop are forwarded to it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import TradeFloodError

__all__ = ["LoopBridge"]

T = TypeVar("T")


class LoopBridge:
    """The event loop a session runs on, and the way to it from sync and async code."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    @property
    def owns_thread(self) -> bool:
        """True when the session runs on this bridge's private thread."""
        return self.thread is not None

    def start(self) -> None:
        """Start the private loop's thread now (if no loop is pinned yet): every later call,
        sync or async, runs there."""
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                           name="tradeflood-session")
            self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the private loop (started on first use) and wait for it."""
        if self.loop is None:
            self.start()
        elif self.thread is None:
            coro.close()
            raise TradeFloodError(
                "this Session runs on an event loop; use the async methods (await s.afetch(...))"
            )
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def acall(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the session's loop (the caller's, unless a sync call came first)."""
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop
        if self.loop is loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self, last: Coroutine[Any, Any, Any]) -> None:
        """Cancel what still runs on the private loop (a call the caller gave up on, as with
        Ctrl-C) and wait for it to unwind, run ``last``, then stop the loop and its thread."""
        if self.thread is not None and self.loop is not None:
            asyncio.run_coroutine_threadsafe(_unwind(last), self.loop).result()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()
        else:
            last.close()


async def _unwind(last: Coroutine[Any, Any, Any]) -> None:
    """Cancel every other task of the running loop, wait until they have finished, then run ``last``."""
    me = asyncio.current_task()
    while True:
        others = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        if not others:
            break
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
    await last
