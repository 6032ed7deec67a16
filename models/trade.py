"""Trade: one public execution."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from ._base import Model, Price, Size, TimestampMs, ms_to_datetime

__all__ = ["Trade"]


class Trade(Model):
    """One public trade; ``side`` is the taker's side."""

    id: str
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
