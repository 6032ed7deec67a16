"""What a stream tells its consumers besides data: gaps, resyncs, reconnections.

A typed stream hands out its model only (``stream(Trade)`` yields ``Trade`` s);
events reach the consumer through a channel of their own, chosen per consumer:

- ``on_event=callback``: called with each event as it happens;
- ``events=True``: events also come in the same iterator (or callback) as the
  data, in order with it, never conflated away; test them with
  ``isinstance(item, StreamEvent)``;
- neither: the first event of each kind is logged at WARNING. Every event is
  counted on the stream either way (``st.events``, ``st.last_event``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BookResync", "BookResynced", "CandleGap", "FrameRefused", "Reconnected", "StreamEvent",
           "TradeGap"]


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """Base of stream events: which stream it concerns and when (UTC ms)."""

    exchange: str
    symbol: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class TradeGap(StreamEvent):
    """Trades between ``start_ms`` and ``end_ms`` may be missing or incomplete.

    After an outage (the connection was down), ``last_id`` is the id of the last
    trade delivered before it, if any. When a trade arrived late, out of order
    (``late_id``: it sorts before ``last_id``, the last trade delivered), it is
    not delivered, and the span from its time to the last trade's is incomplete.
    """

    start_ms: int
    end_ms: int
    last_id: str | None = None
    late_id: str | None = None


@dataclass(frozen=True, slots=True)
class CandleGap(StreamEvent):
    """Closed candles from ``start_ms`` to ``end_ms`` could not be recovered over REST."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class BookResync(StreamEvent):
    """The local order book is being rebuilt; the last good book stays readable.

    ``reason`` says why (a sequence gap, a checksum mismatch, a crossed book, a
    reconnection). No book is delivered until :class:`BookResynced`.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class BookResynced(StreamEvent):
    """The order book is consistent again; ``sequence`` is the venue's update id."""

    sequence: int | None


@dataclass(frozen=True, slots=True)
class Reconnected(StreamEvent):
    """The upstream connection came back after ``down_ms`` milliseconds."""

    down_ms: int


@dataclass(frozen=True, slots=True)
class FrameRefused(StreamEvent):
    """A frame of ``topic`` could not be read or held an impossible value (``reason``: which
    row and field, see :mod:`tradeflood.checks`); nothing of it was delivered, and a book
    stream resyncs after it.

    For a book, the REST snapshot it is rebuilt from is refused the same way, and
    ``refusals`` counts the book's refusals in a row, this one included (a book whole
    again starts the count over); ``retry_ms`` is how long the book waits before it is
    asked for again (1 s, doubling, at most 60 s). Both are None for other topics.
    """

    topic: str
    reason: str
    refusals: int | None = None
    retry_ms: int | None = None
