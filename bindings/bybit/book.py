"""Bybit's order-book rules: the ``orderbook.<depth>.<symbol>`` sync dialect.

Bybit (v5 WebSocket "Orderbook", bybit-exchange.github.io/docs/v5/websocket/public/orderbook):
the first push is a ``snapshot``; then ``delta`` pushes carry the update id ``u``.
"If you receive a new snapshot message, you will have to reset your local orderbook"; and "occasionally you'll
receive ``u`` = 1, which is a snapshot data due to the restart of the service".
So every snapshot, and every push with ``u`` = 1, resets the book. The docs
call ``u`` "a sequence" without saying by how much it grows: TradeFlood takes
each delta's ``u`` to be the previous one plus one (a guess, consistent with
what the venue is seen to send) and resubscribes on anything else, which makes
the venue send a fresh snapshot. The feed carries no checksum.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from tradeflood.streams import BookDelta, BookSync, SequenceGap

__all__ = ["BybitBookSync"]


class BybitBookSync(BookSync):
    """Snapshots (and ``u`` = 1) reset; each delta's ``u`` follows the last by one; a resync resubscribes."""

    snapshot_source: ClassVar[Literal["rest", "stream"]] = "stream"
    buffers_deltas: ClassVar[bool] = False

    def is_stale(self, delta: BookDelta, last_id: int) -> bool:
        return delta.last_id <= last_id

    def gap(self, delta: BookDelta, last_id: int) -> SequenceGap | None:
        return None if delta.last_id == last_id + 1 else SequenceGap(last_id + 1, delta.last_id)
