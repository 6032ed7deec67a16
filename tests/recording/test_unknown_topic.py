"""A replay asked for a stream the recording does not hold says so, as a typed error."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import tradeflood
from tradeflood.errors import StreamRejectedError
from tradeflood.models import Trade
from tradeflood.testing import Simulator

pytestmark = pytest.mark.integration


async def test_a_topic_never_recorded_is_refused_by_name(tmp_path: Path) -> None:
    async with Simulator() as sim, tradeflood.Session(urls=sim.urls(), store=False, record=tmp_path) as s:
        trades = s.stream(Trade, exchange="binance", symbol="BTC/USDT")
        first = await asyncio.wait_for(trades.get(), 20)
        await trades.close()
    assert isinstance(first, Trade)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["topics"] == {"binance ws": ["btcusdt@trade"]}
    async with tradeflood.Session(replay=tmp_path, speed="max") as s:
        good = s.stream(Trade, exchange="binance", symbol="BTC/USDT")
        bad = s.stream(Trade, exchange="binance", symbol="ETH/USDT")
        with pytest.raises(StreamRejectedError, match=r"holds no ethusdt@trade \(it has: btcusdt@trade\)"):
            await asyncio.wait_for(bad.get(), 20)
        replayed = [t async for t in good]
    assert replayed[0] == first
