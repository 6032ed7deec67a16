"""Derived data of the simulated market: mark and index bars, liquidations, trades by time.

All pure functions of the market's seed, the instrument and the time, like the
rest of :mod:`tradeflood.testing._market`, so every page and every stream agree.
The mark price sits 3 basis points above the traded price path and the index 2
below, so their bars differ from the trade candles of the same interval.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from tradeflood.testing._grid import Grid
from tradeflood.testing._market import Bar, Instrument, Market, Tick, _round

__all__ = ["LIQUIDATION_SPACING_MS", "Liq", "liquidation", "liquidations_between", "price_bar",
           "trades_between"]

_SKEW = {"mark": 1.0003, "index": 0.9998}
#: One simulated liquidation per perpetual every this many milliseconds.
LIQUIDATION_SPACING_MS = 2_000


def price_bar(market: Market, inst: Instrument, grid: Grid, open_ms: int, now_ms: int, kind: str) -> Bar:
    """The ``kind`` ("mark" or "index") bar opening at ``open_ms``: the trade bar's prices skewed."""
    bar = market.bar(inst, grid, open_ms, now_ms)
    k = _SKEW[kind]

    def skew(p: Decimal) -> Decimal:
        return _round(float(p) * k, inst.tick)

    return replace(bar, open=skew(bar.open), high=skew(bar.high), low=skew(bar.low), close=skew(bar.close),
                   volume=Decimal(0), quote_volume=Decimal(0))


def trades_between(market: Market, inst: Instrument, start_ms: int, end_ms: int, now_ms: int) -> list[Tick]:
    """Trades with ``start_ms <= time < end_ms`` (and not after ``now_ms``), oldest first."""
    spacing = market.trade_spacing_ms
    first = max(1, (start_ms - inst.listed_ms) // spacing)
    last = min(market.last_trade_id(inst, now_ms), (end_ms - inst.listed_ms) // spacing + 1)
    out = []
    for i in range(first, last + 1):
        t = market.trade(inst, i)
        if start_ms <= t.ts_ms < end_ms and t.ts_ms <= now_ms:
            out.append(t)
    return out


@dataclass(frozen=True)
class Liq:
    """One simulated liquidation: ``sell`` closes a long, ``buy`` a short."""

    id: int
    ts_ms: int
    price: Decimal
    size: Decimal
    side: str


def liquidation(market: Market, inst: Instrument, n: int) -> Liq:
    """The ``n``-th liquidation of ``inst`` since its listing."""
    ts = inst.listed_ms + n * LIQUIDATION_SPACING_MS
    side = "sell" if market.unit(inst, "liq-side", n) < 0.5 else "buy"
    move = 0.998 if side == "sell" else 1.002  # a long is closed below the price, a short above
    price = _round(float(market.price(inst, ts)) * move, inst.tick)
    size = max(_round((0.2 + 5 * market.unit(inst, "liq-size", n)) * 1000 / float(inst.start_price),
                      inst.lot), inst.lot)
    return Liq(n, ts, price, size, side)


def liquidations_between(market: Market, inst: Instrument, after_n: int | None, now_ms: int) -> list[Liq]:
    """Liquidations after the ``after_n``-th up to ``now_ms`` (the latest one alone when None)."""
    last = (now_ms - inst.listed_ms) // LIQUIDATION_SPACING_MS
    first = last if after_n is None else after_n + 1
    return [liquidation(market, inst, n) for n in range(max(first, last - 99), last + 1)]
