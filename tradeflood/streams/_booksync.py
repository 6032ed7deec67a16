"""Order-book sync: which message may be applied to a local book, and when to resync.

A :class:`BookSync` is fed the parsed messages of a book stream
(:class:`BookDelta`) and the snapshots, in arrival order, and answers each with
an explicit outcome: :class:`Applied`, :class:`Buffered`, :class:`Dropped` or
:class:`Resync` (with a typed reason: :class:`SequenceGap`,
:class:`ChecksumMismatch`, :class:`CrossedBook`, :class:`SnapshotTooOld`).
A venue's dialect is a subclass that overrides the public rules (:meth:`BookSync.gap`,
:meth:`BookSync.is_stale`, :meth:`BookSync.checksum`, :meth:`BookSync.bridge_target`)
and the class attributes saying where snapshots come from. Nothing here does I/O::

    class ExampleBookSync(BookSync):
        # each update's prev_id is the previous update's last_id
        def gap(self, delta, last_id):
            return None if delta.prev_id == last_id else SequenceGap(last_id, delta.prev_id)

    sync = ExampleBookSync()
    sync.on_delta(BookDelta(first_id=101, last_id=105, bids=[("9.5", "2")]))   # Buffered(pending=1)
    outcome = sync.on_snapshot(BookDelta.from_order_book(rest_book))          # Applied(...)
    if isinstance(outcome, Applied):
        model = outcome.book.to_model("example", "BTC/USDT", "BTCUSDT", outcome.timestamp or now_ms,
                                      outcome.sequence, depth=20)
    elif isinstance(outcome, Resync):
        ...  # fetch a new snapshot (outcome.source == "rest") or resubscribe ("stream")
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Literal

from tradeflood.models import OrderBook

from ._book import LocalBook, RawLevel

__all__ = [
    "Applied",
    "BookDelta",
    "BookSync",
    "Buffered",
    "ChecksumMismatch",
    "CrossedBook",
    "Dropped",
    "Outcome",
    "Resync",
    "ResyncReason",
    "SequenceGap",
    "SnapshotTooOld",
    "SyncState",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class BookDelta:
    """One parsed book message (or snapshot), venue-neutral, as a :class:`BookSync` consumes it.

    ``last_id`` is the venue's update id after this message (a REST snapshot's
    own id for a snapshot); ``first_id`` the first update id it covers (None when
    it covers just ``last_id``); ``prev_id`` the last id of the message before it,
    for venues that send one. ``checksum`` is the venue's checksum of its book
    after this message, None when not sent or not to be checked; ``is_snapshot``
    marks a full book (from REST, or one the venue pushes on the stream). Levels
    are ``(price, size)``, strings as received.
    """

    last_id: int
    bids: Sequence[RawLevel] = ()
    asks: Sequence[RawLevel] = ()
    first_id: int | None = None
    prev_id: int | None = None
    timestamp: int | None = None
    checksum: int | None = None
    is_snapshot: bool = False

    @property
    def first(self) -> int:
        return self.last_id if self.first_id is None else self.first_id

    @classmethod
    def from_order_book(cls, book: OrderBook) -> BookDelta:
        """A snapshot from a REST order book whose ``sequence`` is the venue's update id."""
        if book.sequence is None:
            raise ValueError(f"{book.exchange} {book.symbol} book has no sequence; "
                             "a snapshot to sync deltas against needs the venue's update id")
        return cls(last_id=book.sequence, bids=book.bids, asks=book.asks, timestamp=book.timestamp,
                   is_snapshot=True)


@dataclass(frozen=True, slots=True)
class SequenceGap:
    """A message does not follow the last one applied.

    ``expected`` is the id the venue's rule wanted (the previous ``last_id + 1``
    when first ids are compared, the previous ``last_id`` when ``prev_id`` is);
    ``got`` the message's id, None when the message lacks it.
    """

    expected: int
    got: int | None

    def __str__(self) -> str:
        return f"sequence gap: expected {self.expected}, got {self.got}"


@dataclass(frozen=True, slots=True)
class ChecksumMismatch:
    """The venue's checksum (``expected``) differs from the local book's (``got``)."""

    expected: int
    got: int

    def __str__(self) -> str:
        return f"checksum mismatch: venue sent {self.expected}, local book gives {self.got}"


@dataclass(frozen=True, slots=True)
class CrossedBook:
    """After applying, the best bid is at or above the best ask."""

    best_bid: Decimal
    best_ask: Decimal

    def __str__(self) -> str:
        return f"crossed book: best bid {self.best_bid} >= best ask {self.best_ask}"


