"""Trade feeds hand out each trade id once, in order, and report late trades instead of hiding them."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tradeflood.errors import PayloadError
from tradeflood.models import Trade
from tradeflood.streams import Frame, Topic, TradeGap
from tradeflood.streams._delivery import CallbackConsumer, Delivery, EventChannel, Options, QueueConsumer
from tradeflood.streams._tradefeed import TradeFeed


class Recorder(TradeFeed):
    def __init__(self) -> None:
        super().__init__(None, None, SimpleNamespace(exchange="x", symbol="BTC/USDT"), None)
        self.out: list[Any] = []

    def publish(self, item: Any) -> None:
        self.out.append(item)

    def event(self, event: Any) -> None:
        self.out.append(event)

    def feed(self, *trades: Trade, action: str = "update") -> None:
        self.receive(list(trades), SimpleNamespace(action=action), 0)  # type: ignore[arg-type]


def trade(ident: int | str, ts: int) -> Trade:
    return Trade(exchange="x", symbol="BTC/USDT", native_symbol="BTCUSDT", id=str(ident), timestamp=ts,
                 price=Decimal("100"), amount=Decimal("1"), side="buy")


def test_the_same_id_with_a_new_timestamp_is_a_duplicate() -> None:
    feed = Recorder()
    feed.feed(trade(10, 1_000), trade(11, 1_100))
    feed.feed(trade(11, 1_150))  # the venue sent trade 11 again, with another time
    assert [t.id for t in feed.out] == ["10", "11"] and feed.duplicates == 1


def test_a_late_trade_is_reported_as_a_gap_once() -> None:
    feed = Recorder()
    feed.feed(trade(10, 1_000), trade(12, 1_200), trade(13, 1_300))
    feed.feed(trade(11, 1_100))  # arrives after 13 was handed out
    feed.feed(trade(11, 1_100))  # and again: now a plain duplicate
    feed.feed(trade(14, 1_400))
    ids = [t.id if isinstance(t, Trade) else "gap" for t in feed.out]
    assert ids == ["10", "12", "13", "gap", "14"]
    gap = feed.out[3]
    assert isinstance(gap, TradeGap)
    assert (gap.start_ms, gap.end_ms, gap.last_id, gap.late_id) == (1_100, 1_300, "13", "11")
    assert feed.late == 1 and feed.duplicates == 1


def test_a_snapshot_repeating_history_is_never_late() -> None:
    feed = Recorder()
    feed.feed(trade(5, 500), trade(7, 700), action="snapshot")  # the baseline: not handed out
    feed.feed(trade(8, 800))
    feed.feed(trade(6, 600), trade(7, 700), trade(8, 800), trade(9, 900), action="snapshot")
    assert [t.id for t in feed.out] == ["8", "9"] and feed.late == 0


@given(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 5)), max_size=80))
def test_each_id_at_most_once_in_order_and_nothing_dropped_silently(sent: list[tuple[int, int]]) -> None:
    feed = Recorder()
    for ident, jitter in sent:
        feed.feed(trade(ident, ident * 100 + jitter))
    delivered = [int(t.id) for t in feed.out if isinstance(t, Trade)]
    late = {g.late_id for g in feed.out if isinstance(g, TradeGap)}
    assert delivered == sorted(set(delivered))  # strictly increasing: each id once, in order
    distinct = {ident for ident, _ in sent}
    assert distinct == set(delivered) | {int(i) for i in late if i is not None}  # every id accounted for
    assert feed.late == len(late) and not set(delivered) & {int(i) for i in late if i}


def test_an_id_of_digit_signs_that_are_not_decimals_is_ordered_by_time() -> None:
    feed = Recorder()
    feed.feed(trade("²", 1_000), trade("³", 1_100))  # str.isdigit() holds for these, int() refuses them
    assert [t.id for t in feed.out] == ["²", "³"]


@given(st.lists(st.tuples(st.one_of(st.integers(1, 30).map(str), st.sampled_from(["a", "b", "c1", "²"])),
                          st.integers(0, 3000)), max_size=60))
def test_numeric_and_other_ids_mixed_are_handed_out_by_trade_order(sent: list[tuple[str, int]]) -> None:
    """A numeric id sorts by its number and above every other id (which sort by time, then id);
    whatever the mix, each trade handed out sorts after the one before, and a trade not handed
    out is counted as a duplicate or reported late."""
    from tradeflood.streams._tradefeed import trade_order

    feed = Recorder()
    for ident, ts in sent:
        feed.feed(trade(ident, ts))
    delivered = [t for t in feed.out if isinstance(t, Trade)]
    keys = [trade_order(t) for t in delivered]
    assert keys == sorted(set(keys))  # strictly increasing
    assert len(delivered) + feed.duplicates + feed.late == len(sent)
    if sent:  # the first trade always goes out, and the newest key sent is the last handed out
        assert delivered[0].id == sent[0][0]
        assert keys[-1] == max(trade_order(trade(i, ts)) for i, ts in sent)


# -- a socket chunk's frames at once (TradeFeed.on_frames) ---------------------------------------


class _Binding:
    """Parses a frame whose payload is ``(id, timestamp, amount)``; ``"bad"`` is unreadable."""

    def parse(self, query: Any, topic: Any, frame: Any, received_ms: int) -> list[Trade]:
        ident, ts, amount = frame.payload
        if ident == "bad":
            raise PayloadError("x", "ws t", "unreadable")
        return [Trade(exchange="x", symbol="BTC/USDT", native_symbol="BTCUSDT", id=str(ident), timestamp=ts,
                      price=Decimal("100"), amount=Decimal(amount), side="buy")]


def _delivered(sent: list[tuple[Any, int, str]], chunk: int, callback: bool) -> tuple[list[Any], TradeFeed]:
    """What one consumer (events in line) gets from ``sent``, handed over ``chunk`` frames at a
    time (0: frame by frame, the connection's way before chunks went at once)."""
    topic = Topic("x", "ws", "t")
    feed = TradeFeed(None, _Binding(), SimpleNamespace(exchange="x", symbol="BTC/USDT", interval=None),  # type: ignore[arg-type]
                     topic)
    delivery = Delivery(Options(), None, None)  # type: ignore[arg-type]
    feed.add_delivery(delivery)
    got: list[Any] = []
    consumer: Any
    if callback:
        consumer = CallbackConsumer(got.append, 1000, "raise", channel=EventChannel(in_line=True))
    else:
        consumer = QueueConsumer(1000, "raise", EventChannel(in_line=True))
    delivery.add(consumer)
    frames = [Frame("data", "t", payload) for payload in sent]
    if chunk:
        for i in range(0, len(frames), chunk):
            feed.on_frames(frames[i:i + chunk], 0)
    else:
        for frame in frames:
            feed.on_frame(frame, 0)
    if not callback:
        while consumer.queue.qsize():
            got.append(consumer.queue.get_nowait())
    return got, feed


@given(st.lists(st.tuples(st.one_of(st.integers(1, 40), st.sampled_from(["a", "bad"])), st.integers(0, 5000),
                          st.sampled_from(["1", "1", "1", "0"])), max_size=80),
       st.integers(1, 9), st.booleans())
def test_a_chunk_at_once_delivers_exactly_what_frame_by_frame_does(
        sent: list[tuple[Any, int, str]], chunk: int, callback: bool) -> None:
    """Late and repeated ids, refused frames (a zero size, an unreadable frame) and non-numeric
    ids anywhere in a chunk: the same trades and events, in the same order, either way."""
    one_by_one, slow = _delivered(sent, 0, callback)
    at_once, fast = _delivered(sent, chunk, callback)
    assert at_once == one_by_one
    assert (fast.frames, fast.bad_frames, fast.duplicates, fast.late, fast.last) == (
        slow.frames, slow.bad_frames, slow.duplicates, slow.late, slow.last)


def test_a_chunk_of_new_trades_reaches_a_queue_consumer_in_one_put() -> None:
    feed = TradeFeed(None, _Binding(), SimpleNamespace(exchange="x", symbol="BTC/USDT", interval=None),  # type: ignore[arg-type]
                     Topic("x", "ws", "t"))
    delivery = Delivery(Options(), None, None)  # type: ignore[arg-type]
    feed.add_delivery(delivery)
    consumer = QueueConsumer(1000, "raise")
    puts: list[int] = []
    put_many = consumer.queue.put_many
    consumer.sink_many = lambda items: (puts.append(len(items)), put_many(items))  # type: ignore[func-returns-value]
    delivery.add(consumer)
    feed.on_frames([Frame("data", "t", (1, 10, "1"))], 0)  # the first trade sets the baseline
    feed.on_frames([Frame("data", "t", (i, i * 10, "1")) for i in range(2, 12)], 0)
    assert puts == [10]
    assert [consumer.queue.get_nowait().id for _ in range(11)] == [str(i) for i in range(1, 12)]


def test_a_chunk_keeps_trades_gaps_and_refusals_in_order() -> None:
    sent = [(i, i * 10, "1") for i in range(1, 11)]
    got, feed = _delivered([(5, 50, "1"), *sent, (3, 30, "1"), (11, 110, "0"), (12, 120, "1")], 20,
                           callback=False)
    kinds = [type(x).__name__ if not isinstance(x, Trade) else x.id for x in got]
    # 1-4 arrive behind 5 (late, each reported), 5 and 3 again are duplicates, 11 has no size
    assert kinds == ["5", *["TradeGap"] * 4, "6", "7", "8", "9", "10", "FrameRefused", "12"]
    assert (feed.late, feed.duplicates, feed.bad_frames, feed.last) == (4, 2, 1, (12, 0, ""))
