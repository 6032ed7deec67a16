"""OKX funding rates and open interest of USDT swaps: current values and histories.

- ``FundingRate`` now: ``public/funding-rate`` (the rate of the coming funding, its
  time, the next one's time, so the interval; ``nextFundingRate`` when OKX gives one).
  A history of a swap whose interval the session does not know yet asks it there first
  (one request a swap, shared by the fetch's queries of it), and is planned at it;
  history: ``public/funding-rate-history``, 400 rows a page ("The maximum is 400"), the
  last three months only (older pages come back empty and are reported as gaps). A history row's rate
  is the settled ``realizedRate`` (``fundingRate`` when that is empty).
- ``OpenInterest`` now: ``public/open-interest`` (``oiCcy`` in base, ``oiUsd`` as the
  value); history: ``rubik/stat/contracts/open-interest-history`` by ``period``, 100
  rows a page, the latest 1,440 rows of a period only (older pages are gaps). OKX opens
  its ``6H``, ``12H`` and ``1D`` statistics at UTC+8 and their ``6Hutc``, ``12Hutc``
  and ``1Dutc`` twins at UTC+0: the twins are asked, so that rows sit on the UTC grid
  as every other venue's do (5m, 15m, 30m, 1h, 2h, 4h, 6h, 12h and 1d).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradeflood import FundingHistoryBinding, PageSource, ParseContext, Query, Turn
from tradeflood.connectors.okx import Okx
from tradeflood.models import FundingRate, OpenInterest, settled_rate
from tradeflood.parsing import Reader
from tradeflood.perpetuals import OpenInterestBinding, open_interest

from .parse import EXCHANGE
from .rest import resolve

__all__ = ["OI_PERIODS", "OkxFundingRate", "OkxOpenInterest", "parse_current_funding",
           "parse_funding_history", "parse_open_interest", "parse_open_interest_history"]

FUNDING_PAGE = 400
FUNDING_LOOKBACK_MS = 90 * 86_400_000
OI_PAGE = 100
#: Unified interval -> OKX ``period`` of the open-interest statistics.
OI_PERIODS = {"5m": "5m", "15m": "15m", "30m": "30m", "1h": "1H", "2h": "2H", "4h": "4H", "6h": "6Hutc",
              "12h": "12Hutc", "1d": "1Dutc"}
#: How many rows back of each period the open-interest history serves (OKX: "the latest 1,440").
OI_LOOKBACK_ROWS = 1440
#: The columns of an open-interest history row.
_OI_COLUMNS = ("ts", "oi", "oiCcy", "oiUsd")


def parse_current_funding(payload: Any, *, symbol: str,
                          endpoint: str = "/api/v5/public/funding-rate") -> FundingRate:
    """The one record of ``public/funding-rate``."""
    read = Reader(EXCHANGE, endpoint, payload)
    rec = read.first_record(payload, "funding-rate")
    r = read.at(rec, "funding-rate")
    funding = r.ms(r.field(rec, "fundingTime"), "fundingTime")
    following = r.optional_ms(rec.get("nextFundingTime"), "nextFundingTime")
    return r.model(
        FundingRate, exchange=EXCHANGE, symbol=symbol, native_symbol=r.text(rec, "instId"),
        funding_time=funding, rate=r.decimal(r.field(rec, "fundingRate"), "fundingRate", negative=True),
        timestamp=r.optional_ms(rec.get("ts"), "ts"),
        next_rate=r.optional_decimal(rec.get("nextFundingRate"), "nextFundingRate", negative=True),
        next_funding_time=following,
        interval_ms=following - funding if following is not None and following > funding else None)


def parse_funding_history(payload: Any, *, symbol: str,
                          endpoint: str = "/api/v5/public/funding-rate-history") -> list[FundingRate]:
    """Settled rates, oldest first (OKX sends them newest first)."""
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for i, rec in enumerate(reversed(read.records(payload))):
        r = read.at(rec, f"row {i}")
        realized = rec.get("realizedRate")
        rate = realized if realized not in (None, "") else r.field(rec, "fundingRate")
        out.append(settled_rate(EXCHANGE, symbol, r.text(rec, "instId"),
                                r.ms(r.field(rec, "fundingTime"), "fundingTime"),
                                r.decimal(rate, "realizedRate", negative=True)))
    return out


def parse_open_interest(payload: Any, *, symbol: str,
                        endpoint: str = "/api/v5/public/open-interest") -> OpenInterest:
    """The one record of ``public/open-interest``: ``oiCcy`` (base) as the size, ``oiUsd`` as the value."""
    read = Reader(EXCHANGE, endpoint, payload)
    rec = read.first_record(payload, "open-interest")
    r = read.at(rec, "open-interest")
    return open_interest(r, rec, symbol=symbol, native_symbol=r.text(rec, "instId"),
                         timestamp=r.ms(r.field(rec, "ts"), "ts"), size="oiCcy", value="oiUsd")


def parse_open_interest_history(payload: Any, *, symbol: str, native_symbol: str, interval: str,
                                endpoint: str = "/api/v5/rubik/stat/contracts/open-interest-history",
                                ) -> list[OpenInterest]:
    """Rows ``[ts, oi, oiCcy, oiUsd]``, oldest first."""
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for i, row in enumerate(reversed(read.rows(payload))):
        r = read.at(row, f"row {i}")
        if type(row) is not list or len(row) < 4:
            raise r.fail("expected [ts, oi, oiCcy, oiUsd]")
        out.append(open_interest(r, dict(zip(_OI_COLUMNS, row, strict=False)), symbol=symbol,
                                 native_symbol=native_symbol, timestamp=r.ms(row[0], "ts"), size="oiCcy",
                                 value="oiUsd", interval=interval))
    return out


class OkxFundingRate(FundingHistoryBinding, model=FundingRate, connector=Okx):
    """The current funding rate of a USDT swap, or its settled rates over a range."""

    api: Okx
    current_parser = staticmethod(parse_current_funding)
    history_parser = staticmethod(parse_funding_history)

    def plan_current(self, query: Query, now_ms: int) -> Sequence[Turn]:
        _, _, native = resolve(self.api, query.symbol, "funding rates")
        return [self.api.funding_rate(native)]

    def interval_sources(self, query: Query) -> Sequence[Turn]:
        return self.plan_current(query, 0)

    def stated_interval(self, query: Query, payloads: Mapping[tuple[Any, ...], Any]) -> int | None:
        [turn] = self.interval_sources(query)
        payload = payloads.get(turn.key)
        if payload is None:
            return None
        stated: int | None = parse_current_funding(payload, symbol=query.symbol or "",
                                                   endpoint=turn.path).interval_ms
        return stated

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        _, _, native = resolve(self.api, query.symbol, "funding rates")
        # [start, end) of funding times: after=end-1 (older than), before=start-1 (newer than). No
        # row sits at end-1 or start-1, so the page is the same whether OKX's bounds are exclusive
        # (as documented) or inclusive.
        api = self.api
        return [PageSource("funding-rate-history", FUNDING_PAGE, lambda s, e, n: api.funding_rate_history(
            native, after=e - 1, before=s - 1, limit=n), lambda interval: FUNDING_LOOKBACK_MS)]


class OkxOpenInterest(OpenInterestBinding, model=OpenInterest, connector=Okx):
    """The current open interest of a USDT swap, or its statistics per period over a range."""

    api: Okx
    current_parser = staticmethod(parse_open_interest)
    periods = OI_PERIODS

    def plan_current(self, query: Query, now_ms: int) -> Sequence[Turn]:
        _, _, native = resolve(self.api, query.symbol, "open interest")
        return [self.api.open_interest(native)]

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        _, _, native = resolve(self.api, query.symbol, "open interest")
        period = OI_PERIODS[query.interval or ""]
        reach = OI_LOOKBACK_ROWS * self.step(query)
        return [PageSource("open-interest-history", OI_PAGE, lambda s, e, n: self.api.open_interest_history(
            native, period, begin=s - 1, end=e - 1, limit=n),  # bounds as for funding pages
            lambda interval: reach)]

    def parse_history(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[OpenInterest]:
        return parse_open_interest_history(payload, symbol=query.symbol or "",
                                           native_symbol=ctx.params["instId"], interval=query.interval or "",
                                           endpoint=turn.path)
