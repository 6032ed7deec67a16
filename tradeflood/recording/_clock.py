"""ReplayClock: a virtual clock that a replay moves, frame by frame, as fast as it can."""

from __future__ import annotations

import asyncio
import heapq

from tradeflood.clock import VirtualClock

__all__ = ["ReplayClock", "settle"]


async def settle(most: int = 200) -> None:
    """Let every task that can run do so (a REST reply handed over, a book resynced) before the
    replay goes on: yield until the event loop has nothing else ready (at most ``most`` times)."""
    loop = asyncio.get_running_loop()
    calm = 0
    for _ in range(most):
        await asyncio.sleep(0)
        ready = getattr(loop, "_ready", None)
        if ready is None:
            continue  # an event loop that does not show its queue: yield ``most`` times
        calm = calm + 1 if not ready else 0
        if calm >= 2:
            return


class ReplayClock(VirtualClock):
    """Time set by the replay driver (the receive time of the frame being played).

    Sleepers wait on the timer heap; the driver wakes them in deadline order as it
    moves the clock to the next recorded frame, so a candle closes, a throttle fires
    or a REST reply arrives exactly between the frames it fell between live. When
    the recording is over (``driven = False``), the clock runs on by itself like a
    :class:`VirtualClock`.

    A request's deadline is not applied on it (``replays_network``, read by
    :func:`~tradeflood.clock.network_timeout`): the recording says when each reply came,
    or when the live deadline stopped it.
    """

    replays_network = True

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.driven = True

    async def sleep(self, seconds: float) -> None:
        if not self.driven:
            await super().sleep(seconds)
            return
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._now + seconds, next(self._seq), fut))
        await fut

    def due(self, when: float) -> bool:
        """Whether a sleeper is due by ``when`` (then :meth:`step_to`, else :meth:`set`)."""
        return bool(self._timers) and self._timers[0][0] <= when

    def set(self, when: float) -> None:
        """Move to ``when`` with no sleeper due on the way."""
        if when > self._now:
            self._now = when

    async def step_to(self, when: float) -> None:
        """Move to ``when``, waking each sleeper due by then at its own deadline."""
        timers = self._timers
        while timers:
            while timers and timers[0][2].done():
                heapq.heappop(timers)
            if not timers or timers[0][0] > when:
                break
            self._now = max(self._now, timers[0][0])
            self._wake_due()
            await settle(20)
        self._now = max(self._now, when)
        await asyncio.sleep(0)

    def release(self) -> None:
        """The recording is over: the clock runs by itself from now on."""
        self.driven = False
        if self._timers:
            loop = asyncio.get_running_loop()
            self._driver = loop.create_task(self._drive())
