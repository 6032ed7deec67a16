"""OKX mark and index candle streams against the simulator; the other venues poll."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.errors import UnknownExchangeError
from tradeflood.models import IndexCandle, MarkCandle
from tradeflood.streams import StreamEvent
from tradeflood.testing import Simulator
from tradeflood.testing._derived import price_bar
from tradeflood.testing._grid import Grid
from tradeflood.testing._okx import OkxVenue

MINUTE = 60_000


@pytest.mark.parametrize(("model", "kind", "native"), [(MarkCandle, "mark", "BTC-USDT-SWAP"),
                                                       (IndexCandle, "index", "BTC-USDT")])
async def test_okx_streams_closed_bars_with_the_venues_prices(model: type, kind: str, native: str) -> None:
    clock = ScaledClock(60.0)  # a minute a second
    venue = OkxVenue(clock=clock)
    closed: list[Any] = []
    async with Simulator({"okx": venue}) as sim, \
            tradeflood.Session(urls=sim.urls(), clock=clock, store=False) as s, \
            s.stream(model, exchange="okx", symbol="BTC/USDT:USDT", interval="1m") as st:

        async def run() -> None:
            while len(closed) < 2:
                item = await st.get()
                if not isinstance(item, StreamEvent) and item.closed:
                    closed.append(item)
        await asyncio.wait_for(run(), 60)
    inst = venue.market.find("BTCUSDT", "perp")
    assert inst is not None
    for bar in closed:
        want = price_bar(venue.market, inst, Grid.fixed(MINUTE), bar.open_time, bar.close_time + 1, kind)
        assert type(bar) is model and bar.native_symbol == native
        assert (bar.open, bar.high, bar.low, bar.close) == (want.open, want.high, want.low, want.close)


def test_the_other_venues_say_to_poll() -> None:
    with pytest.raises(UnknownExchangeError, match=r"bybit has no MarkCandle streams.*okx"):
        tradeflood.registry.resolve(tradeflood.Query(MarkCandle, exchange="bybit", symbol="BTC/USDT:USDT",
                                                     interval="1m", live=True))
    query = tradeflood.registry.resolve(
        tradeflood.Query(MarkCandle, exchange="bybit", symbol="BTC/USDT:USDT", interval="1m", poll=5))
    assert query.options == {"poll": 5}
