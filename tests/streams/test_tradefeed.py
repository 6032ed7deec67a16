"""Trade feeds hand out each trade id once, in order, and report late trades instead of hiding them."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tradeflood.models import Trade
from tradeflood.streams import TradeGap
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
