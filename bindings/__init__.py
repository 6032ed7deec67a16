"""Built-in bindings: importing this package registers them (model x venue -> plan + parse)."""

from __future__ import annotations

from . import binance, binance_live, bitget, bitget_live

__all__ = ["binance", "binance_live", "bitget", "bitget_live"]
