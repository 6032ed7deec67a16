"""Live streams: WebSocket (and polling) subscriptions shared through RedFlow.

N consumers of one stream cause one upstream subscription: connections,
upstream subscriptions and consumer options are the three levels of a RedFlow
graph kept by each :class:`~tradeflood.Session`. Use it through
``Session.stream()`` / ``Session.subscribe()`` or ``tradeflood.stream()``.
"""

from __future__ import annotations

from ._binding import StreamBinding
from ._booksync import BookDelta, BookSync
from ._connection import Backoff
from ._events import BookResync, BookResynced, CandleGap, Reconnected, StreamEvent, TradeGap
from ._hub import StreamSettings
from ._protocol import Frame, StreamProtocol, Topic
from ._subscription import Stream, Subscription

__all__ = [
    "Backoff",
    "BookDelta",
    "BookResync",
    "BookResynced",
    "BookSync",
    "CandleGap",
    "Frame",
    "Reconnected",
    "Stream",
    "StreamBinding",
    "StreamEvent",
    "StreamProtocol",
    "StreamSettings",
    "Subscription",
    "Topic",
    "TradeGap",
]
