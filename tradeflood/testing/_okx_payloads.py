"""OKX v5 wire shapes: instrument records, candle rows, trades, books and tickers.

Every number is a string, as OKX sends it. Swap sizes are in contracts of
``ctVal`` base each (:data:`CONTRACT_VALUES`): book and trade sizes and the
``vol`` column of candles are divided by it, ``volCcy`` stays in base.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeflood.testing._market import Bar, Instrument, Level, Market, Tick
from tradeflood.testing._venue import plain

__all__ = ["CONTRACT_VALUES", "book", "candle_row", "contracts", "inst_id", "instrument", "ticker", "trade"]

#: ctVal by base coin, as OKX lists its USDT swaps.
CONTRACT_VALUES = {"BTC": Decimal("0.01"), "ETH": Decimal("0.1"), "SOL": Decimal("1")}


def inst_id(inst: Instrument) -> str:
    """``BTC-USDT`` for a spot pair, ``BTC-USDT-SWAP`` for a perpetual."""
    pair = f"{inst.base}-{inst.quote}"
    return pair if inst.kind == "spot" else f"{pair}-SWAP"


def ct_val(inst: Instrument) -> Decimal:
    return Decimal(1) if inst.kind == "spot" else CONTRACT_VALUES.get(inst.base, Decimal(1))


def contracts(inst: Instrument, size: Decimal) -> str:
    """A base amount as the venue's size: contracts for swaps."""
    return plain(size / ct_val(inst)) if size else "0"


def instrument(inst: Instrument) -> dict[str, str]:
    spot = inst.kind == "spot"
    lot = inst.lot if spot else max(inst.lot / ct_val(inst), Decimal("0.01"))
    return {
        "instType": "SPOT" if spot else "SWAP", "instId": inst_id(inst),
        "uly": "" if spot else f"{inst.base}-{inst.quote}",
        "instFamily": "" if spot else f"{inst.base}-{inst.quote}",
        "baseCcy": inst.base if spot else "", "quoteCcy": inst.quote if spot else "",
        "settleCcy": "" if spot else inst.quote, "ctVal": "" if spot else plain(ct_val(inst)),
        "ctMult": "" if spot else "1", "ctValCcy": "" if spot else inst.base,
        "ctType": "" if spot else "linear", "listTime": str(inst.listed_ms),
        "lotSz": plain(lot), "minSz": plain(lot), "tickSz": plain(inst.tick), "state": "live",
    }


def candle_row(inst: Instrument, bar: Bar, now_ms: int) -> list[str]:
    """``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``."""
    spot = inst.kind == "spot"
    vol = plain(bar.volume) if spot else contracts(inst, bar.volume)
    vol_ccy = plain(bar.quote_volume) if spot else plain(bar.volume)
    return [str(bar.open_ms), plain(bar.open), plain(bar.high), plain(bar.low), plain(bar.close), vol,
            vol_ccy, plain(bar.quote_volume), "1" if bar.close_ms < now_ms else "0"]  # final after close_ms


def trade(inst: Instrument, tick: Tick) -> dict[str, str]:
    return {"instId": inst_id(inst), "side": "sell" if tick.buyer_is_maker else "buy",
            "sz": contracts(inst, tick.size), "px": plain(tick.price), "tradeId": str(tick.id),
            "ts": str(tick.ts_ms), "count": "1"}


def levels(inst: Instrument, side: list[Level]) -> list[list[str]]:
    return [[plain(lv.price), contracts(inst, lv.size), "0", "1"] for lv in side]


def book(inst: Instrument, bids: list[Level], asks: list[Level], ts_ms: int, seq: int) -> dict[str, Any]:
    return {"asks": levels(inst, asks), "bids": levels(inst, bids), "ts": str(ts_ms), "seqId": seq}


def ticker(market: Market, inst: Instrument, now_ms: int) -> dict[str, str]:
    day = market.window(inst, now_ms)
    bids, asks = market.book(inst, now_ms, 1)
    spot = inst.kind == "spot"
    return {
        "instType": "SPOT" if spot else "SWAP", "instId": inst_id(inst), "last": plain(day.close),
        "lastSz": "1", "askPx": plain(asks[0].price), "askSz": contracts(inst, asks[0].size),
        "bidPx": plain(bids[0].price), "bidSz": contracts(inst, bids[0].size),
        "open24h": plain(day.open), "high24h": plain(day.high), "low24h": plain(day.low),
        "volCcy24h": plain(day.quote_volume) if spot else plain(day.volume),
        "vol24h": plain(day.volume) if spot else contracts(inst, day.volume),
        "ts": str(now_ms), "sodUtc0": plain(market.price(inst, now_ms - now_ms % 86_400_000)),
        "sodUtc8": plain(market.price(inst, now_ms - (now_ms + 8 * 3_600_000) % 86_400_000)),
    }
