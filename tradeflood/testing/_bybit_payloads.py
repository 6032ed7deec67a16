"""Bybit v5 wire shapes: instrument records, kline rows, trades, books and tickers.

Every number is a string, as Bybit sends it; linear sizes are in base coin.
"""

from __future__ import annotations

from typing import Any

from tradeflood.testing._market import Bar, Instrument, Level, Market, Tick
from tradeflood.testing._venue import plain

__all__ = ["instrument", "kline_row", "levels", "ticker", "trade"]


def instrument(inst: Instrument) -> dict[str, Any]:
    record: dict[str, Any] = {"symbol": inst.native, "baseCoin": inst.base, "quoteCoin": inst.quote,
                              "status": "Trading", "priceFilter": {"tickSize": plain(inst.tick)}}
    if inst.kind == "spot":
        record["lotSizeFilter"] = {"basePrecision": plain(inst.lot), "quotePrecision": "0.0000001",
                                   "minOrderQty": plain(inst.lot), "maxOrderQty": "100",
                                   "minOrderAmt": "1"}
    else:
        from tradeflood.testing._funding_market import funding_step

        record.update(contractType="LinearPerpetual", settleCoin=inst.quote,
                      launchTime=str(inst.listed_ms), fundingInterval=funding_step(inst) // 60_000)
        record["lotSizeFilter"] = {"qtyStep": plain(inst.lot), "minOrderQty": plain(inst.lot),
                                   "maxOrderQty": "1000"}
    return record


def kline_row(bar: Bar) -> list[str]:
    """``[startTime, open, high, low, close, volume, turnover]``."""
    return [str(bar.open_ms), plain(bar.open), plain(bar.high), plain(bar.low), plain(bar.close),
            plain(bar.volume), plain(bar.quote_volume)]


def trade(inst: Instrument, tick: Tick) -> dict[str, Any]:
    return {"execId": str(tick.id), "symbol": inst.native, "price": plain(tick.price),
            "size": plain(tick.size), "side": "Sell" if tick.buyer_is_maker else "Buy",
            "time": str(tick.ts_ms), "isBlockTrade": False}


def levels(side: list[Level]) -> list[list[str]]:
    return [[plain(lv.price), plain(lv.size) if lv.size else "0"] for lv in side]


def ticker(market: Market, inst: Instrument, now_ms: int) -> dict[str, str]:
    day = market.window(inst, now_ms)
    bids, asks = market.book(inst, now_ms, 1)
    return {"symbol": inst.native, "lastPrice": plain(day.close), "bid1Price": plain(bids[0].price),
            "bid1Size": plain(bids[0].size), "ask1Price": plain(asks[0].price),
            "ask1Size": plain(asks[0].size),
            "prevPrice24h": plain(day.open), "highPrice24h": plain(day.high), "lowPrice24h": plain(day.low),
            "volume24h": plain(day.volume), "turnover24h": plain(day.quote_volume)}
