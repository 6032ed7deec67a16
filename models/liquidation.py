"""Liquidation: one forced order a venue published when a position was liquidated."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from ._base import Model, Price, Size, TimestampMs, ms_to_datetime

__all__ = ["Liquidation"]


class Liquidation(Model):
    """One liquidation order of a perpetual, as the venue's public feed shows it.

    ``side`` is the side of the liquidation order: ``sell`` when a long position
    was closed, ``buy`` when a short was. ``amount`` is in base units (contracts
    scaled by the contract size where the venue counts contracts) and ``price``
    the order's price as the venue reports it (a bankruptcy or average price,
    depending on the venue).
    """

    timestamp: TimestampMs
    price: Price
    amount: Size
    side: Literal["buy", "sell"]

    @property
    def datetime(self) -> datetime:
        return ms_to_datetime(self.timestamp)

    @property
    def cost(self) -> Decimal:
        return self.price * self.amount
