"""Clocks: every component reads time from one, never from ``time`` or ``asyncio`` directly.

A :class:`LiveClock` reads the system clock. A :class:`VirtualClock` only moves
when tasks sleep on it, so tests, replays and benchmarks of timing logic run
deterministically and without really waiting::

    clock = VirtualClock(start=1_704_067_200.0)    # 2024-01-01T00:00:00Z
    async def main():
        await clock.sleep(60)                       # returns at once
        assert clock.time() == 1_704_067_260.0
        async with timeout_at(clock, clock.monotonic() + 5):   # a deadline on the same clock
            await clock.sleep(10)                   # TimeoutError at clock time +5 s
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "LiveClock", "ScaledClock", "VirtualClock", "network_timeout", "timeout", "timeout_at"]


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


def timeout(clock: Clock, seconds: float | None) -> AbstractAsyncContextManager[object]:
    """Like :func:`asyncio.timeout`, on ``clock``: the body is cancelled and ``TimeoutError``
    raised once ``seconds`` have passed on that clock (None: no bound)."""
    return timeout_at(clock, None if seconds is None else clock.monotonic() + seconds)


def timeout_at(clock: Clock, when: float | None) -> AbstractAsyncContextManager[object]:
    """Like :func:`asyncio.timeout_at`, ``when`` read on ``clock.monotonic()`` (None: no bound).

    The live clock's monotonic time is the event loop's, so it uses asyncio's own
    timer; any other clock is watched by a task sleeping on it, so a virtual clock
    drives the deadline (a test sees it pass without waiting) and a scaled one
    shortens it with everything else. On every clock a ``when`` already due cancels
    the body at its first await point.
    """
    if when is None or type(clock) is LiveClock:
        if when is not None:
            when += asyncio.get_running_loop().time() - clock.monotonic()  # the loop's time base
        return asyncio.timeout_at(when)
    return _ClockTimeout(clock, when)


def network_timeout(clock: Clock, seconds: float | None) -> AbstractAsyncContextManager[object]:
    """:func:`timeout` for a deadline on real network I/O (a request's, connect to last byte).

    On a :class:`ScaledClock` it fires at the later of ``seconds`` on the clock and ``seconds``
    of real time: the bytes cross a real socket, and a 60 s deadline at 60x (one real second)
    would cut off a venue that is merely slow. On a :class:`VirtualClock` no real time passes
    (its venues are in-process), so it fires at the exact clock instant, like :func:`timeout`.
    The same rule as the pong wait of a stream connection (``PONG_FLOOR``), with the floor at
    the deadline's own nominal seconds. A clock that says ``replays_network`` (a replay's, at
    full speed) applies none: its requests are answered from a recording of how each ended
    live, stops included, and a replay, whose own work takes no clock time, asks before the
    live session did, so a deadline of its own would stop a reply that came in time.
    """
    if getattr(clock, "replays_network", False):
        return timeout(clock, None)
    if seconds is None or not isinstance(clock, ScaledClock):
        return timeout(clock, seconds)
    return _ClockTimeout(clock, clock.monotonic() + seconds, real_floor=seconds)


class _ClockTimeout:
    """:func:`timeout_at` on a clock other than the live one: a watcher task sleeps on the clock
    until ``when`` (and, with ``real_floor``, that many real seconds too), then cancels the body,
    whose cancellation is turned into ``TimeoutError``.

    A ``when`` already due on entry needs no watcher: as with :func:`asyncio.timeout_at`, the
    body is cancelled from the event loop's next turn, so at its first await point (a watcher
    would only cancel it a turn later, after that await may have completed).
    """

    def __init__(self, clock: Clock, when: float, real_floor: float = 0.0) -> None:
        self.clock = clock
        self.when = when
        self.real_floor = real_floor
        self.expired = False
        self._task: asyncio.Task[object] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._due: asyncio.Handle | None = None
        self._cancelling = 0

    async def __aenter__(self) -> _ClockTimeout:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a clock timeout must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        if self.real_floor <= 0 and self.when <= self.clock.monotonic():
            self._due = asyncio.get_running_loop().call_soon(self._expire)
        else:
            self._watcher = asyncio.ensure_future(self._watch())
        return self

    async def _watch(self) -> None:
        on_clock = self.clock.sleep(self.when - self.clock.monotonic())
        if self.real_floor > 0:
            await asyncio.gather(on_clock, asyncio.sleep(self.real_floor))
        else:
            await on_clock
        self._expire()

    def _expire(self) -> None:
        self.expired = True
        assert self._task is not None
        self._task.cancel()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._task is not None
        if self._watcher is not None:
            self._watcher.cancel()
        if self._due is not None:
            self._due.cancel()
        # Our own cancellation (not the caller's) becomes TimeoutError, as asyncio.timeout does.
        if self.expired and self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc
