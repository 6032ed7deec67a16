"""Built-in bindings: importing this package registers them (model x venue -> plan + parse)."""

from __future__ import annotations

from . import binance, bitget

__all__ = ["binance", "bitget"]
