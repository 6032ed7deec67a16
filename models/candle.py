"""Candle: one OHLCV bar of a symbol at an interval."""

from __future__ import annotations

from datetime import datetime

from pydantic import computed_field

from ._base import Model, Price, Size, TimestampMs, ms_to_datetime

__all__ = ["Candle"]


class Candle(Model):
    """One OHLCV bar. ``open_time`` is the bar's start in UTC milliseconds.

    ``closed`` is False only for the bar still forming when it was fetched;
    closed bars never change and may be cached forever.

    >>> c = Candle(exchange="bitget", symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
    ...            open_time=1704067200000, open="42000.1", high="42010", low="41990.5",
    ...            close="42005", volume="12.5", quote_volume="525000.3", closed=True)
    >>> c.open_datetime.isoformat()
    '2024-01-01T00:00:00+00:00'
    """

    interval: str
    open_time: TimestampMs
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Size
    quote_volume: Size | None = None
    closed: bool = True

    @property
    def open_datetime(self) -> datetime:
        return ms_to_datetime(self.open_time)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def close_time(self) -> int:
        """The bar's end in UTC milliseconds (exclusive)."""
        from tradeflood.intervals import interval_end

        return interval_end(self.open_time, self.interval)
