"""Binance USDⓈ-M funding rates and open interest: current values and histories.

- ``FundingRate`` now: ``premiumIndex`` (``lastFundingRate`` is the rate of the coming
  funding at ``nextFundingTime``, with the mark and index prices; Binance states no
  interval there) and ``fundingInfo`` for the interval: one list for all symbols, sent
  once a session (a prerequisite, with the perpetual listing, of the fetch's current
  rates and of its histories of symbols whose interval is not known yet), naming only the
  symbols whose interval (or rate cap) Binance adjusted, so a symbol it leaves out has
  ``interval_ms`` None (most fund every 8 hours, but the list is all Binance states) and
  its history is planned at 8 hours. A ``fundingInfo`` that fails or cannot be read
  fails no rate: it is logged, the rate comes without an interval (or with the one the
  session learned from rows), a history is planned at 8 hours and learns from its rows,
  and it is not kept: the next fetch that needs it asks again. History:
  ``fundingRate``, 1000 rows a page, oldest first. Binance stamps a funding a few
  milliseconds after its hour (``1570608000003``): the rows are kept at the whole
  minute, so they sit on the 8-hour grid.
- ``OpenInterest`` now: ``openInterest`` (base amount, no value); history:
  ``futures/data/openInterestHist`` by ``period`` (5m..1d), 500 rows a page, the
  latest 30 days only (older pages come back empty and are reported as gaps).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradeflood import FundingHistoryBinding, PageSource, ParseContext, Part, Query, Turn
from tradeflood.connectors.binance import Binance
from tradeflood.models import FundingRate, OpenInterest, settled_rate
from tradeflood.parsing import Reader
from tradeflood.perpetuals import OpenInterestBinding, open_interest
from tradeflood.symbols import native_id

from .parse import VENUE, futures_symbol_map
from .rest import native_symbol

__all__ = ["OI_PERIODS", "BinanceFundingRate", "BinanceOpenInterest", "parse_funding_history",
           "parse_funding_info", "parse_open_interest", "parse_open_interest_history", "parse_premium_index"]

FUNDING_PAGE = 1000
OI_PAGE = 500
OI_LOOKBACK_MS = 30 * 86_400_000
OI_PERIODS = ("5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")
_MINUTE = 60_000
_HOUR = 3_600_000
#: The interval of a perpetual ``fundingInfo`` leaves out: the one Binance did not adjust.
_UNADJUSTED_MS = 8 * _HOUR


def parse_premium_index(payload: Any, *, symbol: str, endpoint: str = "/fapi/v1/premiumIndex") -> FundingRate:
    """The coming funding of one symbol, with its mark and index prices."""
    read = Reader(VENUE, endpoint, payload)
    rec = read.record(payload)
    return read.model(
        FundingRate, exchange=VENUE, symbol=symbol, native_symbol=read.text(rec, "symbol"),
        funding_time=read.ms(read.field(rec, "nextFundingTime"), "nextFundingTime"),
        rate=read.decimal(read.field(rec, "lastFundingRate"), "lastFundingRate", negative=True),
        timestamp=read.optional_ms(rec.get("time"), "time"),
        mark_price=read.optional_decimal(rec.get("markPrice"), "markPrice"),
        index_price=read.optional_decimal(rec.get("indexPrice"), "indexPrice"))


def parse_funding_info(payload: Any, *, endpoint: str = "/fapi/v1/fundingInfo") -> dict[str, int]:
    """The funding interval (ms) of each symbol ``fundingInfo`` lists, by native symbol."""
    read = Reader(VENUE, endpoint, payload)
    out = {}
    for i, rec in enumerate(read.records(payload)):
        r = read.at(rec, f"row {i}")
        hours = r.integer(r.field(rec, "fundingIntervalHours"), "fundingIntervalHours")
        if hours <= 0:
            raise r.fail(f"fundingIntervalHours is {hours}, not a positive number of hours")
        out[r.text(rec, "symbol")] = hours * _HOUR
    return out


def parse_funding_history(payload: Any, *, symbol: str, endpoint: str = "/fapi/v1/fundingRate",
                          ) -> list[FundingRate]:
    """Settled rates, oldest first, each at its funding's whole minute."""
    read = Reader(VENUE, endpoint, payload)
    out = []
    for i, rec in enumerate(read.records(payload)):
        r = read.at(rec, f"row {i}")
        t = r.ms(r.field(rec, "fundingTime"), "fundingTime", strings=False)
        out.append(settled_rate(VENUE, symbol, r.text(rec, "symbol"), t - t % _MINUTE,
                                r.decimal(r.field(rec, "fundingRate"), "fundingRate", negative=True),
                                r.optional_decimal(rec.get("markPrice"), "markPrice")))
    return out


