"""Funding rates and open interest on the simulated WebSockets, in each venue's shape.

Values are those of :mod:`tradeflood.testing._funding_market` at the push's time,
so a stream's values can be checked against the market state (and agree with the
REST routes of :mod:`tradeflood.testing._funding_routes`):

- Binance ``<symbol>@markPrice`` / ``@markPrice@1s``: :func:`binance_mark_price_update`;
- Bybit linear ``tickers.<symbol>``: the ticker record plus :func:`bybit_derivatives`
  (the feed sends a snapshot, then deltas of the changed fields);
- OKX ``funding-rate`` and ``open-interest`` (public path): :class:`OkxFundingRate`,
  :class:`OkxOpenInterest`;
- Bitget USDT-FUTURES ``ticker``: the REST ticker record (funding rate, mark, index and
  ``holdingAmount`` from the funding market) plus :func:`bitget_derivatives`.
"""

from __future__ import annotations

from typing import Any

from tradeflood.testing import _funding_market as fm
from tradeflood.testing import _okx_payloads as okx_wire
from tradeflood.testing._market import Instrument, Market
from tradeflood.testing._venue import plain
from tradeflood.testing._ws import Feed

__all__ = ["OkxFundingRate", "OkxOpenInterest", "binance_mark_price_update", "bitget_derivatives",
           "bybit_derivatives", "okx_feed"]


def _coming_rate(market: Market, inst: Instrument, now_ms: int) -> tuple[int, Any]:
    coming = fm.next_funding(now_ms)
    return coming, fm.funding_rate(market, inst, coming)


def binance_mark_price_update(market: Market, inst: Instrument, now_ms: int, px: Any) -> dict[str, Any]:
    """A ``markPriceUpdate`` event; ``px`` prints a price at the contract's precision."""
    coming, rate = _coming_rate(market, inst, now_ms)
    mark = market.price(inst, now_ms)
    return {"e": "markPriceUpdate", "E": now_ms, "s": inst.native, "p": px(mark),
            "i": px(fm.index_price(market, inst, now_ms)), "P": px(mark), "r": format(rate, ".8f"),
            "T": coming}


def bybit_derivatives(market: Market, inst: Instrument, now_ms: int) -> dict[str, str]:
    """The fields a linear ``tickers`` record adds for a perpetual (strings, as Bybit sends them)."""
    coming, rate = _coming_rate(market, inst, now_ms)
    return {"markPrice": plain(market.price(inst, now_ms)),
            "indexPrice": plain(fm.index_price(market, inst, now_ms)),
            "fundingRate": plain(rate), "nextFundingTime": str(coming),
            "openInterest": plain(fm.open_interest(market, inst, now_ms)),
            "openInterestValue": plain(fm.open_interest_value(market, inst, now_ms))}


def bitget_derivatives(market: Market, inst: Instrument, now_ms: int) -> dict[str, str]:
    """What a USDT-FUTURES ``ticker`` push adds to the REST ticker record (which already has the
    funding rate, the mark and index prices and ``holdingAmount``): the coming funding's time."""
    return {"nextFundingTime": str(fm.next_funding(now_ms)), "ts": str(now_ms)}


class _OkxSwapFeed(Feed):
    def __init__(self, key: str, arg: dict[str, str], inst: Instrument, market: Market,
                 interval: float) -> None:
        super().__init__(key, inst.native, interval)
        self.arg, self.inst, self.market = arg, inst, market

    def first(self, now_ms: int) -> list[Any]:
        return self.poll(now_ms)

    def poll(self, now_ms: int) -> list[Any]:
        return [{"arg": self.arg, "data": [self.record(now_ms)]}]

    def record(self, now_ms: int) -> dict[str, str]:
        raise NotImplementedError


class OkxFundingRate(_OkxSwapFeed):
    """``funding-rate``: the coming funding of one swap, as ``public/funding-rate`` shows it."""

    def record(self, now_ms: int) -> dict[str, str]:
        coming, rate = _coming_rate(self.market, self.inst, now_ms)
        settled = fm.funding_rate(self.market, self.inst, coming - fm.FUNDING_STEP_MS)
        return {"instType": "SWAP", "instId": okx_wire.inst_id(self.inst), "method": "current_period",
                "formulaType": "withRate", "fundingRate": plain(rate), "nextFundingRate": "",
                "fundingTime": str(coming), "nextFundingTime": str(coming + fm.FUNDING_STEP_MS),
                "minFundingRate": "-0.0075", "maxFundingRate": "0.0075", "settState": "settled",
                "settFundingRate": plain(settled), "premium": "0.0001", "interestRate": "0.0001",
                "impactValue": "", "sign": "", "ts": str(now_ms)}


class OkxOpenInterest(_OkxSwapFeed):
    """``open-interest``: contracts (``oi``), base (``oiCcy``) and value (``oiUsd``) of one swap."""

    def record(self, now_ms: int) -> dict[str, str]:
        size = fm.open_interest(self.market, self.inst, now_ms)
        return {"instType": "SWAP", "instId": okx_wire.inst_id(self.inst),
                "oi": okx_wire.contracts(self.inst, size), "oiCcy": plain(size),
                "oiUsd": plain(fm.open_interest_value(self.market, self.inst, now_ms)),
                "ts": str(now_ms)}


def okx_feed(key: str, channel: str, wanted: str, market: Market, interval: float) -> Feed | None:
    """The ``funding-rate`` or ``open-interest`` feed of swap ``wanted``, or None (unknown swap)."""
    inst = next((i for i in market.of_kind("perp") if okx_wire.inst_id(i) == wanted), None)
    if inst is None:
        return None
    cls = OkxFundingRate if channel == "funding-rate" else OkxOpenInterest
    return cls(key, {"channel": channel, "instId": wanted}, inst, market, interval)
