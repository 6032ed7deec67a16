"""Entries: how one item, book change or event is written into a topic's stream (a contract).

Every entry is a flat map of strings::

    type      item | delta | snapshot | event
    data      JSON: the model's fields (decimals as strings), a book delta, or an event
    venue_ts  the venue's timestamp of the item (UTC ms)
    recv_ts   when the gatherer received it from the venue (UTC ms)
    pub_ts    when the gatherer published it (UTC ms)
    token     the fencing token of the lease it was published under

``item`` carries a Trade, a closed Candle, MarkCandle or IndexCandle, a Ticker, a
FundingRate, an OpenInterest or a Liquidation. Books are a ``snapshot``
(the whole book, ``{"timestamp", "sequence", "bids": [[price, size], ...], "asks"}``)
followed by ``delta`` entries (``{"timestamp", "sequence", "prev_sequence", "bids",
"asks"}``, a size of ``"0"`` removing the level), each applying to the book whose
sequence is ``prev_sequence``. An ``event`` names its kind (``{"event": "TradeGap",
...}``, as :mod:`tradeflood.streams` defines them) and ``note`` says why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

from tradeflood.errors import PayloadError
from tradeflood.models import OrderBook
from tradeflood.streams import StreamEvent

from ._keys import Topic

__all__ = ["Entry", "book_delta", "book_fields", "decode_event", "decode_item", "encode_event",
           "encode_item", "venue_ts"]

Entry = dict[str, str]


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def venue_ts(item: Any) -> int:
    """The venue's time of an item: a trade's, book's, ticker's or liquidation's timestamp, a
    candle's close, a funding rate's statement time (else its funding time)."""
    ts = getattr(item, "timestamp", None)
    if ts is None:
        ts = getattr(item, "close_time", None)
    if ts is None:
        ts = item.funding_time
    return int(ts)


def encode_item(item: Any, recv_ts: int) -> Entry:
    """A trade, closed candle or ticker as an ``item`` entry (``pub_ts`` and ``token`` added on publish)."""
    return {"type": "item", "data": _json(item.__dict__), "venue_ts": str(venue_ts(item)),
            "recv_ts": str(recv_ts)}


def book_fields(book: OrderBook) -> dict[str, Any]:
    return {"timestamp": book.timestamp, "sequence": book.sequence, "native_symbol": book.native_symbol,
            "bids": book.bids, "asks": book.asks}


def book_delta(prev: OrderBook, book: OrderBook) -> dict[str, Any] | None:
    """The levels that changed from ``prev`` to ``book`` (size 0: removed); None when nothing did."""
    sides = {}
    for side in ("bids", "asks"):
        before: dict[Decimal, Decimal] = dict(getattr(prev, side))
        after: dict[Decimal, Decimal] = dict(getattr(book, side))
        changed = [(p, s) for p, s in after.items() if before.get(p) != s]
        changed += [(p, Decimal(0)) for p in before if p not in after]
        sides[side] = changed
    if not sides["bids"] and not sides["asks"] and prev.sequence == book.sequence:
        return None
    return {"timestamp": book.timestamp, "sequence": book.sequence, "prev_sequence": prev.sequence,
            **sides}


def encode_book(kind: str, fields: Mapping[str, Any], recv_ts: int) -> Entry:
    return {"type": kind, "data": _json(fields), "venue_ts": str(fields["timestamp"]),
            "recv_ts": str(recv_ts)}


def encode_event(event: StreamEvent, note: str = "") -> Entry:
    data = {"event": type(event).__name__, **dataclasses.asdict(event)}
    entry = {"type": "event", "data": _json(data), "venue_ts": str(event.timestamp),
             "recv_ts": str(event.timestamp)}
    if note:
        entry["note"] = note
    return entry


def decode_item(topic: Topic, data: str | bytes) -> Any:
    """The model of an ``item`` entry's data; a :class:`PayloadError` if it does not fit."""
    model = topic.model
    try:
        return model.model_validate(orjson.loads(data))
    except (ValueError, TypeError) as exc:
        raise PayloadError("bus", topic.stream, f"an entry is not a {model.__name__}: {exc}", data) from exc


def decode_event(topic: Topic, data: str | bytes) -> StreamEvent:
    """The stream event of an ``event`` entry's data."""
    import tradeflood.streams as streams

    try:
        fields = orjson.loads(data)
        cls = getattr(streams, fields.pop("event"))
        if not (isinstance(cls, type) and issubclass(cls, StreamEvent)):
            raise TypeError(f"{cls!r} is not a stream event")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in fields.items() if k in names})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PayloadError("bus", topic.stream, f"an event entry cannot be read: {exc}", data) from exc
