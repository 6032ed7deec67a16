"""Mark-price and index-price candles: bars of a derived price, with no traded volume."""

from __future__ import annotations

from datetime import datetime

from pydantic import computed_field

from ._base import Model, Price, TimestampMs, ms_to_datetime

__all__ = ["IndexCandle", "MarkCandle", "PriceCandle"]


class PriceCandle(Model):
    """One open/high/low/close bar of a price that is not traded (no volume).

    Mark and index bars are models of their own rather than ``Candle`` with a
    price kind: the model says what the numbers are, so a mark bar can never be
    taken for a trade bar (in a mixed list, a store series, a bus topic or a
    column table), each kind is registered, planned and stored on its own, and
    the trade-candle bindings stay as they are. ``open_time`` is the bar's
    start in UTC milliseconds; ``closed`` is False only for the bar still forming.
    """

    interval: str
    open_time: TimestampMs
    open: Price
    high: Price
    low: Price
    close: Price
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


class MarkCandle(PriceCandle):
    """A bar of a derivative's mark price (the price its margin and liquidations use).

    >>> c = MarkCandle(exchange="example", symbol="BTC/USDT:USDT", native_symbol="BTCUSDT",
    ...                interval="1m", open_time=1704067200000, open="42000.1", high="42010",
    ...                low="41990.5", close="42005")
    >>> c.close_time - c.open_time
    60000
    """


class IndexCandle(PriceCandle):
    """A bar of the index price a derivative tracks (spot prices of several venues blended)."""
