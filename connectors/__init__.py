"""Venue connectors: each declares a venue's endpoints (``@turn``), base URLs and rate limits."""

from __future__ import annotations

from .binance import Binance
from .bitget import Bitget
from .bybit import Bybit
from .okx import Okx

__all__ = ["Binance", "Bitget", "Bybit", "Okx"]
