"""Invariants of the simulated book that the streams rely on: shape, deltas, checksums, update ids."""

from __future__ import annotations

import zlib
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.testing import Market
from tradeflood.testing._binance_feeds import feed_for
from tradeflood.testing._bitget_ws import checksum
from tradeflood.testing._book import diff

MARKET = Market()
TICK0 = 17_172_000_300  # 2024-06-01T00:00:30Z in 100 ms book ticks
natives = st.sampled_from([(i.native, i.kind) for i in MARKET.instruments])


@settings(max_examples=40, deadline=None)
@given(natives, st.integers(0, 10_000_000), st.integers(1, 300))
def test_a_book_is_sorted_uncrossed_and_deeper_books_extend_shallower_ones(
    native: tuple[str, str], offset: int, depth: int
) -> None:
    inst = MARKET.find(*native)
    assert inst is not None
    bids, asks = MARKET.book_units(inst, TICK0 + offset, depth)
    assert len(bids) == len(asks) == depth
    assert [p for p, _ in bids] == sorted({p for p, _ in bids}, reverse=True)
    assert [p for p, _ in asks] == sorted({p for p, _ in asks})
    assert bids[0][0] < asks[0][0] and all(s > 0 for _, s in bids + asks)
    deeper = MARKET.book_units(inst, TICK0 + offset, depth + 50)
    assert (deeper[0][:depth], deeper[1][:depth]) == (bids, asks)


@settings(max_examples=40, deadline=None)
@given(natives, st.integers(0, 1_000_000), st.integers(1, 30))
def test_a_diff_turns_one_tick_into_another(native: tuple[str, str], offset: int, later: int) -> None:
    inst = MARKET.find(*native)
    assert inst is not None
    old = MARKET.book_units(inst, TICK0 + offset, 200)
    new = MARKET.book_units(inst, TICK0 + offset + later, 200)
    for before, after in zip(old, new, strict=True):
        held = dict(before)
        for price, size in diff(before, after):
            if size:
                held[price] = size
            else:
                held.pop(price)
        assert held == dict(after)


def test_consecutive_ticks_change_few_levels() -> None:
    inst = MARKET.find("BTCUSDT", "spot")
    assert inst is not None
    changes = []
    for k in range(TICK0, TICK0 + 20):
        a, b = MARKET.book_units(inst, k, 1000), MARKET.book_units(inst, k + 1, 1000)
        changes.append(len(diff(a[0], b[0])) + len(diff(a[1], b[1])))
    assert 0 < sum(changes) / len(changes) < 200  # a delta, not a new book


def test_rest_levels_are_the_book_in_decimals() -> None:
    inst = MARKET.find("ETHUSDT", "perp")
    assert inst is not None
    bids, asks = MARKET.book(inst, TICK0 * 100 + 99, 3)  # any moment inside the tick
    units = MARKET.book_units(inst, TICK0, 3)
    assert [(lv.price, lv.size) for lv in bids] == [
        (Decimal(p) / 100, Decimal(s) / 1000) for p, s in units[0]
    ]
    assert asks[0].price > bids[0].price


def test_checksum_follows_bitgets_documented_example() -> None:
    text = "43231.1:4:43232.8:9:43231:6:43232.9:8"
    crc = zlib.crc32(text.encode())
    signed = crc - 2**32 if crc >= 2**31 else crc
    assert checksum([["43231.1", "4"], ["43231", "6"]], [["43232.8", "9"], ["43232.9", "8"]]) == signed
    short = "3366.1:7:3366.8:9:3368:8:3372:8"  # fewer bids than asks: the missing ones are skipped
    crc = zlib.crc32(short.encode())
    assert checksum([["3366.1", "7"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]]) == (
        crc - 2**32 if crc >= 2**31 else crc
    )


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 100_000), st.integers(2, 12), st.data())
def test_a_binance_event_applies_to_a_snapshot_at_any_tick_it_covers(
    offset: int, jump: int, data: st.DataObject
) -> None:
    pacing = {"depth": 0.1, "trade": 0.1, "kline": 1.0, "ticker": 1.0, "depth_levels": 300}
    feed = feed_for("spot", "solusdt@depth@100ms", MARKET, pacing)
    assert feed is not None
    start_ms = (TICK0 + offset) * 100
    feed.first(start_ms)
    [event] = feed.poll(start_ms + jump * 100) or [None]
    if event is None:
        return  # nothing changed over those ticks
    snapshot_tick = data.draw(st.integers(event["U"] - 1, event["u"] - 1))
    inst = MARKET.find("SOLUSDT", "spot")
    assert inst is not None
    bids, asks = MARKET.book(inst, snapshot_tick * 100, 300)
    book = {"b": {lv.price: lv.size for lv in bids}, "a": {lv.price: lv.size for lv in asks}}
    for side in ("b", "a"):
        for price, qty in event[side]:
            if Decimal(qty) == 0:
                book[side].pop(Decimal(price), None)
            else:
                book[side][Decimal(price)] = Decimal(qty)
    final_bids, final_asks = MARKET.book(inst, event["u"] * 100, 300)
    assert book["b"] == {lv.price: lv.size for lv in final_bids}
    assert book["a"] == {lv.price: lv.size for lv in final_asks}
