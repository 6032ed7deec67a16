"""Binance wire shapes: kline rows, trades, depth, tickers, book tickers and exchangeInfo.

Spot prints every price and quantity with eight decimals (``"43519.34000000"``);
USDⓈ-M futures print them at the contract's own precision (``"71481.90"``).
Timestamps and counts are JSON numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeflood.testing._market import Bar, Instrument, Level, Market, Tick

__all__ = ["Style", "book_ticker", "info_symbol", "kline", "levels", "ticker", "trade"]

_EIGHT = Decimal("0.00000001")
_QUOTE = Decimal("0.00001")


class Style:
    """How one API prints numbers: spot at eight decimals, futures at instrument precision."""

    def __init__(self, inst: Instrument, spot: bool) -> None:
        self.spot = spot
        self.tick = _EIGHT if spot else inst.tick
        self.lot = _EIGHT if spot else inst.lot
        self.quote = _EIGHT if spot else _QUOTE

    def px(self, value: Decimal) -> str:
        return str(value.quantize(self.tick))

    def qty(self, value: Decimal) -> str:
        return str(value.quantize(self.lot))

    def amount(self, value: Decimal) -> str:
        return str(value.quantize(self.quote))


def kline(style: Style, bar: Bar) -> list[Any]:
    return [
        bar.open_ms,
        style.px(bar.open),
        style.px(bar.high),
        style.px(bar.low),
        style.px(bar.close),
        style.qty(bar.volume),
        bar.close_ms,
        style.amount(bar.quote_volume),
        bar.trades,
        style.qty(bar.taker_buy_volume),
        style.amount(bar.taker_buy_quote_volume),
        "0",
    ]


def trade(style: Style, tick: Tick) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": tick.id,
        "price": style.px(tick.price),
        "qty": style.qty(tick.size),
        "quoteQty": style.amount(tick.price * tick.size),
        "time": tick.ts_ms,
        "isBuyerMaker": tick.buyer_is_maker,
    }
    if style.spot:
        row["isBestMatch"] = True
    return row


def levels(style: Style, side: list[Level]) -> list[list[str]]:
    return [[style.px(lv.price), style.qty(lv.size)] for lv in side]


def book_ticker(
    style: Style, inst: Instrument, bid: Level, ask: Level, update_id: int, time_ms: int
) -> dict[str, Any]:
    """The futures bookTicker: the best bid and ask, in Binance's field order."""
    return {
        "symbol": inst.native,
        "bidPrice": style.px(bid.price),
        "bidQty": style.qty(bid.size),
        "askPrice": style.px(ask.price),
        "askQty": style.qty(ask.size),
        "time": time_ms,
        "lastUpdateId": update_id,
    }


def ticker(market: Market, inst: Instrument, style: Style, now_ms: int) -> dict[str, Any]:
    day = market.window(inst, now_ms)
    last = market.recent_trades(inst, now_ms, 1)
    first_id = market.last_trade_id(inst, day.open_ms) + 1
    last_id = last[-1].id if last else 0
    weighted = day.quote_volume / day.volume if day.volume else day.close
    change = day.close - day.open
    out: dict[str, Any] = {
        "symbol": inst.native,
        "priceChange": style.px(change),
        "priceChangePercent": str((100 * change / day.open).quantize(Decimal("0.001"))),
        "weightedAvgPrice": style.px(weighted),
    }
    if style.spot:
        out["prevClosePrice"] = style.px(market.price(inst, day.open_ms - 1))
    out["lastPrice"] = style.px(day.close)
    out["lastQty"] = style.qty(last[-1].size if last else Decimal(0))
    if style.spot:
        bids, asks = market.book(inst, now_ms, 1)
        out.update(
            bidPrice=style.px(bids[0].price),
            bidQty=style.qty(bids[0].size),
            askPrice=style.px(asks[0].price),
            askQty=style.qty(asks[0].size),
        )
    out.update(
        openPrice=style.px(day.open),
        highPrice=style.px(day.high),
        lowPrice=style.px(day.low),
        volume=style.qty(day.volume),
        quoteVolume=style.amount(day.quote_volume),
        openTime=day.open_ms,
        closeTime=now_ms,
        firstId=first_id,
        lastId=last_id,
        count=max(0, last_id - first_id + 1),
    )
    return out


def info_symbol(inst: Instrument, spot: bool) -> dict[str, Any]:
    filters = [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": str(inst.tick),
            "maxPrice": "1000000",
            "tickSize": str(inst.tick),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": str(inst.lot),
            "maxQty": "9000",
            "stepSize": str(inst.lot),
        },
    ]
    if spot:
        return {
            "symbol": inst.native,
            "status": "TRADING",
            "baseAsset": inst.base,
            "baseAssetPrecision": 8,
            "quoteAsset": inst.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT"],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": True,
            "filters": filters,
            "permissions": [],
            "permissionSets": [["SPOT"]],
        }
    return {
        "symbol": inst.native,
        "pair": inst.native,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": inst.listed_ms,
        "status": "TRADING",
        "baseAsset": inst.base,
        "quoteAsset": inst.quote,
        "marginAsset": inst.quote,
        "pricePrecision": inst.price_decimals,
        "quantityPrecision": inst.size_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "filters": filters,
        "orderTypes": ["LIMIT", "MARKET", "STOP", "TAKE_PROFIT"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }
