"""Backtest mode: a replaying session's fetches see what was live at its clock, never later."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.errors import FetchError
from tradeflood.models import OrderBook
from tradeflood.recording import ReplayMissError
from tradeflood.testing import BinanceVenue, Simulator

pytestmark = pytest.mark.integration


async def record_fetches(directory: Path) -> list[tuple[int, OrderBook]]:
    """Books fetched live every 10 clock seconds, with the clock time of each fetch (ms)."""
    clock = ScaledClock(60.0)
    out = []
    async with Simulator({"binance": BinanceVenue(clock=clock)}) as sim, tradeflood.Session(
            urls=sim.urls(), clock=clock, store=False, record=directory) as s:
        for _ in range(5):
            book = await s.afetch(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5)
            out.append((book.timestamp, book))
            await clock.sleep(10)
    return out


async def test_a_fetch_returns_the_book_live_at_the_clock_never_a_later_one(tmp_path: Path) -> None:
    live = await record_fetches(tmp_path)
    stamps = [t for t, _ in live]
    assert len({b.bids for _, b in live}) > 1  # the market moved between the fetches
    for k in range(1, 4):
        # Half a second... and eight seconds after the k-th fetch: the k-th book is the one live.
        for after_ms in (500, 8000):
            at = stamps[k] + after_ms
            async with tradeflood.Session(replay=tmp_path, speed="max", start=at) as s:
                book = await s.afetch(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5)
                assert book == live[k][1], (k, after_ms, stamps, book.timestamp)
                assert book.timestamp <= s.clock.time() * 1000  # nothing from after the clock
    # Just before a fetch's reply: the replay waits for it, as the live request did.
    async with tradeflood.Session(replay=tmp_path, speed="max", start=stamps[2] - 1000) as s:
        book = await s.afetch(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5)
        assert book == live[2][1] and s.clock.time() * 1000 >= stamps[2]


async def test_before_the_first_recorded_reply_there_is_nothing_to_answer(tmp_path: Path) -> None:
    live = await record_fetches(tmp_path)
    # A few seconds before the first request was sent live (a loaded live session sends later
    # than its replay asks): the replay waits for that first reply, and hands it at its arrival.
    async with tradeflood.Session(replay=tmp_path, speed="max", start=live[0][0] - 5_000) as s:
        book = await asyncio.wait_for(s.afetch(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5), 30)
        assert book == live[0][1] and s.clock.time() * 1000 >= live[0][0]
    # A minute before: no request of the live session is near; nothing to answer.
    async with tradeflood.Session(replay=tmp_path, speed="max", start=live[0][0] - 60_000) as s:
        with pytest.raises(FetchError) as caught:
            await asyncio.wait_for(s.afetch(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5), 30)
    assert isinstance(caught.value.cause, ReplayMissError)
    assert "no reply recorded before" in str(caught.value.cause)
    async with tradeflood.Session(replay=tmp_path, speed="max") as s:
        with pytest.raises(FetchError) as caught:
            await s.afetch(OrderBook, exchange="binance", symbol="ETH/USDT", depth=5)
    assert isinstance(caught.value.cause, ReplayMissError)
