"""LocalBook: level updates, best-first reads, rollback, models; and the Bitget checksum."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tradeflood.bindings.bitget import bitget_checksum, bitget_checksum_text, signed32
from tradeflood.models import OrderBook
from tradeflood.streams._book import LocalBook


def reference_crc32(data: bytes) -> int:
    """CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) bit by bit, independent of zlib."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def filled() -> LocalBook:
    book = LocalBook()
    book.load(bids=[("99", "1"), ("100", "2"), ("98.5", "3")],
              asks=[("102", "4"), ("101", "5"), ("103", "6")])
    return book


def test_load_sorts_each_side_best_first_and_skips_zero_sizes() -> None:
    book = LocalBook()
    book.load(bids=[("99", "1"), ("100", "2"), ("97", "0")], asks=[("102", "4"), ("101", "0.00")])
    assert book.snapshot() == (((D("100"), D("2")), (D("99"), D("1"))), ((D("102"), D("4")),))
    assert (book.bid_depth, book.ask_depth) == (2, 1)


def test_apply_inserts_replaces_and_removes_levels() -> None:
    book = filled()
    book.apply(bids=[("100", "0"), ("99.5", "7"), ("99", "1.25")], asks=[("101", "0"), ("100.5", "8")])
    bids, asks = book.snapshot()
    assert bids == ((D("99.5"), D("7")), (D("99"), D("1.25")), (D("98.5"), D("3")))
    assert asks == ((D("100.5"), D("8")), (D("102"), D("4")), (D("103"), D("6")))
    assert book.best_bid() == (D("99.5"), D("7"))
    assert book.best_ask() == (D("100.5"), D("8"))


def test_removing_a_level_that_is_not_there_changes_nothing() -> None:
    book = filled()
    book.apply(bids=[("50", "0")], asks=[("500", "0.000")])
    assert book.snapshot() == filled().snapshot()


def test_zero_written_in_any_spelling_removes() -> None:
    book = filled()
    book.apply(bids=[("100", "0.00000000")], asks=[("101", D("0E-8"))])
    assert book.best_bid() == (D("99"), D("1"))
    assert book.best_ask() == (D("102"), D("4"))


@pytest.mark.parametrize(("n", "bid_prices", "ask_prices"), [
    (0, [], []),
    (1, ["100"], ["101"]),
    (2, ["100", "99"], ["101", "102"]),
    (3, ["100", "99", "98.5"], ["101", "102", "103"]),
    (10, ["100", "99", "98.5"], ["101", "102", "103"]),
])
def test_snapshot_top_n(n: int, bid_prices: list[str], ask_prices: list[str]) -> None:
    bids, asks = filled().snapshot(n)
    assert [p for p, _ in bids] == [D(p) for p in bid_prices]
    assert [p for p, _ in asks] == [D(p) for p in ask_prices]


def test_rollback_restores_the_book_before_the_batch() -> None:
    book = filled()
    before = book.snapshot()
    undo = book.apply(bids=[("100", "0"), ("100", "9"), ("99.7", "1"), ("98.5", "0")], asks=[("101", "2")])
    assert book.snapshot() != before
    book.rollback(undo)
    assert book.snapshot() == before


def test_rollback_restores_level_texts() -> None:
    book = LocalBook(keep_text=True)
    book.load(bids=[("100.0", "2.50")], asks=[("101.0", "1.0")])
    undo = book.apply(bids=[("100", "3"), ("99.0", "1")], asks=[("101.0", "0")])
    assert book.text_levels() == ([("100", "3"), ("99.0", "1")], [])
    book.rollback(undo)
    assert book.text_levels() == ([("100.0", "2.50")], [("101.0", "1.0")])


def test_crossed_and_locked_books() -> None:
    book = filled()
    assert not book.is_crossed()
    book.apply(bids=[("101", "1")])
    assert book.is_crossed()          # locked (bid == ask) counts as crossed
    book.apply(bids=[("101", "0")], asks=[("99", "1")])
    assert book.is_crossed()
    empty = LocalBook()
    empty.load(bids=[("100", "1")], asks=[])
    assert not empty.is_crossed()
    assert empty.best_ask() is None


def test_text_levels_keep_the_venue_spelling() -> None:
    book = LocalBook(keep_text=True)
    book.load(bids=[("26274.8", "0.0009"), ("26274.70", "0.0027")], asks=[("26274.9", "0.0500")])
    book.apply(asks=[("26275.0", "1.000")])
    assert book.text_levels(2) == ([("26274.8", "0.0009"), ("26274.70", "0.0027")],
                                   [("26274.9", "0.0500"), ("26275.0", "1.000")])
    with pytest.raises(ValueError, match="keep_text"):
        filled().text_levels()


def test_to_model_builds_an_order_book_of_the_requested_depth() -> None:
    model = filled().to_model("binance", "BTC/USDT", "BTCUSDT", 1_700_000_000_123, sequence=42, depth=2)
    assert isinstance(model, OrderBook)
    assert model.bids == ((D("100"), D("2")), (D("99"), D("1")))
    assert model.asks == ((D("101"), D("5")), (D("102"), D("4")))
    assert (model.timestamp, model.sequence, model.native_symbol) == (1_700_000_000_123, 42, "BTCUSDT")
    assert model.spread == D("1")
    assert model == OrderBook.model_validate(model.model_dump())


# Bitget checksum ------------------------------------------------------------------------------------

def test_checksum_string_interleaves_sides_as_bitgets_docs_show() -> None:
    # The two examples of Bitget's v2 Depth Channel documentation.
    assert bitget_checksum_text([("43231.1", "4"), ("43231", "6")], [("43232.8", "9"), ("43232.9", "8")]) \
        == "43231.1:4:43232.8:9:43231:6:43232.9:8"
    assert bitget_checksum_text([("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]) \
        == "3366.1:7:3366.8:9:3368:8:3372:8"
    assert bitget_checksum_text([("2", "1"), ("1", "1")], []) == "2:1:1:1"


def test_checksum_of_the_documented_examples_is_the_signed_crc32() -> None:
    # Values cross-checked with a bit-by-bit CRC-32; the first is above 2**31, so it comes back negative.
    assert reference_crc32(b"43231.1:4:43232.8:9:43231:6:43232.9:8") == 2_790_465_500
    assert bitget_checksum([("43231.1", "4"), ("43231", "6")], [("43232.8", "9"), ("43232.9", "8")]) \
        == 2_790_465_500 - 2**32 == -1_504_501_796
    assert reference_crc32(b"3366.1:7:3366.8:9:3368:8:3372:8") == 831_078_360
    assert bitget_checksum([("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]) == 831_078_360


def test_checksum_covers_only_the_top_25_levels() -> None:
    bids = [(str(1000 - i), "1") for i in range(30)]
    asks = [(str(2000 + i), "1") for i in range(30)]
    text = bitget_checksum_text(bids, asks)
    assert text.count(":") == 25 * 4 - 1
    assert text.endswith("976:1:2024:1")
    assert bitget_checksum(bids, asks) == bitget_checksum(bids[:25], [*asks[:25], ("9999", "9")])


def test_signed32() -> None:
    assert signed32(0) == 0
    assert signed32(0x7FFFFFFF) == 2**31 - 1
    assert signed32(0x80000000) == -(2**31)
    assert signed32(0xFFFFFFFF) == -1
