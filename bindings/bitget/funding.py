"""Bitget funding rates and open interest of USDT-M perpetuals.

- ``FundingRate`` now: ``current-fund-rate`` (the rate for ``nextUpdate`` and the
  interval in hours). A history is planned at the interval the contract config states
  (``contracts``, ``fundInterval`` in hours: the session-cached list the native symbol
  comes from, so knowing it costs no request). History: ``history-fund-rate``, which takes no time range but
  pages newest first by ``pageNo`` (100 rows a page). The planner counts pages back
  from the coming funding time, so page ``k`` holds the rows ``100 x (k-1)`` to
  ``100 x k - 1`` before it; this assumes one row per funding interval (8 hours until
  the rows show a finer one) with none missing.
  In the minutes after a funding, before Bitget publishes its row, the rows shift
  by one against that count, and a row at a page edge may be reported as a gap.
- ``OpenInterest`` now: ``open-interest`` (base amount, no value). Bitget v2 has no
  public open-interest history: a history query is refused before any request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradeflood import FundingHistoryBinding, PageSource, Part, Query, Turn
from tradeflood.connectors.bitget import Bitget
from tradeflood.models import FundingRate, OpenInterest
from tradeflood.parsing import Reader
from tradeflood.perpetuals import OpenInterestBinding, open_interest, settled_rates
from tradeflood.symbols import native_id

from .parse import CONTRACTS, EXCHANGE, contract_symbol_map
from .rest import _resolve

__all__ = ["BitgetFundingRate", "BitgetOpenInterest", "parse_current_funding", "parse_fund_interval",
           "parse_funding_history", "parse_open_interest"]

PAGE = 100
_HOUR = 3_600_000


def parse_current_funding(payload: Any, *, symbol: str,
                          endpoint: str = "/api/v2/mix/market/current-fund-rate") -> FundingRate:
    """The one record of ``current-fund-rate``: the rate for ``nextUpdate``."""
    read = Reader(EXCHANGE, endpoint, payload)
    rec = read.first_record(payload, "funding-rate")
    r = read.at(rec, "current-fund-rate")
    hours = r.optional_decimal(rec.get("fundingRateInterval"), "fundingRateInterval")
    return r.model(FundingRate, exchange=EXCHANGE, symbol=symbol, native_symbol=r.text(rec, "symbol"),
                   funding_time=r.ms(r.field(rec, "nextUpdate"), "nextUpdate"),
                   rate=r.decimal(r.field(rec, "fundingRate"), "fundingRate", negative=True),
                   interval_ms=int(hours * _HOUR) if hours else None)


def parse_fund_interval(payload: Any, *, symbol: str, endpoint: str = CONTRACTS) -> int | None:
    """The funding interval (ms) the contract config states for ``symbol`` (``fundInterval``,
    hours), None where it states none."""
    native = native_id(contract_symbol_map(payload), symbol)
    read = Reader(EXCHANGE, endpoint, payload)
    rec = next((r for r in read.records(payload) if r.get("symbol") == native), None)
    if rec is None:
        return None
    hours = read.at(rec, native).optional_decimal(rec.get("fundInterval"), "fundInterval", numbers=True)
    return int(hours * _HOUR) if hours else None


def parse_funding_history(payload: Any, *, symbol: str,
                          endpoint: str = "/api/v2/mix/market/history-fund-rate") -> list[FundingRate]:
    """Settled rates, oldest first (Bitget sends them newest first)."""
    read = Reader(EXCHANGE, endpoint, payload)
    return settled_rates(read, read.records(payload), symbol=symbol, native="symbol", time="fundingTime",
                         rate="fundingRate", newest_first=True)


def parse_open_interest(payload: Any, *, symbol: str,
                        endpoint: str = "/api/v2/mix/market/open-interest") -> OpenInterest:
    """``{"openInterestList": [{symbol, size}], "ts"}``: the size is in the base coin."""
    read = Reader(EXCHANGE, endpoint, payload)
    body = read.record(payload)
    rows = read.records(read.field(body, "openInterestList"))
    if not rows:
        raise read.fail("openInterestList is empty")
    rec = rows[0]
    r = read.at(rec, "openInterestList[0]")
    return open_interest(r, rec, symbol=symbol, native_symbol=r.text(rec, "symbol"),
                         timestamp=read.ms(read.field(body, "ts"), "ts"), size="size")


def _page_no(turn: Turn) -> int:
    return int(str(dict(turn.params)["pageNo"]))


class BitgetFundingRate(FundingHistoryBinding, model=FundingRate, connector=Bitget):
    """The coming funding rate of a USDT-M perpetual, or its settled rates over a range."""

    api: Bitget
    current_parser = staticmethod(parse_current_funding)
    history_parser = staticmethod(parse_funding_history)
    _head = 0

    def _native(self, query: Query) -> Any:
        return _resolve(self.api, query.symbol, "funding rates")[1]

    def plan_current(self, query: Query, now_ms: int) -> Sequence[Turn]:
        return [self.api.current_fund_rate(self._native(query))]

    def interval_sources(self, query: Query) -> Sequence[Turn]:
        return [self.api.contracts()]

    def stated_interval(self, query: Query, payloads: Mapping[tuple[Any, ...], Any]) -> int | None:
        listing = payloads.get(self.api.contracts().key)
        return None if listing is None else parse_fund_interval(listing, symbol=query.symbol or "")

    def page_origin(self, query: Query, now_ms: int) -> int:
        """The coming funding time: Bitget numbers its pages back from there."""
        head = self.first_time(now_ms + 1, query)
        self._head = head  # read by page_sources, which the same planning calls next
        return head

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        head, span, native = self._head, PAGE * self.step(query), self._native(query)
        return [PageSource("history-fund-rate", PAGE, lambda s, e, n: self.api.history_fund_rate(
            native, n, (head - e) // span + 1))]

    def repair(self, query: Query, parts: Sequence[Part], now_ms: int) -> Sequence[Turn]:
        """One page beyond the oldest when rows of the range are still missing: rows the venue
        lacks (or has not yet published) shift its page numbers, so the counted pages stop
        short of the range's start by as many rows; the rows themselves carry their times."""
        if not self.serves_history(query) or not parts:
            return ()
        refill = self.refill(query, parts, now_ms)  # full pages of a contract funding more often
        if refill:
            return refill
        start, end = self.time_range(query, now_ms)
        rows = self.merged_items([p.items for p in parts], start, end)
        if not self.missing(rows, start, end, query, now_ms):
            return ()
        oldest = max((p.turn for p in parts), key=_page_no)
        beyond = oldest.with_params(pageNo=_page_no(oldest) + 1)
        return [] if beyond.key in {p.turn.key for p in parts} else [beyond]


class BitgetOpenInterest(OpenInterestBinding, model=OpenInterest, connector=Bitget):
    """The open interest of a USDT-M perpetual now; Bitget serves no history of it."""

    api: Bitget
    current_parser = staticmethod(parse_open_interest)
    has_history = False  # periods stays None: check() refuses every history query

    def plan_current(self, query: Query, now_ms: int) -> Sequence[Turn]:
        return [self.api.open_interest(_resolve(self.api, query.symbol, "open interest")[1])]
