"""FundingRate: the rate a perpetual swap's longs pay its shorts (or the reverse) at a funding time."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ._base import Model, Price, TimestampMs, ms_to_datetime, trusted_builder

__all__ = ["FundingRate", "settled_rate"]


class FundingRate(Model):
    """One funding rate of a perpetual: ``rate`` applies at ``funding_time`` (UTC ms).

    In a history each row is a settled rate at its funding time. The current
    value (a fetch without ``start``/``end``/``limit``) is the rate the venue
    shows for the next funding time, with ``timestamp`` the time the venue
    stated it, and, where the venue gives them, ``next_rate`` (the rate predicted
    for the funding after that), the mark and index prices and the funding
    interval. Fields a venue does not send are None, never zero.

    >>> f = FundingRate(exchange="example", symbol="BTC/USDT:USDT", native_symbol="BTCUSDT",
    ...                 funding_time=1704067200000, rate="0.0001")
    >>> f.funding_datetime.isoformat(), f.rate
    ('2024-01-01T00:00:00+00:00', Decimal('0.0001'))
    """

    funding_time: TimestampMs
    rate: Decimal
    timestamp: TimestampMs | None = None
    next_rate: Decimal | None = None
    next_funding_time: TimestampMs | None = None
    mark_price: Price | None = None
    index_price: Price | None = None
    interval_ms: int | None = None

    @property
    def funding_datetime(self) -> datetime:
        return ms_to_datetime(self.funding_time)


_build = trusted_builder(FundingRate)


def settled_rate(exchange: str, symbol: str, native_symbol: str, funding_time: int, rate: Decimal,
                 mark_price: Decimal | None = None) -> FundingRate:
    """A history row from values a parser has already checked (no re-validation: for hot loops)."""
    return _build({"exchange": exchange, "symbol": symbol, "native_symbol": native_symbol,
                   "funding_time": funding_time, "rate": rate, "timestamp": None, "next_rate": None,
                   "next_funding_time": None, "mark_price": mark_price, "index_price": None,
                   "interval_ms": None})
