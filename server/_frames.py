"""The one place that tells a stream's data items from its events, and what each looks like on the wire.

A topic subscribes with ``events=True``, so ``Session.subscribe`` hands events
(:class:`~tradeflood.streams.Reconnected`, ``TradeGap``, ``BookResync``,
``BookResynced``, ``CandleGap``) through the same callback as the models, in
order with them; this module tells the two apart and frames each.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from tradeflood.streams import BookResync, BookResynced, CandleGap, Reconnected, StreamEvent, TradeGap

__all__ = ["EVENT_NAMES", "encode_item", "is_event", "item_time_ms"]

EVENT_NAMES: dict[type[StreamEvent], str] = {
    Reconnected: "reconnected",
    TradeGap: "gap",
    CandleGap: "gap",
    BookResync: "book_resync",
    BookResynced: "book_resynced",
}


def is_event(item: Any) -> bool:
    return isinstance(item, StreamEvent)


def encode_item(item: Any) -> tuple[bytes, bytes]:
    """``(key, value)`` JSON fragments of one item: ``b'"data"'`` and the model's JSON, or
    ``b'"event"'`` and the event's name followed by its fields (spliced into the frame)."""
    if isinstance(item, StreamEvent):
        name = EVENT_NAMES.get(type(item), type(item).__name__.lower())
        fields = orjson.dumps(asdict(item))[1:-1]
        return b'"event"', orjson.dumps(name) + (b"," + fields if fields else b"")
    return b'"data"', orjson.dumps(item.model_dump(mode="json"))


def item_time_ms(item: Any) -> int | None:
    """The venue's timestamp of a data item, for the venue-to-client latency."""
    for name in ("timestamp", "close_time", "open_time", "funding_time"):
        value = getattr(item, name, None)
        if isinstance(value, int):
            return value
    return None
