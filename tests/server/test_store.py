"""Candles the store holds are answered from it: no request, the same values as the first fetch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.testing import Simulator

from .conftest import stream_settings

PARAMS = {"exchange": "bitget", "symbol": "BTC/USDT", "interval": "1m", "start": "2026-03-01T00:00:00Z",
          "end": "2026-03-02T00:00:00Z"}


@pytest.fixture
async def session(sim: Simulator, clock: ScaledClock, tmp_path: Path) -> AsyncIterator[tradeflood.Session]:
    async with tradeflood.Session(urls=sim.urls(), clock=clock, store=tmp_path / "candles.sqlite3",
                                  stream_settings=stream_settings()) as s:
        yield s


async def test_the_store_answers_what_it_holds(client: httpx.AsyncClient, sim: Simulator) -> None:
    first = await client.get("/v1/candles", params=PARAMS)
    assert first.status_code == 200 and len(first.json()["data"]) == 1440
    venue = sim.venues["bitget"]
    before = venue.stats.requests
    again = await client.get("/v1/candles", params=PARAMS)
    assert again.json() == first.json()
    arrow = await client.get("/v1/candles", params={**PARAMS, "format": "arrow"})
    import pyarrow as pa

    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.num_rows == 1440
    assert str(table.column("close")[0].as_py()) == first.json()["data"][0]["close"]
    assert venue.stats.requests == before  # nothing asked upstream
    # a range reaching past what the store holds still goes upstream, and is complete
    wider = await client.get("/v1/candles", params={**PARAMS, "end": "2026-03-02T01:00:00Z"})
    assert len(wider.json()["data"]) == 1500 and wider.json()["data"][:1440] == first.json()["data"]
    assert venue.stats.requests > before
