"""Streams recover by themselves from every fault the simulator can inject."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

import tradeflood
from tradeflood.errors import StreamOverflowError, StreamRejectedError
from tradeflood.models import Candle, OrderBook, Trade
from tradeflood.streams import BookResync, BookResynced, Reconnected, StreamEvent, TradeGap
from tradeflood.streams._protocol import Topic
from tradeflood.testing import Simulator, take

from .conftest import until


def _data(items: list[Any]) -> list[Any]:
    return [i for i in items if not isinstance(i, StreamEvent)]


@pytest.mark.parametrize("venue", ["bitget", "binance"])
async def test_a_typed_stream_yields_only_trades_across_a_reconnection(
    session: tradeflood.Session, sim: Simulator, venue: str
) -> None:
    told: list[StreamEvent] = []
    async with session.stream(Trade, exchange=venue, symbol="BTC/USDT", on_event=told.append) as trades:
        before = await take(trades, 10)
        assert sim.drop_connections(venue) == 1
        await until(lambda: any(isinstance(e, TradeGap) for e in told), timeout=15)
        after = await take(trades, 20, timeout=15)
        assert trades.events["Reconnected"] == 1 and trades.events["TradeGap"] == 1
        assert isinstance(trades.last_event, TradeGap)
    prices = []
    for t in before + after:  # the natural loop: every item is a Trade
        assert type(t) is Trade
        prices.append(t.price)
    assert all(p > 0 for p in prices)
    assert [type(e) for e in told] == [Reconnected, TradeGap]
    gap = told[1]
    assert gap.start_ms <= gap.end_ms and gap.last_id == before[-1].id
    ids = [int(t.id) for t in before + after]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert sim.streams[venue].stats.connections_accepted == 2


async def test_a_subscription_hands_events_to_on_event_only(session: tradeflood.Session,
                                                             sim: Simulator) -> None:
    got: list[Any] = []
    told: list[StreamEvent] = []
    sub = session.subscribe(Trade, got.append, exchange="binance", symbol="BTC/USDT", on_event=told.append)
    await sub.ready()
    await until(lambda: len(got) >= 5)
    sim.drop_connections("binance")
    await until(lambda: len(told) >= 2 and len(got) >= 15, timeout=15)
    await sub.close()
    assert [type(e) for e in told] == [Reconnected, TradeGap]
    assert all(type(t) is Trade for t in got)
    assert sub.events == {"Reconnected": 1, "TradeGap": 1}


async def test_an_async_callback_gets_events_in_line_with_events_true(session: tradeflood.Session,
                                                                      sim: Simulator) -> None:
    got: list[Any] = []

    async def on_item(item: Any) -> None:
        got.append(item)

    sub = session.subscribe(Trade, on_item, exchange="bitget", symbol="BTC/USDT", events=True)
    await sub.ready()
    await until(lambda: len(got) >= 5)
    sim.drop_connections("bitget")
    await until(lambda: any(isinstance(i, TradeGap) for i in got), timeout=15)
    await until(lambda: isinstance(got[-1], Trade), timeout=15)
    await sub.close()
    kinds = [type(i) for i in got if isinstance(i, StreamEvent)]
    assert kinds == [Reconnected, TradeGap]
    ids = [int(t.id) for t in got if isinstance(t, Trade)]
    assert ids == sorted(ids) and len(ids) == len(set(ids))


async def test_events_nobody_asked_for_are_logged_once_per_kind_and_counted(
    session: tradeflood.Session, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="tradeflood.streams")
    async with session.stream(Trade, exchange="binance", symbol="BTC/USDT") as trades:
        await take(trades, 3)
        for round_ in (1, 2):
            sim.drop_connections("binance")
            await until(lambda r=round_: trades.events["TradeGap"] == r, timeout=15)  # type: ignore[misc]
        items = await take(trades, 5, timeout=15)
    assert all(type(t) is Trade for t in items)
    assert trades.events == {"Reconnected": 2, "TradeGap": 2}
    warned = [r.getMessage() for r in caplog.records
              if r.levelname == "WARNING" and "on_event" in r.getMessage()]
    assert len(warned) == 2, warned
    assert "stream event Reconnected" in warned[0] and "stream event TradeGap" in warned[1]


@pytest.mark.parametrize("venue", ["bitget", "binance"])
async def test_trades_survive_a_killed_connection_without_duplicates(
    session: tradeflood.Session, sim: Simulator, venue: str
) -> None:
    # events=True: the events come in the iterator, in order with the trades
    async with session.stream(Trade, exchange=venue, symbol="BTC/USDT", events=True) as trades:
        before = await take(trades, 10)
        assert sim.drop_connections(venue) == 1
        after = await take(trades, 30, timeout=15)
    events = [i for i in after if isinstance(i, StreamEvent)]
    assert [type(e) for e in events][:2] == [Reconnected, TradeGap]
    gap = events[1]
    assert gap.start_ms <= gap.end_ms and gap.last_id == _data(before)[-1].id
    ids = [int(t.id) for t in _data(before + after)]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert sim.streams[venue].stats.connections_accepted == 2


@pytest.mark.parametrize("venue", ["bitget", "binance"])
async def test_candles_are_backfilled_after_an_outage_exactly_once_in_order(
    session: tradeflood.Session, sim: Simulator, venue: str
) -> None:
    async with session.stream(Candle, exchange=venue, symbol="BTC/USDT", interval="1m") as candles:
        first = await take(candles, 1, keep=lambda x: isinstance(x, Candle), timeout=15)
        # 100 refused reconnections keep the stream away for minutes (backoff capped at 3
        # clock seconds, with jitter): it misses closes, which must come back over REST.
        sim.reject_next_connect(venue, count=100)
        sim.drop_connections(venue)
        later = await take(candles, 6, keep=lambda x: isinstance(x, Candle), timeout=20)
        (upstream,) = session._streams.upstreams.iter_clusters()
        assert upstream.ctx.feed.backfilled >= 1  # the outage hid closes that REST brought back
    feed_candles = first + later
    opens = [c.open_time for c in feed_candles]
    assert [b - a for a, b in itertools.pairwise(opens)] == [60_000] * (len(opens) - 1)
    assert all(c.closed for c in feed_candles)
    rest = await session.afetch(Candle, exchange=venue, symbol="BTC/USDT", interval="1m",
                                start=opens[0], end=opens[-1] + 60_000)
    assert [(c.open_time, c.close, c.volume) for c in rest] == \
           [(c.open_time, c.close, c.volume) for c in feed_candles]


@pytest.mark.parametrize("venue", ["bitget", "binance"])
async def test_a_silent_venue_is_noticed_and_left(session: tradeflood.Session, sim: Simulator,
                                                  venue: str) -> None:
    async with session.stream(Candle, exchange=venue, symbol="ETH/USDT", interval="1m",
                              partial=True, events=True) as candles:
        await take(candles, 2)
        sim.go_silent(venue, 600.0)  # clock seconds: the socket stays open, nothing comes
        after = await take(candles, 4, timeout=15)
    kinds = [type(i) for i in after]
    assert Reconnected in kinds, kinds
    # Only frames already on their way when the venue fell silent may come before it.
    assert all(k is Candle for k in kinds[:kinds.index(Reconnected)]), kinds
    assert sim.streams[venue].stats.connections_accepted == 2


@pytest.mark.speed(1)
@pytest.mark.parametrize("venue", ["bitget", "binance"])
async def test_a_skipped_sequence_resyncs_the_book(session: tradeflood.Session, sim: Simulator,
                                                   venue: str) -> None:
    async with session.stream(OrderBook, exchange=venue, symbol="BTC/USDT", depth=5,
                              overflow="raise", events=True) as books:
        await take(books, 3, keep=lambda x: isinstance(x, OrderBook))
        assert sim.skip_sequence(venue, "BTCUSDT") >= 1
        items = await take(books, 3, keep=lambda x: isinstance(x, OrderBook | BookResynced | BookResync),
                           timeout=15)
    kinds = [type(i) for i in items]
    assert kinds[:2] == [BookResync, BookResynced], kinds
    assert "sequence gap" in items[0].reason
    assert isinstance(items[2], OrderBook) and items[2].bids[0][0] < items[2].asks[0][0]


@pytest.mark.speed(1)
async def test_a_corrupt_checksum_resyncs_the_bitget_book(session: tradeflood.Session,
                                                          sim: Simulator) -> None:
    async with session.stream(OrderBook, exchange="bitget", symbol="ETH/USDT", depth=5,
                              overflow="raise", events=True) as books:
        await take(books, 3, keep=lambda x: isinstance(x, OrderBook))
        sim.corrupt_checksum("bitget", "ETHUSDT")
        items = await take(books, 2, keep=lambda x: isinstance(x, BookResync | BookResynced), timeout=15)
        assert "checksum" in items[0].reason and isinstance(items[1], BookResynced)
        (book,) = await take(books, 1, keep=lambda x: isinstance(x, OrderBook))
    assert book.bids[0][0] < book.asks[0][0]


@pytest.mark.parametrize("venue", ["bitget", "binance"])
async def test_garbage_frames_are_skipped(session: tradeflood.Session, sim: Simulator, venue: str) -> None:
    async with session.stream(Trade, exchange=venue, symbol="BTC/USDT") as trades:
        before = await take(trades, 5)
        sim.send_malformed(venue, 5)
        after = await take(trades, 10)  # a garbled frame that reached a feed is refused, not delivered
        assert set(trades.events) <= {"FrameRefused"}  # no reconnection was needed
    ids = [int(t.id) for t in before + after]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert sim.streams[venue].stats.connections_accepted == 1


async def test_a_refused_subscription_fails_its_consumers_only(
    session: tradeflood.Session, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradeflood.bindings.bitget import BitgetTradeStream

    good = session.stream(Trade, exchange="bitget", symbol="ETH/USDT")
    await take(good, 1)

    def bogus(self: Any, query: Any, instrument: Any) -> Topic:
        arg = {"instType": "SPOT", "channel": "no-such-channel", "instId": instrument.native_symbol}
        return Topic("bitget", "ws", f"SPOT/no-such-channel/{instrument.native_symbol}", tuple(arg.items()))

    monkeypatch.setattr(BitgetTradeStream, "topic", bogus)
    bad = session.stream(Trade, exchange="bitget", symbol="BTC/USDT")
    with pytest.raises(StreamRejectedError, match="no-such-channel"):
        await asyncio.wait_for(take(bad, 1), 10)
    assert session._streams.stats()["upstreams"] == 1
    more = await take(good, 3)
    assert all(isinstance(t, Trade) for t in more)
    await good.close()


async def test_a_slow_consumer_overflows_alone(session: tradeflood.Session) -> None:
    slow = session.stream(Trade, exchange="binance", symbol="BTC/USDT", maxsize=3)
    dropping = session.stream(Trade, exchange="binance", symbol="BTC/USDT", maxsize=3, overflow="drop")
    fast = session.stream(Trade, exchange="binance", symbol="BTC/USDT")
    got = await take(fast, 20)
    with pytest.raises(StreamOverflowError):
        await take(slow, 10)
    kept = await take(dropping, 3)
    assert dropping.dropped > 0
    assert [int(t.id) for t in kept] == sorted(int(t.id) for t in kept)
    assert len(got) == 20 and all(isinstance(t, Trade) for t in got)
    for s in (slow, dropping, fast):
        await s.close()


async def test_a_raising_callback_does_not_stop_the_stream(session: tradeflood.Session) -> None:
    good: list[Trade] = []

    def broken(trade: Trade) -> None:
        raise RuntimeError("consumer bug")

    bad_sub = session.subscribe(Trade, broken, exchange="bitget", symbol="BTC/USDT")
    good_sub = session.subscribe(Trade, good.append, exchange="bitget", symbol="BTC/USDT")
    await until(lambda: len(good) >= 5)
    assert bad_sub.consumer.errors >= 5  # type: ignore[attr-defined]
    await bad_sub.close()
    await good_sub.close()


@pytest.mark.parametrize("venue", ["bitget", "binance"])
async def test_a_quiet_kline_topic_beside_busy_ones_never_drops_the_connection(
    session: tradeflood.Session, sim: Simulator, venue: str
) -> None:
    """The pattern of real captures: an illiquid symbol's kline topic sends nothing for a long
    while (the venue sends klines only when something trades) beside busy trade and book topics."""
    stats = sim.streams[venue].stats
    async with session.stream(Trade, exchange=venue, symbol="BTC/USDT") as trades, \
            session.stream(OrderBook, exchange=venue, symbol="BTC/USDT", depth=5) as books, \
            session.stream(Candle, exchange=venue, symbol="BTC/USDT", interval="1m", partial=True) as candles:
        await take(candles, 1)
        await take(books, 1, keep=lambda x: isinstance(x, OrderBook))
        before = await take(trades, 5)
        kline = next(key for key in stats.subscriptions if "kline" in key or "candle" in key)
        subscribes = stats.subscribe_messages
        sim.quiet_topic(venue, kline, 240.0)  # clock seconds: 16 times the kline topic's allowance
        during = await take(trades, 150, timeout=20)  # trades flow on through 4 clock minutes
        await until(lambda: stats.subscribe_messages > subscribes, timeout=20)  # the quiet one was checked
        after = await take(candles, 1, timeout=20)  # and it speaks again once the market does
        assert not trades.events  # no Reconnected, no TradeGap
    assert stats.connections_accepted == 1  # never reconnected
    ids = [int(t.id) for t in before + during]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert isinstance(after[0], Candle)
