"""Binance market streams as feeds: trades, klines, diff and partial depth, tickers, book tickers, mark price.

Payloads follow Binance's documented event shapes for spot (``stream.binance.com``)
and USDⓈ-M futures (``fstream.binance.com``), with numbers printed as the REST
simulator prints them (spot at eight decimals, futures at contract precision), so
a closed kline equals the REST kline and depth equals REST depth at the same
update id (the market's book tick).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeflood.testing import _binance_payloads as wire
from tradeflood.testing._binance import INTERVALS
from tradeflood.testing._book import BookSide
from tradeflood.testing._funding_feeds import binance_mark_price_update
from tradeflood.testing._grid import Grid
from tradeflood.testing._market import Instrument, Market
from tradeflood.testing._ws import BarFeed, Feed, new_trade_ids

__all__ = ["BinanceFeed", "feed_for"]



class BinanceFeed(Feed):
    """A Binance stream of one instrument; ``stream`` is its name as subscribed (``btcusdt@trade``)."""

    def __init__(self, api: str, stream: str, inst: Instrument, market: Market, interval: float) -> None:
        super().__init__(f"{api}:{stream}", inst.native, interval)
        self.stream = stream
        self.spot = api == "spot"
        self.inst = inst
        self.market = market
        self.style = wire.Style(inst, self.spot)

    def poll(self, now_ms: int) -> list[Any]:
        return []


class _Trades(BinanceFeed):
    """Spot ``@trade`` and futures ``@aggTrade``: one event per market trade, as it happens."""

    most_per_poll = 1000

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.last_id: int | None = None

    def first(self, now_ms: int) -> list[Any]:
        if self.last_id is None:  # the stream starts with the trades after its first subscription
            self.last_id = self.market.last_trade_id(self.inst, now_ms)
        return []

    def poll(self, now_ms: int) -> list[Any]:
        self.last_id, ids = new_trade_ids(self.market, self.inst, self.last_id, now_ms, self.most_per_poll)
        return [self.event(self.market.trade(self.inst, i), now_ms) for i in ids]

    def event(self, tick: Any, now_ms: int) -> dict[str, Any]:
        px, qty = self.style.px(tick.price), self.style.qty(tick.size)
        if self.spot:
            return {"e": "trade", "E": now_ms, "s": self.inst.native, "t": tick.id, "p": px, "q": qty,
                    "T": tick.ts_ms, "m": tick.buyer_is_maker, "M": True}
        return {"e": "aggTrade", "E": now_ms, "s": self.inst.native, "a": tick.id, "p": px, "q": qty,
                "f": tick.id, "l": tick.id, "T": tick.ts_ms, "m": tick.buyer_is_maker}


class _Klines(BinanceFeed, BarFeed):
    """``@kline_<interval>``: the open kline every poll; a kline that closed is sent once more with
    x=true, each once and in order however late the poll (:class:`BarFeed`), one event a kline."""

    def __init__(self, interval_name: str, grid: Grid, *args: Any) -> None:
        super().__init__(*args)
        self.interval_name = interval_name
        self.grid = grid

    def kline(self, open_ms: int, now_ms: int) -> dict[str, Any]:
        bar = self.market.bar(self.inst, self.grid, open_ms, now_ms)
        row = wire.kline(self.style, bar)
        first = self.market.last_trade_id(self.inst, open_ms - 1) + 1
        last = self.market.last_trade_id(self.inst, min(now_ms, bar.close_ms))
        body = {
            "t": row[0], "T": row[6], "s": self.inst.native, "i": self.interval_name,
            "f": first if last >= first else -1, "L": last if last >= first else -1,
            "o": row[1], "c": row[4], "h": row[2], "l": row[3], "v": row[5], "n": row[8],
            "x": now_ms > bar.close_ms, "q": row[7], "V": row[9], "Q": row[10], "B": "0",
        }
        return {"e": "kline", "E": now_ms, "s": self.inst.native, "k": body}

    def poll(self, now_ms: int) -> list[Any]:
        return [self.kline(t, now_ms) for t in self.opens(now_ms)]


class _Depth(BinanceFeed):
    """``@depth`` / ``@depth@100ms``: diff depth events with ``U``/``u`` (and futures ``pu``, ``T``).

    Update ids are the market's book ticks. An event covers the ticks since the
    previous one and carries every level that changed in any of them, at its
    final size (0 when gone), so it applies cleanly to a REST snapshot taken at
    any tick it covers.
    """

    most_ticks_walked = 50

    def __init__(self, depth: int, *args: Any) -> None:
        super().__init__(*args)
        self.depth = depth
        self.tick = -1
        self.last_u = -1
        self.bids: BookSide = []
        self.asks: BookSide = []
        self._skip = False

    def first(self, now_ms: int) -> list[Any]:
        if self.tick < 0:  # the stream starts at the book tick of its first subscription
            self.tick = self.last_u = self.market.book_tick(now_ms)
            self.bids, self.asks = self.market.book_units(self.inst, self.tick, self.depth)
        return []

    def poll(self, now_ms: int) -> list[Any]:
        tick = self.market.book_tick(now_ms)
        if self.tick < 0:
            self.first(now_ms)
            return []
        if tick <= self.tick:
            return []
        touched_bids = {p: s for p, s in self.bids}
        touched_asks = {p: s for p, s in self.asks}
        start = max(self.tick + 1, tick - self.most_ticks_walked)
        changed_bids: set[int] = set()
        changed_asks: set[int] = set()
        for t in range(start, tick + 1):
            bids, asks = self.market.book_units(self.inst, t, self.depth)
            _collect(touched_bids, bids, changed_bids)
            _collect(touched_asks, asks, changed_asks)
        self.tick = tick
        self.bids, self.asks = bids, asks
        if not changed_bids and not changed_asks:
            return []
        first, prev = self.last_u + 1, self.last_u
        self.last_u = tick
        if self._skip:
            self._skip = False
            return []
        final_b, final_a = dict(bids), dict(asks)
        b = [self.level(p, final_b.get(p, 0)) for p in sorted(changed_bids, reverse=True)]
        a = [self.level(p, final_a.get(p, 0)) for p in sorted(changed_asks)]
        event: dict[str, Any] = {"e": "depthUpdate", "E": now_ms}
        if not self.spot:
            event["T"] = tick * self.market.book_tick_ms
        event.update(s=self.inst.native, U=first, u=tick)
        if not self.spot:
            event["pu"] = prev
        event.update(b=b, a=a)
        return [event]

    def level(self, price: int, size: int) -> list[str]:
        inst = self.inst
        return [self.style.px(Decimal(price).scaleb(-inst.price_decimals)),
                self.style.qty(Decimal(size).scaleb(-inst.size_decimals))]

    def skip_next(self) -> bool:
        self._skip = True
        return True


def _collect(held: dict[int, int], side: BookSide, changed: set[int]) -> None:
    """Record in ``changed`` every price whose size in ``side`` differs from ``held``; update ``held``."""
    now = dict(side)
    for price, size in side:
        if held.get(price) != size:
            changed.add(price)
    for price in [p for p in held if p not in now]:
        changed.add(price)
    held.clear()
    held.update(now)


class _Partial(_Depth):
    """``@depth<5|10|20>[@100ms]``: the top levels every poll."""

    def poll(self, now_ms: int) -> list[Any]:
        tick = self.market.book_tick(now_ms)
        bids, asks = self.market.book_units(self.inst, tick, self.depth)
        b, a = [self.level(*lv) for lv in bids], [self.level(*lv) for lv in asks]
        if self.spot:
            return [{"lastUpdateId": tick, "bids": b, "asks": a}]
        return [{"e": "depthUpdate", "E": now_ms, "T": tick * self.market.book_tick_ms, "s": self.inst.native,
                 "U": tick, "u": tick, "pu": tick - 1, "b": b, "a": a}]


class _Ticker(BinanceFeed):
    """``@ticker``: the rolling 24 h statistics, from the same figures as REST ``ticker/24hr``."""

    def poll(self, now_ms: int) -> list[Any]:
        r = wire.ticker(self.market, self.inst, self.style, now_ms)
        event: dict[str, Any] = {"e": "24hrTicker", "E": now_ms, "s": r["symbol"], "p": r["priceChange"],
                                 "P": r["priceChangePercent"], "w": r["weightedAvgPrice"]}
        if self.spot:
            event["x"] = r["prevClosePrice"]
        event.update(c=r["lastPrice"], Q=r["lastQty"])
        if self.spot:
            event.update(b=r["bidPrice"], B=r["bidQty"], a=r["askPrice"], A=r["askQty"])
        event.update(o=r["openPrice"], h=r["highPrice"], l=r["lowPrice"], v=r["volume"], q=r["quoteVolume"],
                     O=r["openTime"], C=r["closeTime"], F=r["firstId"], L=r["lastId"], n=r["count"])
        return [event]


class _BookTicker(BinanceFeed):
    """``@bookTicker``: the best bid and ask, whenever they change."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.top: tuple[Any, ...] | None = None

    def poll(self, now_ms: int) -> list[Any]:
        tick = self.market.book_tick(now_ms)
        bids, asks = self.market.book(self.inst, now_ms, 1)
        top = (self.style.px(bids[0].price), self.style.qty(bids[0].size),
               self.style.px(asks[0].price), self.style.qty(asks[0].size))
        if top == self.top:
            return []
        self.top = top
        body = {"s": self.inst.native, "b": top[0], "B": top[1], "a": top[2], "A": top[3]}
        if self.spot:
            return [{"u": tick, **body}]
        return [{"e": "bookTicker", "u": tick, "E": now_ms, "T": tick * self.market.book_tick_ms, **body}]


