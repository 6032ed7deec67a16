"""A deadline already due when its block starts stops the body at its first await point, on
every clock kind, as :func:`asyncio.timeout_at` does with a past ``when``.

The bodies here await things no clock drives (a reply already in a socket's buffer, one
event-loop turn away): on a virtual or scaled clock the deadline used to be watched by a task
that cancelled the body a turn later, after that first await had completed, so a fetch run
whose deadline had passed sent its requests and parsed their replies all the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from tradeflood import Session, VirtualClock
from tradeflood.clock import Clock, LiveClock, ScaledClock, network_timeout, timeout, timeout_at
from tradeflood.models import Candle
from tradeflood.pipeline import _run, _Unfinished
from tradeflood.recording._clock import ReplayClock
from tradeflood.testing import BitgetVenue, SimulatorTransport

NOW = 1_717_200_030.0
HOUR = 3_600_000
DAY = 24 * HOUR

CLOCKS: dict[str, Callable[[], Clock]] = {
    "live": LiveClock,
    "scaled": lambda: ScaledClock(60.0, start=NOW),
    "virtual": lambda: VirtualClock(start=NOW),
    "replay": lambda: ReplayClock(NOW),
}


def _soon(value: str) -> asyncio.Future[str]:
    """A reply that comes on the event loop's next turn, driven by no clock."""
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(lambda: fut.done() or fut.set_result(value))
    return fut


@pytest.mark.parametrize("kind", CLOCKS)
@pytest.mark.parametrize("late", [0.0, 1.0, 3600.0])
async def test_a_due_deadline_cancels_the_body_at_its_first_await(kind: str, late: float) -> None:
    clock = CLOCKS[kind]()
    steps: list[str] = []
    with pytest.raises(TimeoutError):
        async with timeout_at(clock, clock.monotonic() - late):
            steps.append("entered")
            steps.append(await _soon("first"))
            steps.append(await _soon("second"))
    assert steps == ["entered"]
    # The task is left as it was: no cancellation pending, so it runs on normally.
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    assert await _soon("after") == "after"


@pytest.mark.parametrize("kind", CLOCKS)
async def test_a_due_deadline_stops_a_body_polling_the_loop(kind: str) -> None:
    """A body that only yields to the loop (``sleep(0)``) is stopped at its first yield too."""
    clock = CLOCKS[kind]()
    steps: list[int] = []
    with pytest.raises(TimeoutError):
        async with timeout(clock, 0):
            for i in range(5):
                await asyncio.sleep(0)
                steps.append(i)
    assert steps == []


@pytest.mark.parametrize("kind", CLOCKS)
async def test_a_due_deadline_leaves_a_body_that_never_awaits_alone(kind: str) -> None:
    """As asyncio's: there is no await point to cancel at, so the block ends normally."""
    clock = CLOCKS[kind]()
    done = []
    async with timeout_at(clock, clock.monotonic() - 5):
        done.append(sum(range(10)))
    assert done == [45]
    assert await _soon("after") == "after"  # the cancellation it never needed does not linger


@pytest.mark.parametrize("kind", ["virtual", "scaled"])
async def test_a_zero_network_deadline_is_due_at_once(kind: str) -> None:
    clock = CLOCKS[kind]()
    steps: list[str] = []
    with pytest.raises(TimeoutError):
        async with network_timeout(clock, 0):
            steps.append(await _soon("first"))
    assert steps == []


async def test_a_due_deadline_keeps_an_outer_cancellation_a_cancellation() -> None:
    clock = VirtualClock(start=NOW)
    entered = asyncio.Event()

    async def body() -> None:
        async with timeout_at(clock, clock.monotonic() - 1):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(body())
    task.cancel()  # before the body's first step: the caller's cancel, not the deadline's
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not entered.is_set()


class _Socketish(httpx.AsyncBaseTransport):
    """The simulator, answering once the event loop has turned (as from a socket whose reply
    is already in its buffer), counting the replies it handed back."""

    def __init__(self, venue: BitgetVenue) -> None:
        self.inner = SimulatorTransport({"bitget": venue})
        self.asked = 0
        self.answered = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.asked += 1
        await asyncio.sleep(0)
        response = await self.inner.handle_async_request(request)
        self.answered += 1
        return response


@pytest.mark.parametrize("kind", ["virtual", "scaled", "live"])
@pytest.mark.parametrize("late", [0.0, 30.0])
async def test_a_fetch_run_past_its_deadline_stops_at_once(kind: str, late: float) -> None:
    clock = CLOCKS[kind]()
    transport = _Socketish(BitgetVenue(clock=clock))
    async with Session(transport=transport, clock=clock, store=False) as s:
        plan = s.plan(s.query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h",
                              start="-20d", end="-1d"))
        assert plan.graph.number_of_nodes() == 2  # the instrument list, then one page of bars
        failed: dict[int, BaseException] = {}
        parts = await _run(s, plan, plan.queries, failed, ends=clock.monotonic() - late)
        assert transport.answered == 0  # no reply got through: every request stopped at its first await
        assert parts == [[]]
        assert list(failed) == [0] and isinstance(failed[0], _Unfinished)
        # The same run with time left goes to the end: 456 hourly bars from 20 days back.
        failed = {}
        parts = await _run(s, plan, plan.queries, failed, ends=clock.monotonic() + 3600)
    assert failed == {}
    assert transport.answered == 2
    qp = plan.queries[0]
    bars = qp.binding.assemble(qp.query, parts[0], plan.now_ms)
    first = bars[0].open_time
    assert first == -(-(plan.now_ms - 20 * DAY) // HOUR) * HOUR  # the first whole hour of the range
    assert [bar.open_time for bar in bars] == [first + i * HOUR for i in range(456)]
