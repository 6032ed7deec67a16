"""Bybit funding rates and open interest of USDT linear perpetuals: current values and histories.

- Current values come on ``tickers`` (the request a ``Ticker`` fetch sends too, so a
  gather of all three sends it once): ``fundingRate`` for ``nextFundingTime``, the
  mark and index prices, ``fundingIntervalHour`` where present; ``openInterest`` in
  base and ``openInterestValue`` in quote, timed by the reply's ``time``.
- ``FundingRate`` history: ``funding/history``, 200 rows a page (newest first), planned at
  the interval the linear ``instruments-info`` states (``fundingInterval``, minutes: the
  session-cached list the native symbol comes from, so knowing it costs no request).
- ``OpenInterest`` history: ``open-interest`` by ``intervalTime`` (5m, 15m, 30m, 1h,
  4h, 1d), 200 rows a page (newest first), sizes in base, no value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradeflood import FundingHistoryBinding, LatestOrHistoryBinding, PageSource, ParseContext, Query, Turn
from tradeflood.connectors.bybit import Bybit
from tradeflood.models import FundingRate, OpenInterest
from tradeflood.parsing import Reader
from tradeflood.perpetuals import OpenInterestBinding, open_interest, settled_rates
from tradeflood.symbols import native_id

from .parse import EXCHANGE, INSTRUMENTS, bybit_symbol_map, find_ticker
from .rest import listing, resolve

__all__ = ["OI_PERIODS", "BybitFundingRate", "BybitOpenInterest", "parse_funding_history",
           "parse_funding_interval", "parse_open_interest_history", "parse_ticker_funding",
           "parse_ticker_open_interest"]

PAGE = 200
#: Unified interval -> Bybit ``intervalTime``.
OI_PERIODS = {"5m": "5min", "15m": "15min", "30m": "30min", "1h": "1h", "4h": "4h", "1d": "1d"}
_HOUR = 3_600_000
_MINUTE = 60_000


def _list(read: Reader, payload: Any) -> list[dict[str, Any]]:
    return read.records(read.field(read.record(payload), "list"))


def parse_ticker_funding(record: dict[str, Any], *, symbol: str, timestamp: Any,
                         endpoint: str = "/v5/market/tickers") -> FundingRate:
    """The coming funding from one linear ``tickers`` entry (REST or stream)."""
    r = Reader(EXCHANGE, endpoint, record)
    hours = r.optional_decimal(record.get("fundingIntervalHour"), "fundingIntervalHour")
    return r.model(
        FundingRate, exchange=EXCHANGE, symbol=symbol, native_symbol=r.text(record, "symbol"),
        funding_time=r.ms(r.field(record, "nextFundingTime"), "nextFundingTime"),
        rate=r.decimal(r.field(record, "fundingRate"), "fundingRate", negative=True),
        timestamp=r.optional_ms(timestamp, "time"),
        mark_price=r.optional_decimal(record.get("markPrice"), "markPrice"),
        index_price=r.optional_decimal(record.get("indexPrice"), "indexPrice"),
        interval_ms=int(hours * _HOUR) if hours else None)


def parse_ticker_open_interest(record: dict[str, Any], *, symbol: str, timestamp: Any,
                               endpoint: str = "/v5/market/tickers") -> OpenInterest:
    """The open interest (base) and its value (quote) from one linear ``tickers`` entry."""
    r = Reader(EXCHANGE, endpoint, record)
    return open_interest(r, record, symbol=symbol, native_symbol=r.text(record, "symbol"),
                         timestamp=r.ms(timestamp, "time"), size="openInterest", value="openInterestValue")


def parse_funding_interval(payload: Any, *, symbol: str, endpoint: str = INSTRUMENTS) -> int | None:
    """The funding interval (ms) the linear instrument list (one result, or the pages of a
    cursor-paged one) states for ``symbol`` (``fundingInterval``, minutes), None where it
    states none."""
    native = native_id(bybit_symbol_map(payload), symbol)
    read = Reader(EXCHANGE, endpoint, payload)
    for page in payload if type(payload) is list else [payload]:
        for rec in _list(read, page):
            if rec.get("symbol") == native:
                minutes = read.at(rec, native).optional_decimal(rec.get("fundingInterval"), "fundingInterval",
                                                                numbers=True)
                return int(minutes * _MINUTE) if minutes else None
    return None


def parse_funding_history(payload: Any, *, symbol: str, endpoint: str = "/v5/market/funding/history",
                          ) -> list[FundingRate]:
    """Settled rates, oldest first (Bybit sends them newest first)."""
    read = Reader(EXCHANGE, endpoint, payload)
    return settled_rates(read, _list(read, payload), symbol=symbol, native="symbol",
                         time="fundingRateTimestamp", rate="fundingRate", newest_first=True)


def parse_open_interest_history(payload: Any, *, symbol: str, native_symbol: str, interval: str | None,
                                endpoint: str = "/v5/market/open-interest") -> list[OpenInterest]:
    """Open interest per period, oldest first (Bybit sends it newest first)."""
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for i, rec in enumerate(reversed(_list(read, payload))):
        r = read.at(rec, f"row {i}")
        out.append(open_interest(r, rec, symbol=symbol, native_symbol=native_symbol,
                                 timestamp=r.ms(r.field(rec, "timestamp"), "timestamp"), size="openInterest",
                                 interval=interval))
    return out


class _FromTickers(LatestOrHistoryBinding):
    """The current value from the linear ``tickers`` reply."""

    api: Bybit

    def plan_current(self, query: Query, now_ms: int) -> Sequence[Turn]:
        cat, native = resolve(self.api, query.symbol, self.what)
        return [self.api.tickers(cat, native)]

    what = "data"


class BybitFundingRate(_FromTickers, FundingHistoryBinding, model=FundingRate, connector=Bybit):
    """The coming funding rate of a USDT perpetual, or its settled rates over a range."""

    what = "funding rates"
    history_parser = staticmethod(parse_funding_history)

    def parse_current(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[FundingRate]:
        record = find_ticker(payload, ctx.params["symbol"], turn.path)
        return [parse_ticker_funding(record, symbol=query.symbol or "", timestamp=payload.get("time"),
                                     endpoint=turn.path)]

    def interval_sources(self, query: Query) -> Sequence[Turn]:
        return [listing(self.api, "linear")]

    def stated_interval(self, query: Query, payloads: Mapping[tuple[Any, ...], Any]) -> int | None:
        instruments = payloads.get(listing(self.api, "linear").key)
        return None if instruments is None else parse_funding_interval(instruments, symbol=query.symbol or "")

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        cat, native = resolve(self.api, query.symbol, self.what)
        return [PageSource("funding/history", PAGE, lambda s, e, n: self.api.funding_history(
            cat, native, start_time=s, end_time=e - 1, limit=n))]


class BybitOpenInterest(_FromTickers, OpenInterestBinding, model=OpenInterest, connector=Bybit):
    """The open interest of a USDT perpetual now (with its value), or per period over a range."""

    what = "open interest"
    periods = OI_PERIODS

    def parse_current(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[OpenInterest]:
        record = find_ticker(payload, ctx.params["symbol"], turn.path)
        return [parse_ticker_open_interest(record, symbol=query.symbol or "", timestamp=payload.get("time"),
                                           endpoint=turn.path)]

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        cat, native = resolve(self.api, query.symbol, self.what)
        period = OI_PERIODS[query.interval or ""]
        return [PageSource("open-interest", PAGE, lambda s, e, n: self.api.open_interest(
            cat, native, period, start_time=s, end_time=e - 1, limit=n))]

    def parse_history(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[OpenInterest]:
        return parse_open_interest_history(payload, symbol=query.symbol or "",
                                           native_symbol=ctx.params["symbol"], interval=query.interval,
                                           endpoint=turn.path)
