"""Liquidation streams of the simulated venues: one liquidation per perpetual every
two seconds (:mod:`tradeflood.testing._derived`), in each venue's wire format.

- Binance ``<symbol>@forceOrder`` (futures): ``{"e": "forceOrder", "E", "o": {...}}``, one
  event per liquidation;
- Bybit ``allLiquidation.<symbol>`` (linear): ``{"topic", "type": "snapshot", "ts", "data":
  [{"T", "s", "S", "v", "p"}]}``, every new one at each push, ``S`` the side of the position;
- OKX ``liquidation-orders`` (``instType`` SWAP): every swap's orders, sizes in contracts, one
  push per instrument or (``together``) one push listing every instrument's, as OKX's docs allow.
"""

from __future__ import annotations

from typing import Any

from tradeflood.testing import _okx_payloads as okx_wire
from tradeflood.testing._binance_feeds import BinanceFeed
from tradeflood.testing._derived import Liq, liquidations_between
from tradeflood.testing._market import Instrument, Market
from tradeflood.testing._venue import plain
from tradeflood.testing._ws import Feed

__all__ = ["BinanceLiquidations", "BybitLiquidations", "OkxLiquidations"]


class _Since:
    """The liquidations of one instrument not yet pushed (none from before the first poll)."""

    def __init__(self, market: Market, inst: Instrument) -> None:
        self.market, self.inst = market, inst
        self.last: int | None = None

    def new(self, now_ms: int) -> list[Liq]:
        found = liquidations_between(self.market, self.inst, self.last, now_ms)
        if self.last is None:
            self.last = found[-1].id if found else None
            return []
        if found:
            self.last = found[-1].id
        return found


class BinanceLiquidations(BinanceFeed):
    """``<symbol>@forceOrder`` of a USDⓈ-M perpetual."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.since = _Since(self.market, self.inst)

    def first(self, now_ms: int) -> list[Any]:
        self.since.new(now_ms)
        return []

    def poll(self, now_ms: int) -> list[Any]:
        out = []
        for liq in self.since.new(now_ms):
            px, qty = self.style.px(liq.price), self.style.qty(liq.size)
            out.append({"e": "forceOrder", "E": now_ms, "o": {
                "s": self.inst.native, "S": liq.side.upper(), "o": "LIMIT", "f": "IOC", "q": qty, "p": px,
                "ap": px, "X": "FILLED", "l": qty, "z": qty, "T": liq.ts_ms}})
        return out


class BybitLiquidations(Feed):
    """``allLiquidation.<symbol>`` of a linear perpetual: every new liquidation at each push."""

    def __init__(self, topic: str, inst: Instrument, market: Market, interval: float) -> None:
        super().__init__(f"{inst.kind}:{topic}", inst.native, interval)
        self.topic, self.inst = topic, inst
        self.since = _Since(market, inst)

    def first(self, now_ms: int) -> list[Any]:
        self.since.new(now_ms)
        return []

    def poll(self, now_ms: int) -> list[Any]:
        found = self.since.new(now_ms)
        if not found:
            return []
        data = [{"T": liq.ts_ms, "s": self.inst.native, "S": "Buy" if liq.side == "sell" else "Sell",
                 "v": plain(liq.size), "p": plain(liq.price)} for liq in found]
        return [{"topic": self.topic, "type": "snapshot", "ts": now_ms, "data": data}]


class OkxLiquidations(Feed):
    """``liquidation-orders`` of every swap (instType SWAP): one push per instrument, or with
    ``together`` one push whose ``data`` lists every instrument that had new orders."""

    def __init__(self, key: str, arg: dict[str, str], market: Market, interval: float,
                 together: bool = False) -> None:
        super().__init__(key, "", interval)
        self.arg = arg
        self.together = together
        self.swaps = [_Since(market, inst) for inst in market.of_kind("perp")]

    def first(self, now_ms: int) -> list[Any]:
        for since in self.swaps:
            since.new(now_ms)
        return []

    def poll(self, now_ms: int) -> list[Any]:
        out = []
        for since in self.swaps:
            found = since.new(now_ms)
            if not found:
                continue
            inst = since.inst
            family = f"{inst.base}-{inst.quote}"
            details = [{"bkLoss": "0", "bkPx": plain(liq.price), "ccy": "",
                        "posSide": "long" if liq.side == "sell" else "short", "side": liq.side,
                        "sz": okx_wire.contracts(inst, liq.size), "ts": str(liq.ts_ms)} for liq in found]
            out.append({"details": details, "instFamily": family, "instId": okx_wire.inst_id(inst),
                        "instType": "SWAP", "uly": family})
        if self.together:
            return [{"arg": self.arg, "data": out}] if out else []
        return [{"arg": self.arg, "data": [rec]} for rec in out]
