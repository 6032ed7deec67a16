"""Ticker: the latest price and the rolling 24-hour statistics of a symbol."""

from __future__ import annotations

from datetime import datetime

from ._base import Model, Price, Size, TimestampMs, ms_to_datetime

__all__ = ["Ticker"]


class Ticker(Model):
    """Last price, best bid and ask, and 24-hour high, low and volumes.

    Fields a venue does not send for a market are None, never zero.
    """

    timestamp: TimestampMs
    last: Price | None = None
    bid: Price | None = None
    ask: Price | None = None
    high: Price | None = None
    low: Price | None = None
    base_volume: Size | None = None
    quote_volume: Size | None = None

    @property
    def datetime(self) -> datetime:
        return ms_to_datetime(self.timestamp)
