"""Bitget's mark/index candles and trade history, added to a :class:`BitgetVenue`.

``mix/market/candles`` with ``kLineType=MARK|INDEX`` serves mark or index bars
(1000 a page, the trade candles' look-back); ``mix/market/history-mark-candles``
and ``history-index-candles`` any age (200 a page). Rows are the mix rows with
the volumes "0" (the row length of mark rows is a guess). ``fills-history``
(spot and mix): the last 90 days, ``limit`` up to 1000 (default 500), newest
first, ``startTime``/``endTime`` at most 7 days apart (else 40020), and
``idLessThan`` to page on. Trades inside an injected gap are not served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeflood.testing import _bitget_payloads as wire
from tradeflood.testing._derived import price_bar, trades_between
from tradeflood.testing._grid import DAY
from tradeflood.testing._venue import Call, plain

if TYPE_CHECKING:
    from tradeflood.testing._bitget import BitgetVenue

__all__ = ["FILLS_LOOKBACK_MS", "install"]

FILLS_LOOKBACK_MS = 90 * DAY
_FILLS_SPAN_MS = 7 * DAY


def install(venue: BitgetVenue) -> None:
    """Add the routes to ``venue``; ``mix/market/candles`` learns ``kLineType``."""
    trade_candles = venue.routes["/api/v2/mix/market/candles"]

    def price_candles(call: Call, kind: str, history: bool) -> list[list[str]]:
        inst, grid, bars = venue._candle_page(call, "perp", history)  # paged as the trade candles
        out = []
        for b in bars:
            p = price_bar(venue.market, inst, grid, b.open_ms, call.now_ms, kind)
            out.append([str(b.open_ms), plain(p.open), plain(p.high), plain(p.low), plain(p.close), "0", "0"])
        return out

    def mix_candles(call: Call) -> Any:
        kind = (call.get("kLineType") or "MARKET").upper()
        if kind == "MARKET":
            return trade_candles(call)
        if kind not in ("MARK", "INDEX"):
            raise venue._reject(call, "40020", "Parameter kLineType error")
        return price_candles(call, kind.lower(), history=False)

    def fills_history(call: Call, kind: str) -> list[dict[str, str]]:
        if kind == "perp":
            venue._product(call)
        inst = venue._instrument(call, kind)
        limit = venue._limit(call, 500, 1000)
        now = call.now_ms
        end = min(venue._int(call, "endTime", now) or now, now)
        start = venue._int(call, "startTime")
        if start is not None and end - start > _FILLS_SPAN_MS:
            raise venue._reject(call, "40020", "Parameter startTime error: at most 7 days before endTime")
        start = max(start if start is not None else end - _FILLS_SPAN_MS, now - FILLS_LOOKBACK_MS)
        id_below = venue._int(call, "idLessThan")
        names = venue.names(inst)
        chosen: list[Any] = []
        top = end + 1
        if id_below is not None and id_below > 0:  # start the scan at that trade, not at endTime
            top = min(top, venue.market.trade(inst, id_below).ts_ms + 1)
        while len(chosen) < limit and top > start:  # newest first, an hour of trades at a time
            span = trades_between(venue.market, inst, max(start, top - 3_600_000), top, now)
            kept = [t for t in span
                    if (id_below is None or t.id < id_below) and not venue.gaps.hides(names, t.ts_ms)]
            chosen = kept[-(limit - len(chosen)):] + chosen if kept else chosen
            top = max(start, top - 3_600_000)
        chosen = chosen[-limit:]
        chosen = call.short_paged(chosen)
        return [wire.fill(inst, t) for t in reversed(chosen)]

    venue.routes.update({
        "/api/v2/mix/market/candles": mix_candles,
        "/api/v2/mix/market/history-mark-candles": lambda c: price_candles(c, "mark", history=True),
        "/api/v2/mix/market/history-index-candles": lambda c: price_candles(c, "index", history=True),
        "/api/v2/spot/market/fills-history": lambda c: fills_history(c, "spot"),
        "/api/v2/mix/market/fills-history": lambda c: fills_history(c, "perp"),
    })
