"""Clocks: every component reads time from one, never from ``time`` or ``asyncio`` directly.

A :class:`LiveClock` reads the system clock. A :class:`VirtualClock` only moves
when tasks sleep on it, so tests, replays and benchmarks of timing logic run
deterministically and without really waiting::

    clock = VirtualClock(start=1_704_067_200.0)    # 2024-01-01T00:00:00Z
    async def main():
        await clock.sleep(60)                       # returns at once
        assert clock.time() == 1_704_067_260.0
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "LiveClock", "ScaledClock", "VirtualClock"]


@runtime_checkable
class Clock(Protocol):
    """Where time comes from: wall-clock seconds, a monotonic reading and a sleep."""

    def time(self) -> float:
        """UTC wall-clock seconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for durations and scheduling)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``."""
        ...


class LiveClock:
    """The system clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def time_ms(self) -> int:
        """UTC wall-clock milliseconds since the epoch."""
        return int(self.time() * 1000)


class ScaledClock:
    """Real time sped up ``factor`` times, from ``start`` (UTC seconds; now by default).

    For simulations over real sockets, where a :class:`VirtualClock` cannot
    stand in for the network: with ``factor=60`` a one-minute candle closes
    every real second. Give the simulated venue and the session the same
    instance so that they agree on the time.
    """

    def __init__(self, factor: float, start: float | None = None) -> None:
        if not factor > 0:
            raise ValueError(f"factor must be positive, not {factor!r}")
        self.factor = factor
        self._real0 = time.monotonic()
        self._start = time.time() if start is None else start

    def time(self) -> float:
        return self._start + (time.monotonic() - self._real0) * self.factor

    def monotonic(self) -> float:
        return (time.monotonic() - self._real0) * self.factor

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)

    def time_ms(self) -> int:
        return int(self.time() * 1000)


class VirtualClock:
    """A clock that advances only when every runnable task is waiting on it.

    ``sleep`` parks the task on a timer heap; once the event loop has run out of
    other ready work (checked by yielding a few times), the clock jumps to the
    earliest deadline and wakes that sleeper. Concurrent sleepers therefore see
    the same timeline they would see on a real clock, only without waiting.
    """

    _IDLE_YIELDS = 20

    def __init__(self, start: float = 1_704_067_200.0) -> None:
        self._now = float(start)
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    def time_ms(self) -> int:
        return int(self._now * 1000)

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (for synchronous tests); wakes due sleepers."""
        self._now += max(0.0, seconds)
        self._wake_due()

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._timers, (self._now + seconds, next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await fut

    def _wake_due(self) -> None:
        while self._timers and self._timers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._timers)
            if not fut.done():
                fut.set_result(None)

    async def _drive(self) -> None:
        while self._timers:
            for _ in range(self._IDLE_YIELDS):
                await asyncio.sleep(0)
            # Drop sleepers whose task was cancelled.
            while self._timers and self._timers[0][2].done():
                heapq.heappop(self._timers)
            if not self._timers:
                break
            self._now = max(self._now, self._timers[0][0])
            self._wake_due()