class _MarkPrice(BinanceFeed):
    """Futures ``@markPrice`` / ``@markPrice@1s``: the mark, index and coming funding (funding market)."""

    def poll(self, now_ms: int) -> list[Any]:
        return [binance_mark_price_update(self.market, self.inst, now_ms, self.style.px)]


def feed_for(api: str, stream: str, market: Market, pacing: dict[str, float]) -> BinanceFeed | None:
    """The feed of ``stream`` on ``api`` (``spot`` or ``futures``), or None for an unknown stream."""
    symbol, _, kind = stream.partition("@")
    inst = market.find(symbol.upper(), "spot" if api == "spot" else "perp")
    if inst is None or symbol != symbol.lower():
        return None
    common = (api, stream, inst, market)
    spot = api == "spot"
    if kind == ("trade" if spot else "aggTrade"):
        return _Trades(*common, pacing["trade"])
    if kind.startswith("kline_"):
        grid = INTERVALS.get(kind[6:])
        if grid is None or (kind == "kline_1s" and not spot):
            return None
        return _Klines(kind[6:], grid, *common, pacing["kline"])
    depth_kinds = {"depth": 1.0, "depth@100ms": 0.1} if spot else {"depth": 0.25, "depth@100ms": 0.1,
                                                                      "depth@500ms": 0.5}
    if kind in depth_kinds:
        return _Depth(int(pacing["depth_levels"]), *common, pacing["depth"] * depth_kinds[kind] / 0.1)
    for levels in (5, 10, 20):
        for suffix, pace in (("", 1.0 if spot else 0.25), ("@100ms", 0.1), ("@500ms", 0.5)):
            if kind == f"depth{levels}{suffix}" and (suffix != "@500ms" or not spot):
                return _Partial(levels, *common, pacing["depth"] * pace / 0.1)
    if kind == "ticker":
        return _Ticker(*common, pacing["ticker"])
    if kind == "bookTicker":
        return _BookTicker(*common, pacing["depth"])
    if not spot and kind == "forceOrder":  # liquidation orders
        # import cycle: the liquidation feeds subclass this module's feed base
        from tradeflood.testing._liquidation_feeds import BinanceLiquidations

        return BinanceLiquidations(*common, pacing["trade"])
    if not spot and kind in ("markPrice", "markPrice@1s"):
        return _MarkPrice(*common, pacing["ticker"] * (1 if kind.endswith("1s") else 3))
    return None
