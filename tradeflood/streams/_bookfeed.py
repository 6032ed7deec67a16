"""Live order books: snapshot plus deltas, checked, resynced by themselves.

The stream binding parses frames into :class:`BookDelta` s and names the
venue's sync rules (:meth:`StreamBinding.book_sync`). Where the dialect takes
its snapshots from REST, deltas are buffered while one loads through the
session (same limits and retries as fetch); where the venue pushes its own
snapshot on the stream, a resync resubscribes the topic.
A message with an impossible value (a price not positive, a snapshot with a
price twice or crossed, an update that leaves the book crossed) is refused with a
:class:`FrameRefused` event, never applied; so is a REST snapshot that fails the
value checks. Refusals in a row back off before the book is asked for again
(:attr:`BookFeed.refusal_backoff`, on the session's clock), so a venue that
always sends an impossible book is asked at a bounded pace, not in a loop.
On a gap, a checksum mismatch, a refused message or a reconnection, consumers get
a :class:`BookResync` event and no book until :class:`BookResynced`: they are
never handed a book known to be wrong. A consumer joining a live book gets the
current book at once, with no new snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from tradeflood.errors import FetchError, PayloadError, TradeFloodError

from ._booksync import Applied, BookDelta, BookSync, Buffered, CrossedBook, Outcome, Resync
from ._connection import Backoff
from ._events import BookResync, BookResynced, FrameRefused
from ._feed import Feed

if TYPE_CHECKING:
    from ._binding import StreamBinding
    from ._connection import Connection
    from ._delivery import Delivery, Options
    from ._protocol import Frame

__all__ = ["BookFeed"]

log = logging.getLogger("tradeflood.streams")

_UNUSED_RNG = random.Random(0)  # the refusal backoff has no jitter: its delays are the schedule


class BookFeed(Feed):
    """One symbol's live book, kept in sync by the venue's rules."""

    #: REST snapshots that fail for other reasons than a refusal (network, venue errors)
    #: before the feed waits for the stream's next message to try again.
    snapshot_attempts = 5
    #: The wait before a book is asked for again after refusals in a row: 1 s after the
    #: first, doubling, at most 60 s (clock seconds).
    refusal_backoff = Backoff(first=1.0, most=60.0, jitter=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.binding is not None
        self.book_binding: StreamBinding = self.binding
        self.sync: BookSync = self.book_binding.book_sync(self.topic)
        self.connection: Connection | None = None
        self.resyncing = False
        self.resyncs = 0
        self.snapshots = 0
        self._current: Applied | None = None
        self._snapshot: asyncio.Task[None] | None = None
        self._resubscribe: asyncio.Task[None] | None = None
        self._stamp = 0
        #: Messages and snapshots of this book refused in a row (0 once a book is whole again).
        self.refusals = 0
        self._retry_at = 0.0  # clock.monotonic() before which the book is not asked for again

    def receive(self, items: Sequence[Any], frame: Frame, received_ms: int) -> None:
        for delta in items:
            outcome = self.sync.on_delta(delta)
            self._refuse_crossing(outcome, "snapshot" if delta.is_snapshot else "update", received_ms)
            self._handle(outcome, received_ms)

    def _refuse_crossing(self, outcome: Outcome, what: str, received_ms: int) -> None:
        """A message that left the book crossed holds an impossible value, like one with a
        negative price: the sync rolled it back and dropped it; consumers hear of it."""
        if isinstance(outcome, Resync) and isinstance(outcome.reason, CrossedBook):
            self.bad_frames += 1
            self._refused(f"book {what}: {outcome.reason}", received_ms)

    def refuse(self, problem: PayloadError, received_ms: int) -> None:
        """An impossible book message: refused, and the book (now missing it) is rebuilt once
        the refusal backoff has passed."""
        self.bad_frames += 1
        self._refused(problem.detail, received_ms)
        self.sync.reset()
        self._current = None
        self._begin_resync("invalid message", received_ms)
        self._refresh(self.sync.snapshot_source)

    def _refused(self, reason: str, received_ms: int) -> None:
        """Count one refusal in a row, set when the book may be asked for again, tell consumers."""
        self.refusals += 1
        wait = self.refusal_backoff.delay(self.refusals - 1, _UNUSED_RNG)
        self._retry_at = self.hub.clock.monotonic() + wait
        log.warning("%s: refused (%d in a row, the book is asked for again in %.0f s): %s",
                    self.topic.name, self.refusals, wait, reason)
        self.event(FrameRefused(self.query.exchange, self.query.symbol or "", received_ms,
                                topic=self.topic.name, reason=reason, refusals=self.refusals,
                                retry_ms=round(wait * 1000)))

    async def _hold(self) -> None:
        """Wait, on the session's clock, until the refusal backoff allows asking for the book."""
        clock = self.hub.clock
        while (wait := self._retry_at - clock.monotonic()) > 0:
            await clock.sleep(wait)

    def _handle(self, outcome: Outcome, received_ms: int) -> None:
        if isinstance(outcome, Applied):
            self._current = outcome
            if self.refusals:  # a book whole again: the next refusal starts the backoff over
                self.refusals, self._retry_at = 0, 0.0
            if self.resyncing:
                self.resyncing = False
                self.event(BookResynced(self.query.exchange, self.query.symbol or "", received_ms,
                                        sequence=outcome.sequence))
            self._stamp = outcome.timestamp or received_ms
            self.publish(outcome)
        elif isinstance(outcome, Resync):
            self._current = None
            self._begin_resync(str(outcome), received_ms)
            self._refresh(outcome.source)
        elif isinstance(outcome, Buffered) and self.sync.snapshot_source == "rest":
            self._refresh("rest")

    def _begin_resync(self, reason: str, now_ms: int) -> None:
        if not self.resyncing:
            self.resyncing = True
            self.resyncs += 1
            log.info("%s: resyncing the book (%s)", self.topic.name, reason)
            self.event(BookResync(self.query.exchange, self.query.symbol or "", now_ms, reason=reason))

    def _refresh(self, source: str) -> None:
        if source == "stream":
            if self._resubscribe is not None:
                return  # one is already waiting out the backoff
            if self._retry_at > self.hub.clock.monotonic():
                self._resubscribe = self.hub.spawn(self._resubscribe_later())
            elif self.connection is not None:
                self.connection.resubscribe(self.topic)
        elif self._snapshot is None:
            self._snapshot = self.hub.spawn(self._load_snapshot())

    async def _resubscribe_later(self) -> None:
        try:
            await self._hold()
        finally:
            self._resubscribe = None
        if self.resyncing and self.connection is not None and not self.closed:
            self.connection.resubscribe(self.topic)

    async def _load_snapshot(self) -> None:
        from tradeflood.models import OrderBook

        failures = 0
        try:
            while failures < self.snapshot_attempts:
                await self._hold()
                tap = self.hub.settings.tap
                try:
                    # A recorder marks when the snapshot reaches the book: the deltas received
                    # until then are bridged into it, and a replay hands it over after them too.
                    # invalid="raise": a refused snapshot says why (it is retried either way).
                    with nullcontext() if tap is None else tap.hand_over():
                        book = await self.hub.session.afetch(
                            OrderBook, exchange=self.query.exchange, symbol=self.query.symbol,
                            depth=self.book_binding.snapshot_depth, invalid="raise")
                except TradeFloodError as exc:
                    refused = exc.cause if isinstance(exc, FetchError) else exc
                    if isinstance(refused, PayloadError):  # the venue's reply: refused, backed off
                        self._refused(f"snapshot {refused.endpoint}: {refused.detail}",
                                      int(self.hub.clock.time() * 1000))
                        continue
                    log.warning("%s: book snapshot failed (%s)", self.topic.name, exc)
                    await self.hub.clock.sleep(min(10.0, 0.5 * 2 ** failures))
                    failures += 1
                    continue
                self.snapshots += 1
                outcome = self.sync.on_snapshot(BookDelta.from_order_book(book))
                if not isinstance(outcome, Resync):
                    self._snapshot = None
                    self._handle(outcome, int(self.hub.clock.time() * 1000))
                    return
                # A buffered update crossed the book on top of the snapshot (it is refused and
                # gone: a refusal), or the snapshot was older than the stream: ask again.
                if isinstance(outcome.reason, CrossedBook):
                    self._refuse_crossing(outcome, "update", int(self.hub.clock.time() * 1000))
                else:
                    await self.hub.clock.sleep(min(2.0, 0.1 * 2 ** failures))
                    failures += 1
        finally:
            self._snapshot = None

    def on_up(self, down_since_ms: int | None, now_ms: int) -> None:
        super().on_up(down_since_ms, now_ms)
        if down_since_ms is not None:
            self.sync.reset()
            self._current = None
            self._begin_resync("reconnected", now_ms)

    def render(self, item: Any, options: Options) -> Any:
        return item.book.to_model(self.query.exchange, self.query.symbol or "", self.native_symbol,
                                  item.timestamp or self._stamp, item.sequence, depth=options.depth)

    def welcome(self, delivery: Delivery) -> Sequence[Any]:
        current = self._current
        if current is None or self.resyncing or self.sync.book is None:
            return ()
        return (self.render(current, delivery.options),)

    def close(self) -> None:
        super().close()
        for task in (self._snapshot, self._resubscribe):
            if task is not None:
                task.cancel()