@dataclass(frozen=True, slots=True)
class SnapshotTooOld:
    """The snapshot (``snapshot_id``) ends before the first delta left to apply (``first_id``)."""

    snapshot_id: int
    first_id: int

    def __str__(self) -> str:
        return f"snapshot too old: it ends at {self.snapshot_id}, the stream resumes at {self.first_id}"


ResyncReason = SequenceGap | ChecksumMismatch | CrossedBook | SnapshotTooOld


@dataclass(frozen=True, slots=True)
class Applied:
    """The message was applied; ``book`` is now correct as of ``sequence``.

    ``book`` is the live book: read it (or take ``to_model``) before feeding the
    next message. It is never left holding a state known to be wrong: a message
    that fails a check is rolled back before :class:`Resync` is returned.
    """

    book: LocalBook
    sequence: int
    timestamp: int | None


@dataclass(frozen=True, slots=True)
class Buffered:
    """Kept until a snapshot arrives; ``pending`` deltas now wait."""

    pending: int


@dataclass(frozen=True, slots=True)
class Dropped:
    """Ignored: ``stale`` (already in the snapshot or book) or ``awaiting_snapshot`` (no book yet)."""

    reason: Literal["stale", "awaiting_snapshot"]
    sequence: int


@dataclass(frozen=True, slots=True)
class Resync:
    """The book is out of sync; get a new snapshot from ``source`` (``rest`` fetch or ``stream``
    resubscribe) and feed it to :meth:`BookSync.on_snapshot`. ``last_good`` stays readable."""

    reason: ResyncReason
    source: Literal["rest", "stream"]

    def __str__(self) -> str:
        return str(self.reason)


Outcome = Applied | Buffered | Dropped | Resync


class SyncState(StrEnum):
    AWAITING_SNAPSHOT = "awaiting_snapshot"
    """No book: at the start, after :meth:`BookSync.reset` or after a resync."""
    BRIDGING = "bridging"
    """A snapshot is loaded; the delta that continues it has not come yet."""
    SYNCED = "synced"


