"""Bybit's mark/index klines, added to a :class:`BybitVenue`.

``/v5/market/mark-price-kline`` and ``/v5/market/index-price-kline`` take the
kline's parameters for ``category=linear`` (spot is refused: code 10001),
``limit`` up to 1000 (default 200), and answer ``{"symbol", "category", "list":
[[start, o, h, l, c], ...]}`` newest first, any age. Bybit has no public trade
history by time, so none is served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeflood.testing._derived import price_bar
from tradeflood.testing._venue import Call, plain

if TYPE_CHECKING:
    from tradeflood.testing._bybit import BybitVenue

__all__ = ["install"]


def install(venue: BybitVenue) -> None:
    """Add the routes to ``venue``."""

    def klines(kind: str) -> Any:
        def route(call: Call) -> dict[str, Any]:
            if call.get("category") != "linear":
                raise venue._reject(call, "params error: category only support linear or inverse")
            inst, grid, bars = venue._kline_page(call)  # paged as the trade klines
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
