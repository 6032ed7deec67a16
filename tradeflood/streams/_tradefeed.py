"""Live trades: each trade once, in order; an outage is reported as a gap with its span.

Trades are ordered by the venue's trade id when it is numeric (venues' numeric
ids grow with time), else by time then id. Anything at or before the last
trade handed out is a duplicate (a resubscription's snapshot, a replayed frame)
and is dropped. A snapshot the venue pushes on subscribing is history:
the first one sets the baseline; after a reconnection its trades newer than the
baseline are handed out, after a :class:`TradeGap` naming the outage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._events import TradeGap
from ._feed import Feed
from ._protocol import Frame

__all__ = ["TradeFeed", "trade_order"]


def trade_order(trade: Any) -> tuple[int, int, str]:
    """The sort key of a trade: numeric id first where there is one, then time."""
    ident = trade.id
    if ident.isdigit():
        return (int(ident), trade.timestamp, ident)
    return (-1, trade.timestamp, ident)


class TradeFeed(Feed):
    """De-duplicates and orders trades; turns outages into :class:`TradeGap` events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last: tuple[int, int, str] | None = None
        self.last_trade: Any = None
        self.duplicates = 0
        self._baseline_pending = True

    def receive(self, items: Sequence[Any], frame: Frame, received_ms: int) -> None:
        if self._baseline_pending and frame.action == "snapshot":
            self._baseline_pending = False
            if items:  # history from before the subscription: it only sets the baseline
                newest = max(items, key=trade_order)
                self.last, self.last_trade = trade_order(newest), newest
            return
        self._baseline_pending = False
        for trade in sorted(items, key=trade_order) if len(items) > 1 else items:
            key = trade_order(trade)
            if self.last is not None and key <= self.last:
                self.duplicates += 1
                continue
            self.last, self.last_trade = key, trade
            self.publish(trade)

    def on_up(self, down_since_ms: int | None, now_ms: int) -> None:
        super().on_up(down_since_ms, now_ms)
        if down_since_ms is None:
            return
        last = self.last_trade
        start = min(down_since_ms, last.timestamp) if last is not None else down_since_ms
        self.event(TradeGap(self.query.exchange, self.query.symbol or "", now_ms, start_ms=start,
                            end_ms=now_ms, last_id=last.id if last is not None else None))
