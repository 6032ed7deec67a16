"""A live trade frame holding a trade at a price or size not positive is refused for its topic
with an event, never delivered, on Bitget, OKX and Bybit as on Binance (issue 12).

invalid="drop" is a fetch's option: a stream never drops one trade of a frame and delivers
the rest; it refuses the frame, and the trades after it flow on. Hostile frames are slipped
into the simulator's own trade feed, in order with its real frames.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import tradeflood
from tradeflood.clock import ScaledClock
from tradeflood.models import Trade
from tradeflood.streams import Backoff, FrameRefused, StreamSettings
from tradeflood.testing import BitgetVenue, BybitVenue, OkxVenue, Simulator, take

HOSTILE_ID = 10**15  # far above the simulated market's trade ids


@pytest.fixture
async def sim(clock: ScaledClock) -> AsyncIterator[Simulator]:
    venues = {"bitget": BitgetVenue(clock=clock), "okx": OkxVenue(clock=clock),
              "bybit": BybitVenue(clock=clock)}
    async with Simulator(venues) as simulator:
        yield simulator


@pytest.fixture
async def session(sim: Simulator, clock: ScaledClock) -> AsyncIterator[tradeflood.Session]:
    settings = StreamSettings(backoff=Backoff(first=0.5, most=3.0), stale_after=3.0, open_timeout=5.0)
    async with tradeflood.Session(urls=sim.urls(), clock=clock, store=False, stream_settings=settings,
                                  invalid="drop") as s:  # a fetch option: a stream refuses all the same
        yield s


def _bitget(feed: Any, now: int, rows: list[tuple[int, str, str]]) -> Any:
    return feed.push("update", [{"ts": str(now), "price": p, "size": q, "side": "sell", "tradeId": str(i)}
                                for i, p, q in rows], now)


def _okx(feed: Any, now: int, rows: list[tuple[int, str, str]]) -> Any:
    return feed.push([{"instId": "BTC-USDT", "side": "sell", "sz": q, "px": p, "tradeId": str(i),
                       "ts": str(now), "count": "1"} for i, p, q in rows])


def _bybit(feed: Any, now: int, rows: list[tuple[int, str, str]]) -> Any:
    return feed.push([{"T": now, "s": "BTCUSDT", "S": "Sell", "v": q, "p": p, "L": "ZeroPlusTick",
                       "i": str(i), "BT": False} for i, p, q in rows], now)


FRAMES: dict[str, Callable[[Any, int, list[tuple[int, str, str]]], Any]] = {
    "bitget": _bitget, "okx": _okx, "bybit": _bybit}
# Why each hostile frame is refused: Bitget's and OKX's parses leave signs to the value checks
# (shared with their REST trades); Bybit's stream parse refuses a sign itself, by the wire's name.
REASONS = {
    "bitget": ["item 0: price is -7.5, not a positive price (id {H})",
               "item 0: amount is 0, not a positive size (id {H2})",
               "item 0: amount is -0.5, not a positive size (id {H3})"],
    "okx": ["item 0: price is -7.5, not a positive price (id {H})",
            "item 0: amount is 0, not a positive size (id {H2})",
            "item 0: amount is -0.5, not a positive size (id {H3})"],
    "bybit": ["trade 0: p is '-7.5', not a non-negative number",
              "item 0: amount is 0, not a positive size (id {H2})",
              "trade 0: v is '-0.5', not a non-negative number"],
}


@pytest.mark.parametrize("venue", list(FRAMES))
async def test_a_trade_frame_with_an_impossible_value_is_refused_not_delivered(
        session: tradeflood.Session, sim: Simulator, venue: str) -> None:
    async with session.stream(Trade, exchange=venue, symbol="BTC/USDT", events=True) as trades:
        await take(trades, 3, keep=lambda x: isinstance(x, Trade), timeout=30)
        seen = _everything(trades)
        server = sim.streams[venue]
        feed = next(f for f in server.feeds.values() if type(f).__name__ == "_Trades")
        now = sim.venues[venue].now_ms()
        h = HOSTILE_ID
        make = FRAMES[venue]
        # A negative price beside a sound trade: the whole frame is refused, the sound one too.
        server.publish(feed, make(feed, now, [(h, "-7.5", "0.5"), (h + 1, "7.5", "0.5")]))
        server.publish(feed, make(feed, now, [(h + 2, "7.5", "0")]))
        server.publish(feed, make(feed, now, [(h + 3, "7.5", "-0.5")]))
        refused = await take(trades, 3, keep=lambda x: isinstance(x, FrameRefused), timeout=30)
        after = await take(trades, 5, keep=lambda x: isinstance(x, Trade), timeout=30)
    assert {(e.exchange, e.symbol, e.topic) for e in refused} == {(venue, "BTC/USDT", feed_topic(refused))}
    ids = {"H": h, "H2": h + 2, "H3": h + 3}
    for event, reason in zip(refused, REASONS[venue], strict=True):
        assert reason.format(**ids) in event.reason, (event.reason, reason)
    assert all(int(t.id) < HOSTILE_ID and t.price > 0 and t.amount > 0 for t in after), after
    delivered = [x for x in seen if isinstance(x, Trade)]
    assert len(delivered) >= 5 and all(int(t.id) < HOSTILE_ID for t in delivered)  # not one hostile trade


def _everything(stream: Any) -> list[Any]:
    """Wrap ``stream.get`` so that every item it yields from now on is also kept, in order."""
    kept: list[Any] = []
    get = stream.get

    async def keep() -> Any:
        item = await get()
        kept.append(item)
        return item

    stream.get = keep
    return kept


def feed_topic(events: list[FrameRefused]) -> str:
    """The one topic the refusals name (the venue's trade channel of BTC/USDT)."""
    (topic,) = {e.topic for e in events}
    assert "trade" in topic.lower(), topic
    return topic
