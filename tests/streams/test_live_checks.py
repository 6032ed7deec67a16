"""A stream frame with an impossible value is refused with an event, never delivered (issue 12 scope 6).

A hostile frame is slipped into the simulator's own feed (in order with its
real frames): a trade at a negative price, a book update with a negative
price level. Consumers get a FrameRefused event instead of the value; a book
resyncs, since it now misses a message.
"""

from __future__ import annotations

from typing import Any

import pytest

import tradeflood
from tradeflood.models import OrderBook, Trade
from tradeflood.streams import BookResync, BookResynced, FrameRefused, StreamEvent
from tradeflood.testing import Simulator

from .conftest import take


def _feed(sim: Simulator, key: str) -> Any:
    return sim.streams["binance"].feeds[key]


async def test_impossible_trades_are_refused_not_delivered(
        session: tradeflood.Session, sim: Simulator) -> None:
    async with session.stream(Trade, exchange="binance", symbol="BTC/USDT", events=True) as trades:
        await take(trades, 3, keep=lambda x: isinstance(x, Trade))
        server = sim.streams["binance"]
        feed = next(f for k, f in server.feeds.items() if k.endswith("btcusdt@trade"))
        now = sim.venues["binance"].now_ms()
        for ident, price, qty in ((10**15, "-7.5", "0.5"), (10**15 + 1, "7.5", "0")):
            server.publish(feed, {"e": "trade", "E": now, "s": "BTCUSDT", "t": ident, "p": price,
                                  "q": qty, "T": now, "m": True, "M": True})
        events = await take(trades, 2, keep=lambda x: isinstance(x, FrameRefused))
        after = await take(trades, 5, keep=lambda x: isinstance(x, Trade))
    assert {(e.exchange, e.symbol, e.topic) for e in events} == {("binance", "BTC/USDT", "btcusdt@trade")}
    assert str(10**15) in events[0].reason  # refused by the venue's parse, which checks signs
    assert "amount is 0, not a positive size" in events[1].reason  # refused by the value checks
    assert all(t.price > 0 and t.amount > 0 and int(t.id) < 10**15 for t in after)


@pytest.mark.speed(1)
async def test_a_book_update_with_a_negative_price_resyncs_the_book(
        session: tradeflood.Session, sim: Simulator) -> None:
    async with session.stream(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5,
                              overflow="raise", events=True) as books:
        await take(books, 2, keep=lambda x: isinstance(x, OrderBook))
        server = sim.streams["binance"]
        feed = next(f for k, f in server.feeds.items() if "btcusdt@depth" in k)
        now = sim.venues["binance"].now_ms()
        server.publish(feed, {"e": "depthUpdate", "E": now, "s": "BTCUSDT", "U": 1, "u": 1,
                              "b": [["-1.00", "3.0"]], "a": []})
        events = await take(books, 3, keep=lambda x: isinstance(x, StreamEvent), timeout=20)
        (book,) = await take(books, 1, keep=lambda x: isinstance(x, OrderBook), timeout=20)
    assert isinstance(events[0], FrameRefused) and "bids price" in events[0].reason
    assert isinstance(events[1], BookResync) and events[1].reason == "invalid message"
    assert isinstance(events[2], BookResynced)
    assert all(p > 0 for p, _ in book.bids) and book.bids[0][0] < book.asks[0][0]
