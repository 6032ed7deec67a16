"""A venue that always sends an impossible book is asked again at a bounded pace (issue 12).

Refused snapshots in a row back off on the session's clock (1 s, 2 s, 4 s ...
at most 60 s) before the book is asked for again, each refusal reported as a
FrameRefused event with its count and wait; a book whole again starts the count
over. Time runs 60x (conftest): eight refusals in a row span about two real seconds.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Any

import httpx
import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.models import OrderBook
from tradeflood.streams import BookResynced, FrameRefused
from tradeflood.testing import Simulator, take
from tradeflood.testing._bitget_ws import _Book

from .conftest import until

REFUSALS = 8  # refusals in a row watched: waits of 1, 2, 4 ... 64 -> 60 clock seconds


def schedule(refusals: int) -> list[float]:
    """The designed waits after the first ``refusals`` refusals in a row."""
    return [min(60.0, 2.0 ** i) for i in range(refusals)]


def most_asks(span: float) -> int:
    """The most times a book can be asked for in ``span`` clock seconds of refusals: once at
    the start, then once after each wait of the schedule that fits."""
    asks, spent = 1, 0.0
    for wait in schedule(64):
        spent += wait
        if spent > span:
            return asks
        asks += 1
    return asks


def _refusal_events(events: list[Any]) -> list[FrameRefused]:
    return [e for e in events if isinstance(e, FrameRefused)]


def _assert_paced(times: list[float]) -> None:
    """``times`` (clock seconds) of asks in a row, each refused: never sooner than the schedule,
    so never more in any span than it allows (whatever the machine's load made of the rest)."""
    gaps = [b - a for a, b in pairwise(times)]
    assert all(gap >= wait - 2e-3 for gap, wait in zip(gaps, schedule(len(gaps)), strict=True)), gaps
    for i, start in enumerate(times):
        within = [t for t in times[i:] if t - start <= 200.0]
        assert len(within) <= most_asks(200.0) == 9


def _assert_counted(refused: list[FrameRefused]) -> None:
    assert [e.refusals for e in refused] == list(range(1, len(refused) + 1))
    assert [e.retry_ms for e in refused] == [round(w * 1000) for w in schedule(len(refused))]


class _CrossedDepth(httpx.AsyncBaseTransport):
    """Real HTTP to the simulator, but every Binance depth snapshot is a crossed book while
    ``hostile``; each depth request's clock time is kept."""

    def __init__(self, clock: ScaledClock) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.clock = clock
        self.hostile = True
        self.asked: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/v3/depth":
            return await self.inner.handle_async_request(request)
        self.asked.append(self.clock.monotonic())
        if not self.hostile:
            return await self.inner.handle_async_request(request)
        # Answered here, at once (the simulator's 1000-level book takes long at 60x): a book
        # whose best bid is above its best ask.
        body = {"lastUpdateId": 1, "bids": [["30100.00", "1.0"], ["30000.00", "2.0"]],
                "asks": [["30050.00", "1.0"]]}
        return httpx.Response(200, json=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("invalid", ["raise", "drop"])
async def test_rest_snapshots_that_are_always_crossed_are_asked_for_at_a_bounded_pace(
        sim: Simulator, clock: ScaledClock, invalid: str) -> None:
    transport = _CrossedDepth(clock)
    events: list[Any] = []
    # The honest 1000-level snapshot takes the simulator long at 60x: its deadline in clock seconds.
    async with tradeflood.Session(urls=sim.urls(), clock=clock, store=False, transport=transport,
                                  invalid=invalid, request_deadline=6000.0) as s, \
            s.stream(OrderBook, exchange="binance", symbol="BTC/USDT", depth=5, overflow="raise",
                     on_event=events.append) as books:
        await until(lambda: len(_refusal_events(events)) >= REFUSALS, timeout=120)
        asked, refused = transport.asked[:REFUSALS], _refusal_events(events)[:REFUSALS]
        _assert_paced(asked)  # the REST requests themselves
        _assert_counted(refused)  # each one refused, an event with its count and wait
        assert all(e.topic == "btcusdt@depth@100ms" and "crossed book" in e.reason for e in refused)
        assert not [e for e in events if isinstance(e, BookResynced)]  # no book while refused
        # The venue answers honestly again: the book comes back, and the count starts over.
        transport.hostile = False
        (book,) = await take(books, 1, keep=lambda x: isinstance(x, OrderBook), timeout=30)
        assert book.bids[0][0] < book.asks[0][0]
        before = len(_refusal_events(events))
        server = sim.streams["binance"]
        venue_feed = next(f for k, f in server.feeds.items() if "btcusdt@depth" in k)
        nxt, now = venue_feed.last_u + 1, sim.venues["binance"].now_ms()
        server.publish(venue_feed, {"e": "depthUpdate", "E": now, "s": "BTCUSDT", "U": nxt, "u": nxt,
                                    "b": [["1000000.00", "1.0"]], "a": []})
        await until(lambda: len(_refusal_events(events)) > before, timeout=30)
        again = _refusal_events(events)[before]
        assert (again.refusals, again.retry_ms) == (1, 1000) and "crossed book" in again.reason


async def test_stream_snapshots_that_are_always_crossed_are_resubscribed_at_a_bounded_pace(
        sim: Simulator, clock: ScaledClock, session: tradeflood.Session,
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = _Book.first

    def crossed(self: _Book, now_ms: int) -> list[Any]:
        messages = first(self, now_ms)
        for message in messages:
            data = message["data"][0]
            data["bids"][0][0] = str(Decimal(data["asks"][0][0]) + 100)
        return messages

    monkeypatch.setattr(_Book, "first", crossed)
    server = sim.streams["bitget"]
    events: list[Any] = []
    async with session.stream(OrderBook, exchange="bitget", symbol="BTC/USDT", depth=5,
                              on_event=events.append):
        await until(lambda: bool(_refusal_events(events)), timeout=30)
        subscribed = server.stats.subscribe_messages  # the subscription the first refusal came on
        await until(lambda: len(_refusal_events(events)) >= REFUSALS, timeout=120)
        refused = _refusal_events(events)[:REFUSALS]
        resubscribed = server.stats.subscribe_messages - subscribed
    # Each refused snapshot came on a resubscription made once the last refusal's wait passed.
    _assert_paced([e.timestamp / 1000 for e in refused])
    _assert_counted(refused)
    assert REFUSALS - 1 <= resubscribed <= REFUSALS
    assert all("books" in e.topic and "crossed book" in e.reason for e in refused)
