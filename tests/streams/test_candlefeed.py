"""Candle feeds against a hostile in-process feed: a bar the venue never closed on the stream is
fetched over REST in its place, or reported as a CandleGap naming it; never skipped silently."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from tradeflood import VirtualClock
from tradeflood.errors import NetworkError
from tradeflood.models import Candle
from tradeflood.streams import CandleGap
from tradeflood.streams._candlefeed import CandleFeed
from tradeflood.streams._protocol import Topic

T0 = 1_704_067_200_000  # 2024-01-01T00:00Z
MINUTE = 60_000


def bar(open_time: int, closed: bool = True) -> Candle:
    px = Decimal(100 + (open_time - T0) // MINUTE)
    return Candle(exchange="x", symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
                  open_time=open_time, open=px, high=px + 1, low=px - 1, close=px, volume="1",
                  quote_volume="100", closed=closed)


class Venue:
    """The REST side: the bars it has, or a failure on every ask."""

    def __init__(self, bars: list[Candle], fails: bool = False) -> None:
        self.bars, self.fails = bars, fails
        self.asked: list[tuple[int, int]] = []

    async def afetch(self, model: type, **params: Any) -> list[Candle]:
        assert model is Candle
        self.asked.append((params["start"], params["end"]))
        if self.fails:
            raise NetworkError("x", "GET /klines", "connection refused")
        return [b for b in self.bars if params["start"] <= b.open_time < params["end"]]


class Recorder(CandleFeed):
    def __init__(self, venue: Venue) -> None:
        hub = SimpleNamespace(session=venue, clock=VirtualClock(start=T0 / 1000),
                              spawn=lambda coro: asyncio.get_running_loop().create_task(coro))
        query = SimpleNamespace(exchange="x", symbol="BTC/USDT", interval="1m", model=Candle)
        binding = SimpleNamespace(closes_explicitly=True)
        super().__init__(hub, binding, query, Topic("x", "ws", "kline.1m.BTCUSDT"))
        self.out: list[Any] = []

    def publish(self, item: Any) -> None:
        if item.closed:
            self.out.append(item)

    def event(self, event: Any) -> None:
        self.out.append(event)

    def push(self, candle: Candle, received_ms: int) -> None:
        self.receive([candle], SimpleNamespace(action=None), received_ms)  # type: ignore[arg-type]


async def _skip_one(venue: Venue) -> Recorder:
    """The stream shows T0 forming, closes it, never shows T1, then closes T2."""
    feed = Recorder(venue)
    feed.push(bar(T0, closed=False), T0 + 10_000)
    feed.push(bar(T0), T0 + MINUTE + 5)
    feed.push(bar(T0 + 2 * MINUTE, closed=False), T0 + 2 * MINUTE + 5)  # T1 never came
    feed.push(bar(T0 + 2 * MINUTE), T0 + 3 * MINUTE + 5)
    assert feed._backfill is not None
    await asyncio.wait_for(feed._backfill, 10)
    return feed


async def test_a_skipped_bar_rest_has_is_handed_out_in_its_place() -> None:
    venue = Venue([bar(T0), bar(T0 + MINUTE), bar(T0 + 2 * MINUTE)])
    feed = await _skip_one(venue)
    assert [c.open_time for c in feed.out] == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
    assert feed.out[1] == bar(T0 + MINUTE) and feed.backfilled == 1
    assert venue.asked == [(T0 + MINUTE, T0 + 2 * MINUTE)]


@pytest.mark.parametrize("fails", [False, True], ids=["rest-lacks-it", "rest-fails"])
async def test_a_skipped_bar_nobody_can_give_is_a_gap_naming_its_open_time(fails: bool) -> None:
    venue = Venue([bar(T0), bar(T0 + 2 * MINUTE)], fails=fails)
    feed = await _skip_one(venue)
    first, gap, last = feed.out
    assert (first.open_time, last.open_time) == (T0, T0 + 2 * MINUTE)
    assert isinstance(gap, CandleGap)
    assert (gap.start_ms, gap.end_ms) == (T0 + MINUTE, T0 + 2 * MINUTE)  # the missing bar, exactly
    assert (gap.exchange, gap.symbol) == ("x", "BTC/USDT")
    assert feed.backfilled == 0 and len(venue.asked) == (3 if fails else 1)


async def test_a_hole_inside_a_longer_backfill_is_named_exactly() -> None:
    """Three bars missing on the stream; REST has the first and the last: the gap is the middle one."""
    venue = Venue([bar(T0 + MINUTE), bar(T0 + 3 * MINUTE)])
    feed = Recorder(venue)
    feed.push(bar(T0, closed=False), T0 + 10_000)
    feed.push(bar(T0), T0 + MINUTE + 5)
    feed.push(bar(T0 + 4 * MINUTE), T0 + 5 * MINUTE + 5)
    assert feed._backfill is not None
    await asyncio.wait_for(feed._backfill, 10)
    opens = [x.open_time if isinstance(x, Candle) else ("gap", x.start_ms, x.end_ms) for x in feed.out]
    assert opens == [T0, T0 + MINUTE, ("gap", T0 + 2 * MINUTE, T0 + 3 * MINUTE), T0 + 3 * MINUTE,
                     T0 + 4 * MINUTE]
