"""Bitget v2 wire shapes: candle rows, trades, books, tickers and instrument records.

Numbers are strings as Bitget sends them: prices without trailing zeros,
sizes at the instrument's size precision, timestamps as millisecond strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeflood.testing import _funding_market as fm
from tradeflood.testing._market import Bar, Instrument, Level, Market, Tick
from tradeflood.testing._venue import plain

__all__ = [
    "candle_row",
    "contract",
    "fill",
    "levels",
    "mix_ticker",
    "spot_symbol",
    "spot_ticker",
]


def candle_row(bar: Bar, *, spot: bool) -> list[str]:
    """Spot rows carry base, USDT and quote volume; futures rows base and quote volume."""
    row = [str(bar.open_ms), plain(bar.open), plain(bar.high), plain(bar.low), plain(bar.close)]
    row += [plain(bar.volume), plain(bar.quote_volume)]
    if spot:
        row.append(plain(bar.quote_volume))
    return row


def fill(inst: Instrument, tick: Tick) -> dict[str, str]:
    return {
        "symbol": inst.native,
        "tradeId": str(tick.id),
        "side": "Sell" if tick.buyer_is_maker else "Buy",
        "price": plain(tick.price),
        "size": str(tick.size),
        "ts": str(tick.ts_ms),
    }


def levels(side: list[Level], *, as_numbers: bool = False) -> list[list[Any]]:
    if as_numbers:
        return [[float(plain(lv.price)), float(plain(lv.size))] for lv in side]
    return [[plain(lv.price), str(lv.size)] for lv in side]


def _change(new: Decimal, old: Decimal) -> str:
    return plain(((new - old) / old).quantize(Decimal("0.00001")))


def spot_ticker(market: Market, inst: Instrument, now_ms: int) -> dict[str, str]:
    day = market.window(inst, now_ms)
    bids, asks = market.book(inst, now_ms, 1)
    return {
        "open": plain(day.open),
        "symbol": inst.native,
        "high24h": plain(day.high),
        "low24h": plain(day.low),
        "lastPr": plain(day.close),
        "quoteVolume": plain(day.quote_volume),
        "baseVolume": plain(day.volume),
        "usdtVolume": plain(day.quote_volume),
        "ts": str(now_ms),
        "bidPr": plain(bids[0].price),
        "askPr": plain(asks[0].price),
        "bidSz": str(bids[0].size),
        "askSz": str(asks[0].size),
        "openUtc": plain(market.price(inst, now_ms - now_ms % 86_400_000)),
        "changeUtc24h": _change(day.close, market.price(inst, now_ms - now_ms % 86_400_000)),
        "change24h": _change(day.close, day.open),
    }


def mix_ticker(market: Market, inst: Instrument, now_ms: int) -> dict[str, str | None]:
    spot = spot_ticker(market, inst, now_ms)
    last = Decimal(spot["lastPr"])
    return {
        "symbol": inst.native,
        "lastPr": spot["lastPr"],
        "askPr": spot["askPr"],
        "bidPr": spot["bidPr"],
        "bidSz": spot["bidSz"],
        "askSz": spot["askSz"],
        "high24h": spot["high24h"],
        "low24h": spot["low24h"],
        "ts": spot["ts"],
        "change24h": spot["change24h"],
        "baseVolume": spot["baseVolume"],
        "quoteVolume": spot["quoteVolume"],
        "usdtVolume": spot["usdtVolume"],
        "openUtc": spot["openUtc"],
        "changeUtc24h": spot["changeUtc24h"],
        # The funding market's values, as the funding routes and the WebSocket give them.
        "indexPrice": plain(fm.index_price(market, inst, now_ms)),
        "fundingRate": plain(fm.funding_rate(market, inst, fm.next_funding(now_ms))),
        "holdingAmount": plain(fm.open_interest(market, inst, now_ms)),
        "deliveryStartTime": None,
        "deliveryTime": None,
        "deliveryStatus": "",
        "open24h": spot["open"],
        "markPrice": plain(last),
    }


def spot_symbol(inst: Instrument) -> dict[str, Any]:
    return {
        "symbol": inst.native,
        "baseCoin": inst.base,
        "quoteCoin": inst.quote,
        "minTradeAmount": "0",
        "maxTradeAmount": "10000000000",
        "takerFeeRate": "0.002",
        "makerFeeRate": "0.002",
        "pricePrecision": str(inst.price_decimals),
        "quantityPrecision": str(inst.size_decimals),
        "quotePrecision": str(inst.price_decimals + inst.size_decimals),
        "status": "online",
        "minTradeUSDT": "1",
        "buyLimitPriceRatio": "0.05",
        "sellLimitPriceRatio": "0.05",
        "areaSymbol": "no",
        "orderQuantity": "200",
        "openTime": str(inst.listed_ms),
        "offTime": "",
    }


def contract(inst: Instrument) -> dict[str, Any]:
    return {
        "symbol": inst.native,
        "baseCoin": inst.base,
        "quoteCoin": inst.quote,
        "buyLimitPriceRatio": "0.05",
        "sellLimitPriceRatio": "0.05",
        "feeRateUpRatio": "0.005",
        "makerFeeRate": "0.0002",
        "takerFeeRate": "0.0006",
        "openCostUpRatio": "0.01",
        "supportMarginCoins": [inst.quote],
        "minTradeNum": str(inst.lot),
        "priceEndStep": "1",
        "volumePlace": str(inst.size_decimals),
        "pricePlace": str(inst.price_decimals),
        "sizeMultiplier": str(inst.lot),
        "symbolType": "perpetual",
        "minTradeUSDT": "5",
        "maxSymbolOrderNum": "200",
        "maxProductOrderNum": "400",
        "maxPositionNum": "150",
        "symbolStatus": "normal",
        "offTime": "-1",
        "limitOpenTime": "-1",
        "deliveryTime": "",
        "deliveryStartTime": "",
        "deliveryPeriod": "",
        "launchTime": str(inst.listed_ms),
        "fundInterval": str(fm.funding_step(inst) // 3_600_000),  # hours, as each contract funds
        "minLever": "1",
        "maxLever": "125",
        "posLimit": "0.1",
        "maintainTime": "",
    }
