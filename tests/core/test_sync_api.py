"""Sync and async are one API: the same session works with `with`, `async with`, and across both."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx
from toyvenue import MINUTE, ToyServer

import tradeflood
from tradeflood import LiveClock, Query, Session, TradeFloodError
from tradeflood.models import Candle, Ticker


def _candles(now: int) -> list[Query]:
    return [Query(Candle, exchange="toy", symbol="BTC/USD", interval="1m", start=now - a * MINUTE,
                  end=now - b * MINUTE, now_ms=now) for a, b in ((30, 10), (20, 5))]


def test_sync_session_fetch_plan_and_gather() -> None:
    server = ToyServer(LiveClock())
    with Session(transport=httpx.MockTransport(server)) as s:
        now = int(s.clock.time() * 1000) // (10 * MINUTE) * (10 * MINUTE)  # on the 10-minute page grid
        ticker = s.fetch(Ticker, exchange="toy", symbol="BTC/USD")
        assert str(ticker.last) == "101.5"
        qs = _candles(now)
        assert s.plan(*qs).requests == 3  # pages [-30,-20) [-20,-10) [-10,0); the listing is cached
        a, b = s.gather(*qs)
    assert (len(a), len(b)) == (20, 15)
    assert a[0].open_time == now - 30 * MINUTE and b[-1].open_time == now - 6 * MINUTE
    with pytest.raises(TradeFloodError, match="closed"):
        s.fetch(Ticker, exchange="toy", symbol="BTC/USD")


async def test_async_session_and_a_sync_session_used_from_async_code() -> None:
    server = ToyServer(LiveClock())
    async with Session(transport=httpx.MockTransport(server)) as s:
        t = await s.afetch(Ticker, exchange="toy", symbol="ETH/USD")
        with pytest.raises(TradeFloodError, match="use the async methods"):
            s.fetch(Ticker, exchange="toy", symbol="ETH/USD")
    assert t.native_symbol == "ETHUSD"

    sync = Session(transport=httpx.MockTransport(server))
    sync.fetch(Ticker, exchange="toy", symbol="BTC/USD")  # binds the session to its own loop thread
    t2 = await sync.afetch(Ticker, exchange="toy", symbol="BTC/USD")  # bridged from this loop
    await sync.aclose()
    assert t2.native_symbol == "BTCUSD"
    assert server.hits["/symbols"] == 2  # one listing per session


@respx.mock
def test_module_level_fetch_and_afetch() -> None:
    respx.get("https://toy.example/symbols").mock(return_value=httpx.Response(200, json=["BTCUSD"]))
    respx.get("https://toy.example/ticker").mock(return_value=httpx.Response(200, json={"last": "7"}))
    assert str(tradeflood.fetch(Ticker, exchange="toy", symbol="BTC/USD").last) == "7"
    assert str(asyncio.run(tradeflood.afetch(Ticker, exchange="toy", symbol="BTC/USD")).last) == "7"
