"""Binance's order-book rules: the diff-depth sync dialects of spot and USDⓈ-M futures.

Both sync ``<symbol>@depth`` updates against a REST snapshot's ``lastUpdateId``
(Binance WebSocket Streams, "How to manage a local order book correctly"); they
differ in which update continues the snapshot and in how a gap shows.
"""

from __future__ import annotations

from tradeflood.streams import BookDelta, BookSync, SequenceGap

__all__ = ["BinanceFuturesBookSync", "BinanceSpotBookSync"]


class BinanceSpotBookSync(BookSync):
    """Binance spot diff depth: drop ``u <= lastUpdateId``; the first applied has
    ``U <= lastUpdateId + 1 <= u``; afterwards each ``U`` is the previous ``u + 1``."""

    def gap(self, delta: BookDelta, last_id: int) -> SequenceGap | None:
        return None if delta.first == last_id + 1 else SequenceGap(last_id + 1, delta.first)


class BinanceFuturesBookSync(BookSync):
    """Binance USDT-M futures diff depth: drop ``u < lastUpdateId``; the first applied has
    ``U <= lastUpdateId <= u``; afterwards each ``pu`` is the previous ``u``."""

    def bridge_target(self, snapshot_id: int) -> int:
        return snapshot_id

    def gap(self, delta: BookDelta, last_id: int) -> SequenceGap | None:
        return None if delta.prev_id == last_id else SequenceGap(last_id, delta.prev_id)
