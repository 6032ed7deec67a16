"""Live streams: WebSocket (and polling) subscriptions shared through RedFlow.

N consumers of one stream cause one upstream subscription: connections,
upstream subscriptions and consumer options are the three levels of a RedFlow
graph kept by each :class:`~tradeflood.Session`. Use it through
``Session.stream()`` / ``Session.subscribe()`` or ``tradeflood.stream()``.

What a venue fills in to stream: a :class:`StreamProtocol` (how its WebSocket
subscribes and frames data) on its connector, and a :class:`StreamBinding` per
model (which :class:`Topic` serves a query, how a :class:`Frame` parses). An
order-book stream parses frames into :class:`BookDelta` s and names its
:class:`BookSync` dialect, whose sequence rule, staleness and checksum are
public methods to override. :class:`ConsumerQueue` is the bounded queue with
overflow policies that every consumer reads from (a bus reader fills one too);
:class:`EventChannel` is where one consumer's stream events go (``on_event=``,
``events=True``, or counted and logged).
"""

from __future__ import annotations

from ._binding import StreamBinding
from ._book import LocalBook
from ._booksync import (
    Applied,
    BookDelta,
    BookSync,
    Buffered,
    ChecksumMismatch,
    CrossedBook,
    Dropped,
    Outcome,
    Resync,
    ResyncReason,
    SequenceGap,
    SnapshotTooOld,
    SyncState,
)
from ._connection import Backoff
from ._delivery import EventChannel
from ._events import BookResync, BookResynced, CandleGap, FrameRefused, Reconnected, StreamEvent, TradeGap
from ._hub import StreamSettings
from ._protocol import Frame, OpArgsProtocol, StreamProtocol, Topic
from ._queue import ConsumerQueue
from ._subscription import Stream, Subscription

__all__ = [
    "Applied",
    "Backoff",
    "BookDelta",
    "BookResync",
    "BookResynced",
    "BookSync",
    "Buffered",
    "CandleGap",
    "ChecksumMismatch",
    "ConsumerQueue",
    "CrossedBook",
    "Dropped",
    "EventChannel",
    "Frame",
    "FrameRefused",
    "LocalBook",
    "OpArgsProtocol",
    "Outcome",
    "Reconnected",
    "Resync",
    "ResyncReason",
    "SequenceGap",
    "SnapshotTooOld",
    "Stream",
    "StreamBinding",
    "StreamEvent",
    "StreamProtocol",
    "StreamSettings",
    "Subscription",
    "SyncState",
    "Topic",
    "TradeGap",
]
