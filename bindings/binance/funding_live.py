"""Binance USDⓈ-M funding rates live, from ``<symbol>@markPrice``.

Wire facts (Binance USDⓈ-M "Websocket Market Streams", Mark Price Stream,
developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/
Mark-Price-Stream):
``<symbol>@markPrice`` pushes every 3 s (``@markPrice@1s`` every second; the
3-second one is used, funding rates do not move faster than that matters)
``{"e": "markPriceUpdate", "E", "s", "p", "i", "P", "r", "T"}``: ``p`` the mark
price, ``i`` the index price, ``P`` the estimated settle price (only meaningful in
the hour before a delivery settles; not kept), ``r`` the funding rate and ``T``
the next funding time. ``r`` is the rate of the coming funding at ``T`` (the
value REST calls ``lastFundingRate`` on ``premiumIndex``), so it maps to ``rate``
with ``funding_time`` = ``T``; Binance gives no predicted rate beyond it
(``next_rate`` stays None) and no interval. Every push is one value: unchanged
rates are not de-duplicated (the mark and index prices move with each push).

Binance publishes no open-interest stream: ``OpenInterest`` is polled (``poll=``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeflood import Query
from tradeflood.connectors.binance import Binance
from tradeflood.models import FundingRate, Instrument
from tradeflood.parsing import Reader
from tradeflood.perpetuals import FundingQueries
from tradeflood.streams import Frame, StreamBinding, Topic

from .parse import VENUE

__all__ = ["BinanceFundingRateStream", "parse_mark_price_update"]


class BinanceFundingRateStream(FundingQueries, StreamBinding, model=FundingRate, connector=Binance):
    """The coming funding rate of a USDⓈ-M perpetual, with its mark and index prices, live."""

    expected_every = 10.0  # a push every 3 s

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return Topic(VENUE, "ws.futures", f"{instrument.native_symbol.lower()}@markPrice",
                     expected_every=self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[FundingRate]:
        return [parse_mark_price_update(frame.payload, symbol=query.symbol or "",
                                        endpoint=f"ws {topic.name}")]


def parse_mark_price_update(payload: Any, *, symbol: str, endpoint: str = "ws markPrice") -> FundingRate:
    """The coming funding from one ``markPriceUpdate`` event."""
    read = Reader(VENUE, endpoint, payload)
    event = read.record(payload, "a markPriceUpdate event")
    if event.get("e") != "markPriceUpdate":
        raise read.fail(f"e is {event.get('e')!r}, expected 'markPriceUpdate'")
    return read.model(
        FundingRate, exchange=VENUE, symbol=symbol, native_symbol=read.text(event, "s"),
        funding_time=read.ms(read.field(event, "T"), "T", strings=False),
        rate=read.decimal(read.field(event, "r"), "r", negative=True),
        timestamp=read.ms(read.field(event, "E"), "E", strings=False),
        mark_price=read.optional_decimal(event.get("p"), "p"),
        index_price=read.optional_decimal(event.get("i"), "i"))
