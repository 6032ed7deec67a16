"""Server tests: a real uvicorn on 127.0.0.1 (a free port) with the venue simulator behind it.

The simulator and the session share a ScaledClock running 60 times faster than
real time, as in tests/streams, so one-minute candles close every real second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.server import ServerSettings, create_app
from tradeflood.server._run import _Server
from tradeflood.streams import Backoff, StreamSettings
from tradeflood.testing import BinanceVenue, BitgetVenue, BybitVenue, OkxVenue, Simulator

FACTOR = 60.0


@dataclass
class Running:
    """A server running in this event loop."""

    url: str
    ws_url: str
    app: Any
    server: uvicorn.Server
    session: tradeflood.Session

    @property
    def state(self) -> Any:
        return self.app.state.tradeflood


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(FACTOR)


@pytest.fixture
async def sim(clock: ScaledClock) -> AsyncIterator[Simulator]:
    # Every registered venue, so that readiness (every venue reachable) can be true.
    venues = {"bitget": BitgetVenue(clock=clock), "binance": BinanceVenue(clock=clock),
              "okx": OkxVenue(clock=clock), "bybit": BybitVenue(clock=clock)}
    async with Simulator(venues) as simulator:
        yield simulator


def stream_settings() -> StreamSettings:
    return StreamSettings(backoff=Backoff(first=0.5, most=3.0), stale_after=3.0, open_timeout=5.0)


@pytest.fixture
def settings() -> ServerSettings:
    """Override in a test module (or parametrize) for keys, limits, callbacks."""
    return ServerSettings(callback_allow_hosts=("127.0.0.1",), callback_backoff=0.05, poll_linger=1.0)


async def start_server(app: Any, session: tradeflood.Session) -> Running:
    # No keepalive pings from the test server: the tests' clients read when the test reads
    # (a thousand sockets subscribed and read later; ten thousand subscribes sent before the
    # answers are read), and a client whose reading is paused cannot answer a ping, so on a
    # loaded machine the server closed them (1011) mid-test. The tests' own deadlines catch a
    # dead server; keepalive is uvicorn's, not what these tests check.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
                            ws_max_size=4 << 20, timeout_graceful_shutdown=5, ws_ping_interval=None)
    server = _Server(config)
    server._app = app  # type: ignore[attr-defined]
    task = asyncio.ensure_future(server.serve())
    server._task = task  # type: ignore[attr-defined]
    await until(lambda: server.started or task.done(), 20)
    if task.done():
        task.result()
    port = server.servers[0].sockets[0].getsockname()[1]
    return Running(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", app, server, session)


async def stop_server(running: Running) -> None:
    running.server.should_exit = True
    await asyncio.wait_for(running.server._task, 20)  # type: ignore[attr-defined]


@pytest.fixture
async def session(sim: Simulator, clock: ScaledClock) -> AsyncIterator[tradeflood.Session]:
    async with tradeflood.Session(urls=sim.urls(), clock=clock, store=False,
                                  stream_settings=stream_settings()) as s:
        yield s


@pytest.fixture
async def server(settings: ServerSettings, session: tradeflood.Session) -> AsyncIterator[Running]:
    running = await start_server(create_app(settings, session=session), session)
    try:
        yield running
    finally:
        await stop_server(running)


@pytest.fixture
async def client(server: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        yield c


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (real time) until ``predicate()`` holds."""
    async def run() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(run(), timeout)
