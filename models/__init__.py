"""Venue-neutral market-data models: frozen pydantic v2, exact ``Decimal`` values, UTC ms times."""

from __future__ import annotations

from ._base import (
    Model,
    Price,
    Size,
    TimestampMs,
    ms_to_datetime,
    to_ms,
    trusted_batch,
    trusted_builder,
    trusted_setters,
)
from .book import OrderBook
from .candle import Candle
from .funding import FundingRate, settled_rate
from .instrument import Instrument
from .liquidation import Liquidation
from .marks import IndexCandle, MarkCandle, PriceCandle
from .open_interest import OpenInterest
from .ticker import Ticker
from .trade import Trade

__all__ = [
    "Candle",
    "FundingRate",
    "IndexCandle",
    "Instrument",
    "Liquidation",
    "MarkCandle",
    "Model",
    "OpenInterest",
    "OrderBook",
    "Price",
    "PriceCandle",
    "Size",
    "Ticker",
    "TimestampMs",
    "Trade",
    "ms_to_datetime",
    "settled_rate",
    "to_ms",
    "trusted_batch",
    "trusted_builder",
    "trusted_setters",
]
