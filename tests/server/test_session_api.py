"""The two public Session methods the server reads: rate-limit headroom and live-stream counts."""

from __future__ import annotations

import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.models import Instrument, Ticker, Trade

from .conftest import until


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(1.0)  # real time: a request's weight stays in Bitget's 1 s window while we look


async def test_headroom_and_stream_stats(session: tradeflood.Session) -> None:
    fresh = session.headroom()
    assert fresh["bitget"]["spot-tickers"] == 1.0 and fresh["binance"]["spot"] == 1.0
    assert session.stream_stats() == {"consumers": 0, "upstreams": 0, "deliveries": 0, "connections": 0,
                                      "tasks": 0}
    await session.afetch(Instrument, exchange="bitget")
    await session.afetch(Ticker, exchange="bitget", symbol="BTC/USDT")
    used = session.headroom()["bitget"]
    assert used["spot-tickers"] == 1 - 1 / 20 and used["spot-symbols"] == 1 - 1 / 20  # 20 a second each
    assert used["spot-candles"] == 1.0
    seen: list[object] = []
    sub = session.subscribe(Trade, seen.append, exchange="bitget", symbol="BTC/USDT")
    await sub.ready()
    stats = session.stream_stats()
    assert (stats["consumers"], stats["upstreams"], stats["connections"]) == (1, 1, 1)
    await sub.close()
    await until(lambda: session.stream_stats()["upstreams"] == 0)
