"""BookSync dialects, message by message: Binance spot and USDT-M futures, Bitget v2 books."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tradeflood.bindings.binance import BinanceFuturesBookSync, BinanceSpotBookSync
from tradeflood.bindings.bitget import BitgetBookSync, bitget_checksum
from tradeflood.models import OrderBook
from tradeflood.streams import (
    Applied,
    BookDelta,
    Buffered,
    ChecksumMismatch,
    CrossedBook,
    Dropped,
    Resync,
    SequenceGap,
    SnapshotTooOld,
    SyncState,
)


def spot(first: int, last: int, bids: tuple[tuple[str, str], ...] = (),
         asks: tuple[tuple[str, str], ...] = ()) -> BookDelta:
    return BookDelta(first_id=first, last_id=last, bids=bids, asks=asks, timestamp=last * 10)


def snap(last_id: int, bids: tuple[tuple[str, str], ...] = (("100", "1"),),
         asks: tuple[tuple[str, str], ...] = (("101", "1"),)) -> BookDelta:
    return BookDelta(last_id=last_id, bids=bids, asks=asks, is_snapshot=True, timestamp=5)


# Binance spot ------------------------------------------------------------------------------------

def test_spot_buffers_until_the_snapshot_then_drops_stale_and_bridges() -> None:
    sync = BinanceSpotBookSync()
    assert sync.on_delta(spot(95, 99, bids=(("100", "7"),))) == Buffered(1)
    assert sync.on_delta(spot(100, 103, bids=(("99", "2"),))) == Buffered(2)
    assert sync.on_delta(spot(104, 106, asks=(("101", "0"), ("102", "3")))) == Buffered(3)
    assert sync.state is SyncState.AWAITING_SNAPSHOT and sync.book is None

    outcome = sync.on_snapshot(snap(101))     # 95..99 is stale; 100..103 bridges 102
    assert isinstance(outcome, Applied)
    assert (outcome.sequence, outcome.timestamp) == (106, 1060)
    assert outcome.book.snapshot() == (((D("100"), D("1")), (D("99"), D("2"))), ((D("102"), D("3")),))
    assert sync.state is SyncState.SYNCED and sync.pending == 0

    assert isinstance(sync.on_delta(spot(107, 107, bids=(("100", "0"),))), Applied)
    assert sync.book is not None and sync.book.best_bid() == (D("99"), D("2"))


def test_spot_snapshot_alone_is_applied_and_late_stale_deltas_are_dropped() -> None:
    sync = BinanceSpotBookSync()
    outcome = sync.on_snapshot(snap(200))
    assert isinstance(outcome, Applied) and outcome.sequence == 200
    assert sync.state is SyncState.BRIDGING
    assert sync.on_delta(spot(190, 200)) == Dropped("stale", 200)
    applied = sync.on_delta(spot(195, 203, bids=(("100", "4"),)))
    assert isinstance(applied, Applied) and applied.sequence == 203
    assert sync.on_delta(spot(201, 203)) == Dropped("stale", 203)     # a repeat once synced
    assert isinstance(sync.on_delta(spot(204, 204)), Applied)


def test_spot_gap_after_sync_resyncs_and_keeps_the_delta_that_revealed_it() -> None:
    sync = BinanceSpotBookSync()
    sync.on_snapshot(snap(10))
    assert isinstance(sync.on_delta(spot(11, 12, bids=(("100", "2"),))), Applied)
    outcome = sync.on_delta(spot(14, 15, bids=(("100", "9"),)))
    assert outcome == Resync(SequenceGap(expected=13, got=14), "rest")
    assert str(outcome) == "sequence gap: expected 13, got 14"
    assert sync.state is SyncState.AWAITING_SNAPSHOT and sync.book is None
    assert sync.last_good is not None and sync.last_good.best_bid() == (D("100"), D("2"))
    assert sync.last_good_sequence == 12
    assert sync.pending == 1
    # A newer snapshot that the kept delta continues brings the book back.
    again = sync.on_snapshot(snap(14, bids=(("100", "3"),)))
    assert isinstance(again, Applied) and again.sequence == 15
    assert again.book.best_bid() == (D("100"), D("9"))


def test_spot_snapshot_older_than_every_buffered_delta_asks_for_a_newer_one() -> None:
    sync = BinanceSpotBookSync()
    sync.on_delta(spot(50, 55))
    sync.on_delta(spot(56, 60))
    outcome = sync.on_snapshot(snap(40))
    assert outcome == Resync(SnapshotTooOld(snapshot_id=40, first_id=50), "rest")
    assert sync.pending == 2                     # both deltas wait for the next snapshot
    assert isinstance(sync.on_snapshot(snap(57)), Applied)
    assert sync.last_good_sequence == 60


def test_spot_first_live_delta_beyond_the_snapshot_is_snapshot_too_old() -> None:
    sync = BinanceSpotBookSync()
    sync.on_snapshot(snap(40))
    assert sync.on_delta(spot(42, 43)) == Resync(SnapshotTooOld(40, 42), "rest")


def test_spot_buffer_is_bounded_oldest_first() -> None:
    sync = BinanceSpotBookSync(max_buffer=3)
    for i in range(1, 6):
        sync.on_delta(spot(i, i))
    assert (sync.pending, sync.buffer_overflows) == (3, 2)
    # Deltas 1 and 2 are gone, so a snapshot at 0 no longer bridges.
    assert sync.on_snapshot(snap(0)) == Resync(SnapshotTooOld(0, 3), "rest")


def test_from_order_book_makes_a_snapshot_of_a_rest_book() -> None:
    book = OrderBook(exchange="binance", symbol="BTC/USDT", native_symbol="BTCUSDT", timestamp=1,
                     bids=[("100", "1")], asks=[("101", "2")], sequence=77)
    delta = BookDelta.from_order_book(book)
    assert (delta.last_id, delta.is_snapshot, delta.bids) == (77, True, ((D("100"), D("1")),))
    sync = BinanceSpotBookSync()
    assert isinstance(sync.on_delta(delta), Applied)
    with pytest.raises(ValueError, match="no sequence"):
        BookDelta.from_order_book(book.model_copy(update={"sequence": None}))


# Binance USDT-M futures ----------------------------------------------------------------------------

def fut(first: int, last: int, prev: int, bids: tuple[tuple[str, str], ...] = ()) -> BookDelta:
    return BookDelta(first_id=first, last_id=last, prev_id=prev, bids=bids)


def test_futures_bridge_covers_last_update_id_itself_and_follows_pu() -> None:
    sync = BinanceFuturesBookSync()
    sync.on_delta(fut(90, 99, 89))
    sync.on_delta(fut(100, 110, 99, bids=(("100", "5"),)))
    outcome = sync.on_snapshot(snap(110))        # u == lastUpdateId is applied on futures
    assert isinstance(outcome, Applied) and outcome.sequence == 110
    assert outcome.book.best_bid() == (D("100"), D("5"))
    # Futures ids jump: continuity is pu == previous u, not U == u + 1.
    assert isinstance(sync.on_delta(fut(130, 140, 110)), Applied)
    assert sync.on_delta(fut(150, 160, 145)) == Resync(SequenceGap(expected=140, got=145), "rest")


def test_futures_drops_only_u_below_last_update_id() -> None:
    sync = BinanceFuturesBookSync()
    sync.on_snapshot(snap(110))
    assert sync.on_delta(fut(100, 109, 99)) == Dropped("stale", 109)
    assert sync.on_delta(fut(111, 115, 110)) == Resync(SnapshotTooOld(110, 111), "rest")


# Crossed books and last_good ------------------------------------------------------------------------

def test_a_delta_that_crosses_the_book_is_rolled_back_and_resyncs() -> None:
    sync = BinanceSpotBookSync()
    sync.on_snapshot(snap(1, bids=(("100", "1"), ("99", "1")), asks=(("101", "1"), ("102", "1"))))
    first = sync.on_delta(spot(2, 2, bids=(("99", "4"),)))
    assert isinstance(first, Applied)
    held = first.book
    outcome = sync.on_delta(spot(3, 3, bids=(("99", "0"), ("101.5", "1"))))
    assert outcome == Resync(CrossedBook(best_bid=D("101.5"), best_ask=D("101")), "rest")
    # The book a consumer may still hold is the last good one, not the crossed one.
    assert held is sync.last_good
    assert held.snapshot() == (((D("100"), D("1")), (D("99"), D("4"))),
                               ((D("101"), D("1")), (D("102"), D("1"))))
    assert sync.last_good_sequence == 2


def test_a_delta_that_crosses_the_book_is_not_kept_for_the_next_snapshot() -> None:
    sync = BinanceSpotBookSync()
    sync.on_snapshot(snap(1))
    assert isinstance(sync.on_delta(spot(2, 2, bids=(("101.5", "1"),))), Resync)
    assert sync.pending == 0  # refused: applied after the next snapshot it would cross that one too
    assert isinstance(sync.on_delta(spot(3, 3)), Buffered)
    assert isinstance(sync.on_snapshot(snap(2)), Applied) and sync.book is not None
    assert sync.book.best_bid() == (D("100"), D("1"))


def test_a_crossed_snapshot_is_refused_and_keeps_the_waiting_deltas() -> None:
    sync = BinanceSpotBookSync()
    sync.on_delta(spot(5, 6))
    assert sync.on_snapshot(snap(4, bids=(("102", "1"),))) == Resync(CrossedBook(D("102"), D("101")), "rest")
    assert sync.last_good is None and sync.pending == 1


def test_crossed_check_can_be_turned_off() -> None:
    sync = BinanceSpotBookSync(check_crossed=False)
    assert isinstance(sync.on_snapshot(snap(4, bids=(("102", "1"),))), Applied)


def test_reset_forgets_the_position_but_keeps_last_good() -> None:
    sync = BinanceSpotBookSync()
    sync.on_snapshot(snap(1))
    sync.on_delta(spot(2, 2))
    sync.reset()
    assert sync.state is SyncState.AWAITING_SNAPSHOT and sync.book is None and sync.pending == 0
    assert sync.last_good is not None and sync.last_good_sequence == 2
    assert sync.on_delta(spot(3, 3)) == Buffered(1)


# Bitget v2 books ------------------------------------------------------------------------------------

def bitget(seq: int, pseq: int | None, bids: list[tuple[str, str]], asks: list[tuple[str, str]],
           checksum: int | None, snapshot: bool = False) -> BookDelta:
    return BookDelta(last_id=seq, prev_id=pseq, bids=bids, asks=asks, checksum=checksum,
                     is_snapshot=snapshot, timestamp=1_695_710_946_294)


SNAP_BIDS = [("26274.8", "0.0009"), ("26274.7", "0.0027")]
SNAP_ASKS = [("26274.9", "0.0009"), ("26275.0", "0.0500")]


def bitget_synced() -> BitgetBookSync:
    sync = BitgetBookSync()
    outcome = sync.on_delta(bitget(123, None, SNAP_BIDS, SNAP_ASKS, bitget_checksum(SNAP_BIDS, SNAP_ASKS),
                                   snapshot=True))
    assert isinstance(outcome, Applied) and outcome.sequence == 123
    return sync


def test_bitget_drops_updates_before_its_snapshot() -> None:
    sync = BitgetBookSync()
    assert sync.on_delta(bitget(5, 4, [("1", "1")], [], None)) == Dropped("awaiting_snapshot", 5)
    assert sync.pending == 0


def test_bitget_update_checked_against_the_venue_spelling() -> None:
    sync = bitget_synced()
    # The checksum is over the strings as sent: "0.0500" and "26275.0", not "0.05" and "26275".
    after_bids = [("26274.8", "0.0009"), ("26274.7", "0.0027")]
    after_asks = [("26274.9", "0.0100"), ("26275.0", "0.0500")]
    checksum = bitget_checksum(after_bids, after_asks)
    outcome = sync.on_delta(bitget(124, 123, [], [("26274.9", "0.0100")], checksum))
    assert isinstance(outcome, Applied) and outcome.sequence == 124
    assert outcome.book.best_ask() == (D("26274.9"), D("0.01"))


def test_bitget_checksum_mismatch_rolls_back_and_asks_for_a_resubscribe() -> None:
    sync = bitget_synced()
    wrong = bitget_checksum(SNAP_BIDS, SNAP_ASKS)          # the checksum before the update
    outcome = sync.on_delta(bitget(124, 123, [("26274.8", "5")], [], wrong))
    assert isinstance(outcome, Resync) and outcome.source == "stream"
    assert isinstance(outcome.reason, ChecksumMismatch)
    assert outcome.reason.expected == wrong
    assert outcome.reason.got == bitget_checksum([("26274.8", "5"), ("26274.7", "0.0027")], SNAP_ASKS)
    assert sync.last_good is not None and sync.last_good.best_bid() == (D("26274.8"), D("0.0009"))
    # Until the venue's next snapshot, updates are dropped; the snapshot restores sync.
    assert sync.on_delta(bitget(125, 124, [], [], None)) == Dropped("awaiting_snapshot", 125)
    assert isinstance(sync.on_delta(bitget(900, None, SNAP_BIDS, SNAP_ASKS, None, snapshot=True)), Applied)
    assert isinstance(sync.on_delta(bitget(901, 900, [], [], None)), Applied)


def test_bitget_pseq_must_be_the_previous_seq_even_going_back() -> None:
    sync = bitget_synced()
    assert sync.on_delta(bitget(126, 125, [], [], None)) == Resync(SequenceGap(123, 125), "stream")
    sync = bitget_synced()
    # After a venue restart seq starts over (pseq 0): a gap, never a silent drop.
    assert sync.on_delta(bitget(1, 0, [], [], None)) == Resync(SequenceGap(123, 0), "stream")


def test_bitget_snapshot_with_a_bad_checksum_is_refused() -> None:
    sync = BitgetBookSync()
    outcome = sync.on_delta(bitget(1, None, SNAP_BIDS, SNAP_ASKS, 12345, snapshot=True))
    assert outcome == Resync(ChecksumMismatch(12345, bitget_checksum(SNAP_BIDS, SNAP_ASKS)), "stream")
    assert sync.last_good is None
