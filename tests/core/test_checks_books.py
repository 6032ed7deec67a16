"""Book messages pushed on a stream: a snapshot's order and crossing (issue 12 scope 6)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.checks import frame_violations, snapshot_violations
from tradeflood.streams import BookDelta


def test_a_snapshot_out_of_order_or_crossed_is_refused() -> None:
    good = BookDelta(last_id=1, bids=[("10", "1"), ("9.5", "0"), ("9", "1")], asks=[("11", "2"), ("12", "1")],
                     is_snapshot=True)
    assert frame_violations([good]) == []
    unordered = BookDelta(last_id=2, bids=[("9", "1"), ("10", "1")], asks=[("11", "1")], is_snapshot=True)
    (v,) = frame_violations([unordered])
    assert (v.row, v.field, v.detail) == (1, "bids price", "10 after 9: not strictly descending")
    twice = BookDelta(last_id=3, bids=[], asks=[("11", "1"), ("11.0", "2")], is_snapshot=True)
    assert frame_violations([twice])[0].detail == "11.0 after 11: not strictly ascending"
    crossed = BookDelta(last_id=4, bids=[("11", "1")], asks=[("11", "1")], is_snapshot=True)
    assert "crossed book" in frame_violations([crossed])[0].detail
    # The same levels in a delta are updates, in any order; crossing is the book's check then.
    assert frame_violations([BookDelta(last_id=5, bids=[("9", "1"), ("10", "1")])]) == []
    # A sign problem is named first, and a level that is no number is refused as such.
    signs = BookDelta(last_id=6, bids=[("9", "1"), ("-10", "1")], is_snapshot=True)
    assert frame_violations([signs])[0].detail == "is -10, not a positive price"


def test_prices_that_differ_past_a_float_are_told_apart() -> None:
    bids = [("1.00000000000000000002", "1"), ("1.00000000000000000001", "1")]
    assert snapshot_violations(bids, []) == []
    assert snapshot_violations(bids[::-1], [])[0].row == 1


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


@given(st.lists(prices, min_size=2, max_size=30, unique=True))
@settings(max_examples=100, deadline=None)
def test_a_sorted_book_passes_and_any_swap_fails(levels: list[Decimal]) -> None:
    ordered = sorted(levels)
    mid = len(ordered) // 2
    bids = [(str(p), "1") for p in reversed(ordered[:mid])]
    asks = [(str(p), "1") for p in ordered[mid:]]
    assert snapshot_violations(bids, asks) == []
    swapped = asks[:]
    swapped[0], swapped[-1] = swapped[-1], swapped[0]
    if len(swapped) > 1:
        assert snapshot_violations(bids, swapped)[0].field == "asks price"