class BookSync:
    """Keeps one symbol's :class:`LocalBook` in sync by a venue's rules; one subclass per dialect.

    Feed every parsed message to :meth:`on_delta` and every snapshot to
    :meth:`on_snapshot`, in arrival order, and act on the outcome. ``book`` is
    the in-sync book (None while there is none); ``last_good`` is the book as of
    the last :class:`Applied`, still readable while resyncing. A dialect must
    define :meth:`gap`; the other rules have defaults.
    """

    #: Where a fresh snapshot comes from: a ``rest`` fetch (deltas wait for it) or the
    #: ``stream`` itself (the venue pushes one on subscribing; a resync resubscribes).
    snapshot_source: ClassVar[Literal["rest", "stream"]] = "rest"
    #: Whether deltas that come before the snapshot are kept and applied after it.
    buffers_deltas: ClassVar[bool] = True
    #: Whether the book keeps levels as the venue spelled them (for a checksum over that text).
    keeps_text: ClassVar[bool] = False

    def __init__(self, *, max_buffer: int = 10_000, check_crossed: bool = True) -> None:
        self.max_buffer = max_buffer
        self.check_crossed = check_crossed
        self._state = SyncState.AWAITING_SNAPSHOT
        self._book: LocalBook | None = None
        self._good: LocalBook | None = None
        self._seq = 0
        self._good_seq: int | None = None
        self._snapshot_id = 0
        self._buffer: deque[BookDelta] = deque()
        self.buffer_overflows = 0

    @property
    def state(self) -> SyncState:
        return self._state

    @property
    def book(self) -> LocalBook | None:
        return self._book

    @property
    def last_good(self) -> LocalBook | None:
        return self._good

    @property
    def last_good_sequence(self) -> int | None:
        return self._good_seq

    @property
    def pending(self) -> int:
        """Deltas buffered until the next snapshot."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget the stream position (e.g. after a reconnect); ``last_good`` stays readable."""
        self._state = SyncState.AWAITING_SNAPSHOT
        self._book = None
        self._buffer.clear()

    def on_delta(self, delta: BookDelta) -> Outcome:
        """Apply, buffer or drop one message, or say the book must be resynced."""
        if delta.is_snapshot:
            return self.on_snapshot(delta)
        if self._state is SyncState.SYNCED:
            book = self._book
            assert book is not None
            if self.is_stale(delta, self._seq):
                return Dropped("stale", delta.last_id)
            gap = self.gap(delta, self._seq)
            if gap is not None:
                return self._resync(gap, delta)
            return self._apply(book, delta)
        if self._state is SyncState.BRIDGING:
            return self._bridge(delta)
        if not self.buffers_deltas:
            return Dropped("awaiting_snapshot", delta.last_id)
        if len(self._buffer) >= self.max_buffer:
            self._buffer.popleft()
            self.buffer_overflows += 1
        self._buffer.append(delta)
        return Buffered(len(self._buffer))

    def on_snapshot(self, snapshot: BookDelta) -> Outcome:
        """Start over from a full book, then apply the buffered deltas that follow it."""
        book = LocalBook(keep_text=self.keeps_text)
        book.load(snapshot.bids, snapshot.asks)
        failure = self._check(book, snapshot)
        if failure is not None:
            # The deltas waiting for a snapshot are still good: keep them for the next one.
            return self._resync(failure, None, keep_buffer=True)
        self._promote(book, snapshot.last_id)
        self._snapshot_id = snapshot.last_id
        outcome: Outcome = Applied(book, snapshot.last_id, snapshot.timestamp)
        if not self.buffers_deltas:
            self._state = SyncState.SYNCED
            return outcome
        self._state = SyncState.BRIDGING
        buffered, self._buffer = self._buffer, deque()
        while buffered:
            step = self.on_delta(buffered.popleft())
            if isinstance(step, Resync):
                self._buffer.extend(buffered)
                return step
            if isinstance(step, Applied):
                outcome = step
        return outcome

    # Dialect rules: what a venue's subclass overrides ------------------------------------

    def bridge_target(self, snapshot_id: int) -> int:
        """The update id the first delta applied after a snapshot must cover; by default the
        one after the snapshot's own id."""
        return snapshot_id + 1

    def is_stale(self, delta: BookDelta, last_id: int) -> bool:
        """Whether ``delta`` is already in the book as of ``last_id`` (dropped, not a gap); by
        default when it ends at or before ``last_id``. Venues whose ids may restart say never."""
        return delta.last_id <= last_id

    def gap(self, delta: BookDelta, last_id: int) -> SequenceGap | None:
        """The sequence rule: None when ``delta`` follows the last applied message (which ended at
        ``last_id``), else the :class:`SequenceGap` that makes the book resync."""
        raise NotImplementedError(f"{type(self).__name__} must define gap(), the venue's sequence rule")

    def checksum(self, book: LocalBook) -> int | None:
        """The venue's checksum of ``book`` to compare with a message's ``checksum``, or None
        when the venue sends none (the default)."""
        return None

    # Machinery -------------------------------------------------------------------------

    def _bridge(self, delta: BookDelta) -> Outcome:
        target = self.bridge_target(self._snapshot_id)
        if delta.last_id < target:
            return Dropped("stale", delta.last_id)
        if delta.first > target:
            return self._resync(SnapshotTooOld(self._snapshot_id, delta.first), delta)
        book = self._book
        assert book is not None
        return self._apply(book, delta)

    def _apply(self, book: LocalBook, delta: BookDelta) -> Outcome:
        undo = book.apply(delta.bids, delta.asks)
        failure = self._check(book, delta)
        if failure is not None:
            book.rollback(undo)
            # A message that crosses the book is refused: kept for after the next snapshot, it
            # would cross that one too. One that fails the checksum may be sound (an earlier
            # message went missing), so it waits for the snapshot like any delta.
            return self._resync(failure, None if isinstance(failure, CrossedBook) else delta)
        self._state = SyncState.SYNCED
        self._seq = self._good_seq = delta.last_id
        return Applied(book, delta.last_id, delta.timestamp)

    def _check(self, book: LocalBook, delta: BookDelta) -> ChecksumMismatch | CrossedBook | None:
        if delta.checksum is not None:
            ours = self.checksum(book)
            if ours is not None and ours != delta.checksum:
                return ChecksumMismatch(delta.checksum, ours)
        if self.check_crossed and book.is_crossed():
            bid, ask = book.best_bid(), book.best_ask()
            assert bid is not None and ask is not None
            return CrossedBook(bid[0], ask[0])
        return None

    def _promote(self, book: LocalBook, seq: int) -> None:
        self._book = self._good = book
        self._seq = self._good_seq = seq

    def _resync(self, reason: ResyncReason, keep: BookDelta | None, *, keep_buffer: bool = False) -> Resync:
        self._state = SyncState.AWAITING_SNAPSHOT
        self._book = None
        if not keep_buffer:
            self._buffer.clear()
        if keep is not None and self.buffers_deltas and not keep.is_snapshot:
            self._buffer.append(keep)
        return Resync(reason, self.snapshot_source)
