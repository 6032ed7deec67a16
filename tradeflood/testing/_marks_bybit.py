"""Bybit's mark/index klines, added to a :class:`BybitVenue` (issue 16).

``/v5/market/mark-price-kline`` and ``/v5/market/index-price-kline`` take the
kline's parameters for ``category=linear`` (spot is refused: code 10001),
``limit`` up to 1000 (default 200), and answer ``{"symbol", "category", "list":
[[start, o, h, l, c], ...]}`` newest first, any age. Bybit has no public trade
history by time, so none is served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeflood.testing._derived import price_bar
from tradeflood.testing._paging import page
from tradeflood.testing._venue import Call, plain

if TYPE_CHECKING:
    from tradeflood.testing._bybit import BybitVenue

__all__ = ["install"]


def install(venue: BybitVenue) -> None:
    """Add the routes to ``venue``."""
    from tradeflood.testing._bybit import INTERVALS

    def klines(kind: str) -> Any:
        def route(call: Call) -> dict[str, Any]:
            if call.get("category") != "linear":
                raise venue._reject(call, "params error: category only support linear or inverse")
            _, inst = venue._inst(call)
            grid = INTERVALS.get(call.get("interval") or "")
            if grid is None:
                raise venue._reject(call, "params error: interval invalid")
            limit = venue._limit(call, 200, 1000)
            first = venue._int(call, "start", 0) or 0
            end = venue._int(call, "end")
            upto = min(end + 1, call.now_ms + 1) if end is not None else call.now_ms + 1
            from_end = end is not None or call.get("start") is None
            bars = page(venue, call, inst, grid, first_ms=first, end_ms=upto, limit=limit, from_end=from_end)
            rows = []
            for b in reversed(bars):
                p = price_bar(venue.market, inst, grid, b.open_ms, call.now_ms, kind)
                rows.append([str(b.open_ms), plain(p.open), plain(p.high), plain(p.low), plain(p.close)])
            return {"symbol": inst.native, "category": "linear", "list": rows}
        return route

    venue.routes.update({
        "/v5/market/mark-price-kline": klines("mark"),
        "/v5/market/index-price-kline": klines("index"),
    })
