"""A stream frame with an impossible value is refused with an event, never delivered (issue 12 scope 6).

A hostile frame is slipped into the simulator's own feed (in order with its
real frames): a trade at a negative price, a book update with a negative
price level. Consumers get a FrameRefused event instead of the value; a book
resyncs, since it now misses a message.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

import tradeflood
from tradeflood.models import OrderBook, Trade
from tradeflood.streams import BookResync, BookResynced, FrameRefused, StreamEvent
from tradeflood.testing import Simulator, take


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


# A book message that is impossible only as a whole: an update that leaves the book crossed.
# Refused with FrameRefused like a negative price, never delivered; the book resyncs (Binance
# over a REST snapshot, Bitget by resubscribing for the venue's own). A snapshot that merely
# lists its levels out of order is still a book, sorted by price.

HOSTILE_BID = "1000000.00"  # far above any ask of the simulated BTC/USDT


async def _until_resynced(books: Any) -> tuple[list[Any], OrderBook]:
    """Everything the stream yields up to its BookResynced, and the next book after it."""
    seen = await take(books, 1, keep=lambda x: isinstance(x, BookResynced), timeout=20)
    (book,) = await take(books, 1, keep=lambda x: isinstance(x, OrderBook), timeout=20)
    return seen, book


def _collector(books: Any) -> list[Any]:
    """Wrap ``books.get`` so that every item it yields is also kept, in order."""
    kept: list[Any] = []
    get = books.get

    async def keep() -> Any:
        item = await get()
        kept.append(item)
        return item

    books.get = keep
    return kept


def _assert_refused_then_resynced(kept: list[Any], reason: str, resync_reason: str) -> None:
    refused = next(i for i, x in enumerate(kept) if isinstance(x, FrameRefused))
    assert reason in kept[refused].reason, kept[refused].reason
    rest = kept[refused + 1:]
    resync = next(i for i, x in enumerate(rest) if isinstance(x, BookResync))
    assert rest[resync].reason.startswith(resync_reason), rest[resync].reason
    resynced = next(i for i, x in enumerate(rest) if isinstance(x, BookResynced))
    # Not one book between the refused message and the rebuilt book.
    assert not any(isinstance(x, OrderBook) for x in rest[:resynced])
    assert all(isinstance(x, OrderBook) for x in kept[:refused] if not isinstance(x, StreamEvent))


def _sound(book: OrderBook) -> None:
    assert book.bids and book.asks and book.bids[0][0] < book.asks[0][0]
    assert book.bids[0][0] < Decimal(HOSTILE_BID)
    assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)


@pytest.mark.speed(1)
async def test_binance_update_that_crosses_the_book_is_refused_and_the_book_resyncs(
        session: tradeflood.Session, sim: Simulator) -> None:
    async with session.stream(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5,
                              overflow="raise", events=True) as books:
        kept = _collector(books)
        await take(books, 2, keep=lambda x: isinstance(x, OrderBook))
        server = sim.streams["binance"]
        feed = next(f for k, f in server.feeds.items() if "btcusdt@depth" in k)
        snapshots = sim.venues["binance"].stats.by_path["/api/v3/depth"]
        # The update that continues the venue's own sequence, so only its value is wrong.
        nxt, now = feed.last_u + 1, sim.venues["binance"].now_ms()
        server.publish(feed, {"e": "depthUpdate", "E": now, "s": "BTCUSDT", "U": nxt, "u": nxt,
                              "b": [[HOSTILE_BID, "1.0"]], "a": []})
        _, book = await _until_resynced(books)
    _assert_refused_then_resynced(kept, "crossed book: best bid 1000000", "crossed book")
    _sound(book)
    assert sim.venues["binance"].stats.by_path["/api/v3/depth"] > snapshots  # a REST resync


def _bitget_book_feed(sim: Simulator) -> Any:
    return next(f for k, f in sim.streams["bitget"].feeds.items() if k.endswith(":books:BTCUSDT"))


@pytest.mark.speed(1)
async def test_bitget_update_that_crosses_the_book_is_refused_and_the_book_resyncs(
        session: tradeflood.Session, sim: Simulator) -> None:
    async with session.stream(OrderBook, exchange="bitget", symbol="BTC/USDT", depth=5,
                              overflow="raise", events=True) as books:
        kept = _collector(books)
        await take(books, 2, keep=lambda x: isinstance(x, OrderBook))
        feed = _bitget_book_feed(sim)
        now = sim.venues["bitget"].now_ms()
        # No checksum or pseq (Bitget does not always send them): only the crossing tells.
        sim.streams["bitget"].publish(feed, feed.push("update", [{
            "asks": [], "bids": [[HOSTILE_BID, "1"]], "seq": feed.sent_seq + 1, "ts": str(now)}], now))
        _, book = await _until_resynced(books)
    _assert_refused_then_resynced(kept, "crossed book: best bid 1000000", "crossed book")
    _sound(book)


@pytest.mark.speed(1)
async def test_bitget_snapshot_out_of_order_is_sorted_into_the_book_not_refused(
        session: tradeflood.Session, sim: Simulator) -> None:
    """The venue's own book, its levels listed worst first (with the venue's checksum of the
    book best first): one book by price, so it is taken, and the updates after it still fit."""
    async with session.stream(OrderBook, exchange="bitget", symbol="BTC/USDT", depth=5,
                              overflow="raise", events=True) as books:
        await take(books, 2, keep=lambda x: isinstance(x, OrderBook))
        kept = _collector(books)
        feed = _bitget_book_feed(sim)
        now = sim.venues["bitget"].now_ms()
        bids, asks = feed.levels(feed.bids), feed.levels(feed.asks)
        best = (Decimal(bids[0][0]), Decimal(asks[0][0]))
        sim.streams["bitget"].publish(feed, feed.push("snapshot", [{
            "bids": bids[::-1], "asks": asks[::-1], "checksum": feed._checksum(), "seq": feed.sent_seq,
            "ts": str(now)}], now))
        after = await take(books, 4, keep=lambda x: isinstance(x, OrderBook), timeout=20)
    assert not [x for x in kept if isinstance(x, StreamEvent)], kept  # no refusal, no resync
    snapshot_book = next(x for x in kept if isinstance(x, OrderBook) and x.timestamp == now)
    assert (snapshot_book.bids[0][0], snapshot_book.asks[0][0]) == best
    for book in after:
        _sound(book)


class _CrossedSnapshots(httpx.AsyncBaseTransport):
    """Real HTTP to the simulator, but the first ``n`` Binance depth snapshots come crossed."""

    def __init__(self, n: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.left = n

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path != "/api/v3/depth" or not self.left:
            return response
        self.left -= 1
        body = json.loads(await response.aread())
        body["bids"][0][0] = str(Decimal(body["asks"][0][0]) + 100)
        return httpx.Response(200, json=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.speed(1)
@pytest.mark.parametrize("invalid", ["raise", "drop"])
async def test_a_crossed_rest_snapshot_is_never_the_book_and_is_asked_again(
        sim: Simulator, clock: Any, invalid: str) -> None:
    """Under invalid="drop" the snapshot fetch has no result (None) rather than an error;
    either way the book waits for a sound snapshot."""
    transport = _CrossedSnapshots(2)
    async with tradeflood.Session(urls=sim.urls(), clock=clock, store=False, transport=transport,
                                  invalid=invalid) as s, \
            s.stream(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5, overflow="raise") as books:
        (book,) = await take(books, 1, timeout=30)
    assert transport.left == 0  # both crossed snapshots were refused before this book
    _sound(book)
