"""OKX's mark/index candles and trade history, added to an :class:`OkxVenue`.

``market/mark-price-candles`` and ``market/index-candles`` (20 per 2 s) serve the
latest 1,440 bars, their ``history-`` twins (10 per 2 s) any age; all take
``limit`` up to 100 (default 100), page with ``after``/``before`` and answer
``[ts, o, h, l, c, confirm]`` newest first. Mark candles take a swap's
``instId``, index candles the index (``BTC-USDT``). ``market/history-trades``
(20 per 2 s): the last 3 months, ``limit`` up to 100, newest first; ``type=2``
pages by time with ``after`` (older than, exclusive) and ignores ``before``, which
OKX documents as a tradeId only ("Do not support timestamp for pagination");
``type=1`` (the default) pages by ``tradeId`` both ways. Trades inside an injected
gap are not served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeflood.testing import _okx_payloads as wire
from tradeflood.testing._derived import price_bar, trades_between
from tradeflood.testing._limits import RollingLimit
from tradeflood.testing._market import Instrument
from tradeflood.testing._venue import Call, plain

if TYPE_CHECKING:
    from tradeflood.testing._okx import OkxVenue

__all__ = ["LIMITS", "TRADES_LOOKBACK_MS", "install"]

LIMITS = {
    "/api/v5/market/mark-price-candles": 20,
    "/api/v5/market/history-mark-price-candles": 10,
    "/api/v5/market/index-candles": 20,
    "/api/v5/market/history-index-candles": 10,
    "/api/v5/market/history-trades": 20,
}
TRADES_LOOKBACK_MS = 90 * 86_400_000


def install(venue: OkxVenue) -> None:
    """Add the routes and their limits to ``venue``."""
    for path, n in LIMITS.items():
        venue.limits[path] = RollingLimit(per_window=n, window_s=2.0)

    def swap(call: Call, index: bool) -> Instrument:
        wanted = venue._required(call, "instId")
        for inst in venue.market.of_kind("perp"):
            if wire.inst_id(inst).removesuffix("-SWAP" if index else "") == wanted:
                return inst
        raise venue._reject("51001", "Instrument ID does not exist")

    def candles(kind: str, history: bool) -> Any:
        def route(call: Call) -> list[list[str]]:
            inst = swap(call, kind == "index")
            grid, bars = venue._bar_page(call, inst, history, 100)  # paged as the trade candles
            rows = []
            for b in reversed(bars):
                p = price_bar(venue.market, inst, grid, b.open_ms, call.now_ms, kind)
                rows.append([str(b.open_ms), plain(p.open), plain(p.high), plain(p.low),
                             plain(p.close), "1" if b.close_ms < call.now_ms else "0"])
            return rows
        return route

    def history_trades(call: Call) -> list[dict[str, str]]:
        inst = venue._inst(call)
        limit = venue._limit(call, "limit", 100, 100)
        after, before = venue._int(call, "after"), venue._int(call, "before")
        market, now = venue.market, call.now_ms
        oldest = now - TRADES_LOOKBACK_MS
        names = venue.names(inst)

        def shown(ticks: list[Any]) -> list[Any]:
            return [t for t in ticks if not venue.gaps.hides(names, t.ts_ms)]

        if (call.get("type") or "1") == "2":
            # ``before`` is a tradeId only: with timestamps it bounds nothing. The newest
            # ``limit`` trades older than ``after`` are the page: look back until they are found.
            hi = min(after if after is not None else now + 1, now + 1)
            lo = max(oldest, hi - 600_000)
            ticks = shown(trades_between(market, inst, lo, hi, now)) if lo < hi else []
            while len(ticks) < limit and oldest < lo < hi:
                lo, older = max(oldest, lo - 3_600_000), lo
                ticks = shown(trades_between(market, inst, lo, older, now)) + ticks
        else:
            last = market.last_trade_id(inst, now)
            hi_id = min(last, after - 1) if after is not None else last
            lo_id = max(1, before + 1) if before is not None else max(1, hi_id - limit + 1)
            lo_id = max(lo_id, hi_id - limit - 1000)  # never build more than needed
            ticks = shown([t for t in (market.trade(inst, i) for i in range(lo_id, hi_id + 1))
                           if t.ts_ms >= oldest])
        ticks = call.short_paged(ticks[-limit:])
        return [wire.trade(inst, t) for t in reversed(ticks)]

    venue.routes.update({
        "/api/v5/market/mark-price-candles": candles("mark", history=False),
        "/api/v5/market/history-mark-price-candles": candles("mark", history=True),
        "/api/v5/market/index-candles": candles("index", history=False),
        "/api/v5/market/history-index-candles": candles("index", history=True),
        "/api/v5/market/history-trades": history_trades,
    })
