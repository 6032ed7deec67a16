"""Binance's mark/index klines and aggregate trades, added to a :class:`BinanceVenue`.

``/fapi/v1/markPriceKlines`` (``symbol``) and ``/fapi/v1/indexPriceKlines`` (``pair``)
page like klines (limit up to 1500, weight 1/2/5/10 by limit) with the volumes "0".
``/api/v3/aggTrades`` (weight 4) and ``/fapi/v1/aggTrades`` (weight 20): ``fromId``
(inclusive), or ``startTime``/``endTime`` less than an hour apart (else -1127), or the
latest; limit up to 1000 (default 500), oldest first. One simulated trade is one
aggregate (``f`` = ``l`` = ``a``); trades inside an injected gap are not served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeflood.testing import _binance_payloads as wire
from tradeflood.testing._derived import price_bar, trades_between
from tradeflood.testing._market import Tick
from tradeflood.testing._venue import Call

if TYPE_CHECKING:
    from tradeflood.testing._binance import BinanceVenue, _Api

__all__ = ["install"]

_HOUR = 3_600_000


def install(venue: BinanceVenue) -> None:
    """Add the routes to ``venue``."""
    from tradeflood.testing._binance import _fapi_kline_weight

    def price_klines(kind: str, key: str) -> Any:
        def route(call: Call, api: _Api) -> list[list[Any]]:
            wanted = venue._required(call, key)
            inst = venue.market.find(wanted, "perp")
            if inst is None:
                raise venue._fail(-1121, "Invalid symbol.")
            grid, bars = venue._kline_page(call, api, inst)  # paged as the trade klines
            style = wire.Style(inst, False)
            return [[b.open_ms, style.px(p.open), style.px(p.high), style.px(p.low), style.px(p.close), "0",
                     b.close_ms, "0", 0, "0", "0", "0"]
                    for b in bars
                    for p in [price_bar(venue.market, inst, grid, b.open_ms, call.now_ms, kind)]]
        return route

    def agg_trades(call: Call, api: _Api) -> list[dict[str, Any]]:
        inst = venue._instrument(call, api)
        limit = venue._limit(call, 500, 1000)
        start, end = venue._int(call, "startTime"), venue._int(call, "endTime")
        from_id = venue._int(call, "fromId")
        market, now = venue.market, call.now_ms
        names = venue.names(inst)
        if from_id is not None:  # the next ``limit`` trades that exist (a hole is skipped, as ids are)
            last = market.last_trade_id(inst, now)
            ticks: list[Tick] = []
            i = max(1, from_id)
            while i <= last and len(ticks) < limit and i < from_id + 100 * limit:
                tick = market.trade(inst, i)
                if not venue.gaps.hides(names, tick.ts_ms):
                    ticks.append(tick)
                i += 1
        elif start is not None or end is not None:
            if start is not None and end is not None and end - start >= _HOUR:
                raise venue._fail(-1127, "More than 1 hours between startTime and endTime.")
            a = start if start is not None else (end or now) - _HOUR + 1
            b = (end + 1) if end is not None else a + _HOUR
            ticks = [t for t in trades_between(market, inst, a, b, now)
                     if not venue.gaps.hides(names, t.ts_ms)][:limit]
        else:
            ticks = [t for t in market.recent_trades(inst, now, limit)
                     if not venue.gaps.hides(names, t.ts_ms)]
        ticks = call.short_paged(ticks, keep_first=True)
        style = wire.Style(inst, api.spot)
        return [_agg(style, t, api.spot) for t in ticks]

    venue.routes.update({
        "/fapi/v1/markPriceKlines": (lambda c: _fapi_kline_weight(venue._peek(c, 500)),
                                     price_klines("mark", "symbol")),
        "/fapi/v1/indexPriceKlines": (lambda c: _fapi_kline_weight(venue._peek(c, 500)),
                                      price_klines("index", "pair")),
        "/api/v3/aggTrades": (lambda c: 4, agg_trades),
        "/fapi/v1/aggTrades": (lambda c: 20, agg_trades),
    })


def _agg(style: wire.Style, tick: Tick, spot: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"a": tick.id, "p": style.px(tick.price), "q": style.qty(tick.size), "f": tick.id,
                           "l": tick.id, "T": tick.ts_ms, "m": tick.buyer_is_maker}
    if spot:
        row["M"] = True
    return row