def parse_open_interest(payload: Any, *, symbol: str,
                        endpoint: str = "/fapi/v1/openInterest") -> OpenInterest:
    read = Reader(VENUE, endpoint, payload)
    rec = read.record(payload)
    return open_interest(read, rec, symbol=symbol, native_symbol=read.text(rec, "symbol"),
                         timestamp=read.ms(read.field(rec, "time"), "time", strings=False),
                         size="openInterest")


def parse_open_interest_history(payload: Any, *, symbol: str, interval: str,
                                endpoint: str = "/futures/data/openInterestHist") -> list[OpenInterest]:
    read = Reader(VENUE, endpoint, payload)
    out = []
    for i, rec in enumerate(read.records(payload)):
        r = read.at(rec, f"row {i}")
        out.append(open_interest(r, rec, symbol=symbol, native_symbol=r.text(rec, "symbol"),
                                 timestamp=r.ms(r.field(rec, "timestamp"), "timestamp"),
                                 size="sumOpenInterest", value="sumOpenInterestValue", interval=interval))
    return out


class BinanceFundingRate(FundingHistoryBinding, model=FundingRate, connector=Binance):
    """The coming funding rate of a USDT-M perpetual, or its settled rates over a range."""

    api: Binance
    current_parser = staticmethod(parse_premium_index)
    history_parser = staticmethod(parse_funding_history)

    #: What the latest ``fundingInfo`` read in the session states (ms by native symbol); None
    #: until one was read.
    _stated: dict[str, int] | None = None

    def plan_current(self, query: Query, now_ms: int) -> Sequence[Turn]:
        return [self.api.premium_index(native_symbol(self.api, query))]

    def interval_sources(self, query: Query) -> Sequence[Turn]:
        return [self.api.futures_exchange_info(), self.api.funding_info()]

    def prerequisites(self, query: Query, now_ms: int) -> Sequence[Turn]:
        """``fundingInfo`` (and the listing) before a current rate too, so that a failed list
        fails no rate; both are session-cached, so a session sends them once."""
        if self.serves_history(query):
            return super().prerequisites(query, now_ms)
        return self.interval_sources(query)

    def prepare(self, query: Query, payloads: Mapping[tuple[Any, ...], Any]) -> None:
        info = self.api.funding_info()
        if info.key in payloads:
            self._stated = parse_funding_info(payloads[info.key], endpoint=info.path)
        super().prepare(query, payloads)

    def stated_interval(self, query: Query, payloads: Mapping[tuple[Any, ...], Any]) -> int | None:
        """The interval ``fundingInfo`` states for the symbol, 8 hours for one it leaves out."""
        listing = payloads.get(self.api.futures_exchange_info().key)
        if self._stated is None or listing is None or self.api.funding_info().key not in payloads:
            return None
        native = native_id(futures_symbol_map(listing), query.symbol or "")
        return self._stated.get(native, _UNADJUSTED_MS)

    def assemble_current(self, query: Query, parts: Sequence[Part], now_ms: int) -> FundingRate:
        """The coming rate, with the interval ``fundingInfo`` states for its symbol (if any); when
        no ``fundingInfo`` could be read, the one the session learned (from rows), if any."""
        rate: FundingRate = self.single(parts)
        if self._stated is not None:
            interval = self._stated.get(rate.native_symbol)
        else:
            interval = self._intervals().get(query.symbol or "")
        if interval is None:
            return rate
        self.learn_interval(query.symbol or "", interval)
        return rate.model_copy(update={"interval_ms": interval})

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        native = native_symbol(self.api, query)
        return [PageSource("fundingRate", FUNDING_PAGE, lambda s, e, n: self.api.funding_rate_history(
            native, start_time=s, end_time=e - 1, limit=n))]


class BinanceOpenInterest(OpenInterestBinding, model=OpenInterest, connector=Binance):
    """The open interest of a USDT-M perpetual now, or its statistics per period (latest 30 days)."""

    api: Binance
    current_parser = staticmethod(parse_open_interest)
    periods = OI_PERIODS

    def plan_current(self, query: Query, now_ms: int) -> Sequence[Turn]:
        return [self.api.open_interest(native_symbol(self.api, query))]

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        native, period = native_symbol(self.api, query), query.interval or ""
        return [PageSource("openInterestHist", OI_PAGE, lambda s, e, n: self.api.open_interest_hist(
            native, period, start_time=s, end_time=e - 1, limit=n), lambda interval: OI_LOOKBACK_MS)]

    def parse_history(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[OpenInterest]:
        return parse_open_interest_history(payload, symbol=query.symbol or "", interval=query.interval or "",
                                           endpoint=turn.path)
