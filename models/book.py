"""OrderBook: a snapshot of the resting orders of a symbol, aggregated by price."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ._base import Model, Price, Size, TimestampMs, ms_to_datetime

__all__ = ["OrderBook"]

Level = tuple[Price, Size]


class OrderBook(Model):
    """Bids and asks as ``(price, size)`` levels, best first.

    ``sequence`` is the venue's update id for the snapshot when it sends one
    (Binance ``lastUpdateId``, Bitget ``seq``), else None.
    """

    timestamp: TimestampMs
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    sequence: int | None = None

    @property
    def datetime(self) -> datetime:
        return ms_to_datetime(self.timestamp)

    @property
    def best_bid(self) -> Level | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Level | None:
        return self.asks[0] if self.asks else None

    @property
    def spread(self) -> Decimal | None:
        if not self.bids or not self.asks:
            return None
        return self.asks[0][0] - self.bids[0][0]

    @property
    def mid(self) -> Decimal | None:
        if not self.bids or not self.asks:
            return None
        return (self.asks[0][0] + self.bids[0][0]) / 2
