"""A consumer's copy of a published order book: the snapshot plus the deltas after it, checked.

Each delta names the sequence of the book it applies to (``prev_sequence``);
one that does not follow the book held is a gap, and the book is rebuilt from
the next snapshot rather than handed out wrong.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeflood.models import OrderBook

__all__ = ["BusBook"]


class BusBook:
    """Levels by price for one symbol, as published on the bus."""

    def __init__(self, exchange: str, symbol: str) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.native = ""
        self.sequence: int | None = None
        self.timestamp = 0
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.ready = False

    def load(self, data: dict[str, Any]) -> None:
        """Replace the book with a snapshot's."""
        self.bids = {Decimal(p): Decimal(s) for p, s in data["bids"]}
        self.asks = {Decimal(p): Decimal(s) for p, s in data["asks"]}
        self.sequence = data.get("sequence")
        self.timestamp = int(data["timestamp"])
        self.native = data.get("native_symbol") or self.native
        self.ready = True

    def apply(self, data: dict[str, Any]) -> bool:
        """Apply a delta; False (and the book is dropped) when it does not follow the book held."""
        if not self.ready or data.get("prev_sequence") != self.sequence:
            self.ready = False
            return False
        for side, levels in (("bids", self.bids), ("asks", self.asks)):
            for p, s in data[side]:
                price, size = Decimal(p), Decimal(s)
                if size:
                    levels[price] = size
                else:
                    levels.pop(price, None)
        self.sequence = data.get("sequence")
        self.timestamp = int(data["timestamp"])
        return True

    def model(self, depth: int | None) -> OrderBook:
        bids = sorted(self.bids.items(), reverse=True)[:depth]
        asks = sorted(self.asks.items())[:depth]
        return OrderBook.model_construct(exchange=self.exchange, symbol=self.symbol,
                                         native_symbol=self.native, timestamp=self.timestamp,
                                         bids=tuple(bids), asks=tuple(asks), sequence=self.sequence)
