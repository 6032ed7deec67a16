"""OKX mark and index candle streams against the simulator; the other venues poll."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

import tradeflood
from tradeflood import VirtualClock
from tradeflood.clock import ScaledClock
from tradeflood.errors import UnknownExchangeError
from tradeflood.models import IndexCandle, MarkCandle
from tradeflood.streams import CandleGap, StreamEvent
from tradeflood.testing import Simulator, take
from tradeflood.testing._derived import price_bar
from tradeflood.testing._grid import Grid
from tradeflood.testing._okx import OkxVenue
from tradeflood.testing._okx_ws import OkxStreams, _PriceCandles

from .conftest import NOW, make, session

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


def test_the_simulators_late_pump_still_pushes_every_bar_once_in_order() -> None:
    """A poll that comes three bars late (a loaded machine) pushes each bar closed since the last
    poll, in order, final, then the forming one; none is skipped and none comes twice."""
    clock = ScaledClock(1.0)
    venue = OkxVenue(clock=clock)
    server = OkxStreams(venue, clock=clock)
    feed = server._price_candles("mark-price-candle1m", "BTC-USDT-SWAP")
    assert feed is not None
    inst = venue.market.find("BTCUSDT", "perp")
    assert inst is not None
    t0 = 1_717_200_000_000
    rows = [push["data"][0] for push in feed.poll(t0 + 30_000)]
    assert [(int(r[0]), r[5]) for r in rows] == [(t0, "0")]
    late = t0 + 3 * MINUTE + 5_000
    rows = [push["data"][0] for push in feed.poll(late)]
    assert [(int(r[0]), r[5]) for r in rows] == [(t0, "1"), (t0 + MINUTE, "1"), (t0 + 2 * MINUTE, "1"),
                                                 (t0 + 3 * MINUTE, "0")]
    for row in rows[:3]:
        want = price_bar(venue.market, inst, Grid.fixed(MINUTE), int(row[0]), late, "mark")
        assert [Decimal(x) for x in row[1:5]] == [want.open, want.high, want.low, want.close]
    rows = [push["data"][0] for push in feed.poll(late + 1_000)]
    assert [(int(r[0]), r[5]) for r in rows] == [(t0 + 3 * MINUTE, "0")]  # nothing closed again


@pytest.mark.parametrize("rest_has_it", [True, False])
async def test_a_bar_the_stream_skipped_is_backfilled_or_reported_as_a_gap(rest_has_it: bool) -> None:
    """A hostile feed never pushes one bar: the client fetches it over REST and hands it out in
    its place; when REST lacks it too, a CandleGap names the missing bar's open time."""
    clock = ScaledClock(60.0)  # a minute a second
    venue = OkxVenue(clock=clock)
    skipped: list[int] = []

    class SkipsOneBar(_PriceCandles):
        def opens(self, now_ms: int) -> list[int]:
            opens = super().opens(now_ms)
            if not skipped:  # the bar after the first one this feed shows
                skipped.append(self.grid.next(opens[-1]))
                if not rest_has_it:
                    venue.gaps.add("BTC-USDT-SWAP", skipped[0], skipped[0] + MINUTE)
            return [t for t in opens if t != skipped[0]]

    items: list[Any] = []
    async with Simulator({"okx": venue}) as sim:
        server = sim.streams["okx"]

        def hostile(channel: str, wanted: str) -> Any:
            arg = {"channel": channel, "instId": wanted}
            inst = venue.market.find("BTCUSDT", "perp")
            return server.feeds.get(f"{channel}:{wanted}") or SkipsOneBar(
                "mark", Grid.fixed(MINUTE), arg, inst, venue.market, server.candle_interval)

        server._price_candles = hostile  # type: ignore[method-assign]
        async with tradeflood.Session(urls=sim.urls(), clock=clock, store=False) as s, \
                s.stream(MarkCandle, exchange="okx", symbol="BTC/USDT:USDT", interval="1m",
                         events=True) as st:

            async def run() -> None:
                while not skipped or not any(not isinstance(x, StreamEvent) and x.open_time > skipped[0]
                                             for x in items):
                    items.append(await st.get())
            await asyncio.wait_for(run(), 60)
    missing = skipped[0]
    events = [x for x in items if isinstance(x, StreamEvent)]
    bars = [x for x in items if not isinstance(x, StreamEvent)]
    opens = [b.open_time for b in bars]
    assert all(b.closed for b in bars) and opens == sorted(set(opens))
    assert opens[-1] == missing + MINUTE and opens[-2] == (missing if rest_has_it else missing - MINUTE)
    if rest_has_it:
        assert events == []
        inst = venue.market.find("BTCUSDT", "perp")
        assert inst is not None
        got = next(b for b in bars if b.open_time == missing)
        want = price_bar(venue.market, inst, Grid.fixed(MINUTE), missing, missing + MINUTE + 1, "mark")
        assert (got.open, got.high, got.low, got.close) == (want.open, want.high, want.low, want.close)
    else:
        [gap] = events
        assert isinstance(gap, CandleGap)
        assert (gap.start_ms, gap.end_ms, gap.symbol) == (missing, missing + MINUTE, "BTC/USDT:USDT")
        # in order with the bars: after the one before the hole, before the one after it
        assert items.index(gap) == len(items) - 2


@pytest.mark.parametrize("name", ["binance", "bybit", "bitget"])
@pytest.mark.parametrize("model", [MarkCandle, IndexCandle])
async def test_a_polled_bar_stream_starts_with_the_bar_forming_at_its_first_poll(
        name: str, model: type, clock: VirtualClock) -> None:
    """As on a candle stream: no page of old closed bars first, but the bar forming when the
    stream started (once closed), then each new one, once, in order, with the venue's values."""
    venue = make(name, clock)
    async with session(venue, clock) as s:
        async with s.stream(model, exchange=name, symbol="BTC/USDT:USDT", interval="1m", poll=20) as st:
            bars = await take(st, 3, timeout=60)
        first = NOW - NOW % MINUTE  # the first poll is asked at NOW, 30 s into this bar
        assert [b.open_time for b in bars] == [first, first + MINUTE, first + 2 * MINUTE]
        assert all(type(b) is model and b.closed for b in bars)
        direct = await s.afetch(model, exchange=name, symbol="BTC/USDT:USDT", interval="1m",
                                start=first, end=first + 3 * MINUTE)
    assert list(bars) == list(direct)
