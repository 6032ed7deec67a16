"""Built-in bindings, one package per venue: importing this package registers them
(model x venue -> plan + parse, and live streams)."""

from __future__ import annotations

from . import binance, bitget, bybit, okx

__all__ = ["binance", "bitget", "bybit", "okx"]
