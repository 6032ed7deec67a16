"""OpenInterest: how many contracts of a perpetual are open, as a base amount and a quote value."""

from __future__ import annotations

from datetime import datetime

from ._base import Model, Price, Size, TimestampMs, ms_to_datetime

__all__ = ["OpenInterest"]


class OpenInterest(Model):
    """Open interest at ``timestamp`` (UTC ms): ``size`` in the base coin (contracts times
    their size), ``value`` in the quote coin where the venue gives it (else None).

    In a history (``interval`` set) each row is the venue's statistic for the
    period starting or ending at ``timestamp``, as the venue stamps it.

    >>> oi = OpenInterest(exchange="example", symbol="BTC/USDT:USDT", native_symbol="BTCUSDT",
    ...                   timestamp=1704067200000, size="18166.3583")
    >>> oi.size, oi.value
    (Decimal('18166.3583'), None)
    """

    timestamp: TimestampMs
    size: Size
    value: Price | None = None
    interval: str | None = None

    @property
    def datetime(self) -> datetime:
        return ms_to_datetime(self.timestamp)
