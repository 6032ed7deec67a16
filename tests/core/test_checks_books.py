"""Book messages pushed on a stream: a snapshot's order and crossing (issue 12 scope 6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.checks import frame_violations, snapshot_violations
from tradeflood.streams import BookDelta


def test_a_snapshot_out_of_order_is_a_book_but_a_price_twice_or_crossed_is_refused() -> None:
    good = BookDelta(last_id=1, bids=[("10", "1"), ("9.5", "0"), ("9", "1")], asks=[("11", "2"), ("12", "1")],
                     is_snapshot=True)
    assert frame_violations([good]) == []
    # Levels listed out of order still make one book by price: the local book sorts them.
    unordered = BookDelta(last_id=2, bids=[("9", "1"), ("10", "1")], asks=[("12", "1"), ("11", "1")],
                          is_snapshot=True)
    assert frame_violations([unordered]) == []
    twice = BookDelta(last_id=3, bids=[], asks=[("11", "1"), ("11.0", "2")], is_snapshot=True)
    (v,) = frame_violations([twice])
    assert (v.row, v.field, v.detail) == (1, "asks price", "11.0 is listed twice")
    crossed = BookDelta(last_id=4, bids=[("11", "1")], asks=[("11", "1")], is_snapshot=True)
    assert frame_violations([crossed])[0].detail == "best ask 11 is not above best bid 11 (crossed book)"
    # Crossed once sorted: the best bid is the highest listed, wherever it comes.
    crossed_deep = BookDelta(last_id=5, bids=[("9", "1"), ("12", "1")], asks=[("11", "1")], is_snapshot=True)
    assert frame_violations([crossed_deep])[0].detail == "best ask 11 is not above best bid 12 (crossed book)"
    # A level of size zero is no level: it sets no best price.
    zero = BookDelta(last_id=6, bids=[("12", "0"), ("10", "1")], asks=[("11", "1")], is_snapshot=True)
    assert frame_violations([zero]) == []
    # The same levels in a delta are updates, in any order; crossing is the book's check then.
    assert frame_violations([BookDelta(last_id=7, bids=[("9", "1"), ("10", "1")])]) == []
    # A sign problem is named first, and a level that is no number is refused as such.
    signs = BookDelta(last_id=8, bids=[("9", "1"), ("-10", "1")], is_snapshot=True)
    assert frame_violations([signs])[0].detail == "is -10, not a positive price"
    nan = BookDelta(last_id=9, bids=[("NaN", "1")], is_snapshot=True)
    assert frame_violations([nan])[0].detail == "is NaN, not a positive price"
    zero_price = BookDelta(last_id=10, asks=[("0", "1")], is_snapshot=True)
    assert frame_violations([zero_price])[0].field == "asks price"


def test_prices_that_differ_past_a_float_are_told_apart() -> None:
    bids = [("1.00000000000000000002", "1"), ("1.00000000000000000001", "1")]
    assert snapshot_violations(bids, []) == []
    assert snapshot_violations(bids[::-1], []) == []  # in either order
    assert snapshot_violations([bids[0], bids[0]], [])[0].row == 1
    assert "crossed" in snapshot_violations(bids, [("1.00000000000000000002", "1")])[0].detail


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


@given(st.lists(prices, min_size=2, max_size=30, unique=True), st.randoms(use_true_random=False))
@settings(max_examples=100, deadline=None)
def test_a_book_in_any_order_passes_and_a_repeated_or_crossing_price_fails(
        levels: list[Decimal], rng: Any) -> None:
    ordered = sorted(levels)
    mid = len(ordered) // 2
    bids = [(str(p), "1") for p in reversed(ordered[:mid])]
    asks = [(str(p), "1") for p in ordered[mid:]]
    assert snapshot_violations(bids, asks) == []
    shuffled_bids, shuffled_asks = bids[:], asks[:]
    rng.shuffle(shuffled_bids)
    rng.shuffle(shuffled_asks)
    assert snapshot_violations(shuffled_bids, shuffled_asks) == []
    (v,) = snapshot_violations(shuffled_bids, [*shuffled_asks, shuffled_asks[0]])
    assert (v.row, v.field) == (len(asks), "asks price") and v.detail.endswith("is listed twice")
    if bids:  # an ask at the best bid's price, anywhere among the asks, crosses the book
        (v,) = snapshot_violations(shuffled_bids, [*shuffled_asks, (bids[0][0], "1")])
        assert "crossed book" in v.detail
