"""OKX's order-book rules: the ``books`` channel's sync dialect, by ``seqId``/``prevSeqId``.

OKX (v5 ``books`` channel, "Order book" section of the WebSocket docs): every
push carries ``seqId`` and ``prevSeqId``, the ``seqId`` of the push before it
(``-1`` on a snapshot). Three cases are documented: normal (``prevSeqId`` is the
last ``seqId``), no change for a while (an empty update whose ``seqId`` equals
``prevSeqId``), and a sequence reset during maintenance (``seqId`` lower than
``prevSeqId``, which is still the last ``seqId``). So the rule is only
"``prevSeqId`` is the last ``seqId``", and a lower ``seqId`` is not stale by itself.

OKX announced that its book ``checksum`` is always 0 from June 2026 ("OKX Order
Book Channels Checksum Field Deprecation", 21 May 2026: production from 23 June
2026, the field stays present and "will always return 0") and, by TradeFlood's
issue 16, that the initial snapshot on subscribing stops in August 2026 (no public
source for that one was found: docs/venue-guesses.md). Both behaviours are
served: a snapshot pushed on the stream is taken as it comes; without one,
updates are buffered while a REST snapshot (``market/books``, its ``seqId``)
loads, and the first update with ``prevSeqId <= seqId_rest < seqId`` bridges
(OKX updates carry absolute sizes, so one that straddles the snapshot is safe
to apply). The checksum is not checked.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from tradeflood.streams import BookDelta, BookSync, SequenceGap

__all__ = ["OkxBookSync"]


class OkxBookSync(BookSync):
    """``prevSeqId`` must be the last ``seqId``; a resync loads a REST snapshot (deltas wait)."""

    snapshot_source: ClassVar[Literal["rest", "stream"]] = "rest"
    buffers_deltas: ClassVar[bool] = True

    def is_stale(self, delta: BookDelta, last_id: int) -> bool:
        # An older push delivered again; a reset (lower seqId) continues from the last one.
        return delta.last_id <= last_id and delta.prev_id != last_id

    def gap(self, delta: BookDelta, last_id: int) -> SequenceGap | None:
        return None if delta.prev_id == last_id else SequenceGap(last_id, delta.prev_id)
