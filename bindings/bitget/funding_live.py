"""Bitget funding rates and open interest live, from the USDT-FUTURES ``ticker`` channel.

Wire facts (Bitget API v2 WebSocket, public "Tickers Channel", ``instType``
``USDT-FUTURES``; www.bitget.com/api-doc/contract/websocket/public/Tickers-Channel, whose
push sample, with ``holdingAmount``, is quoted in ccxt's ``ts/src/pro/bitget.ts``; the
demo-trading page shows the same record with ``quantity`` instead, which is not read):
about one push a second, ``{"action": "snapshot", "arg", "data": [{...}], "ts"}``,
each record whole (no deltas). A perpetual's record carries, with the prices of the
day, ``fundingRate`` (the coming funding's rate), ``nextFundingTime`` (when it
applies), ``markPrice``, ``indexPrice``,
``holdingAmount`` (the open interest in the base coin) and ``ts``. Bitget gives no
open-interest value in quote (``value`` stays None: it is not computed here) and no
funding interval on this channel. The same topic serves
:class:`~tradeflood.models.Ticker` (:mod:`.live`); each model reads it through its
own feed over one subscription. Every push is one value of each: unchanged values
are not de-duplicated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeflood import Query
from tradeflood.connectors.bitget import Bitget
from tradeflood.models import FundingRate, Instrument, OpenInterest
from tradeflood.parsing import Reader
from tradeflood.perpetuals import FundingQueries, OpenInterestQueries, open_interest
from tradeflood.streams import Frame, StreamBinding, Topic

from .live import _topic
from .parse import EXCHANGE

__all__ = ["BitgetFundingRateStream", "BitgetOpenInterestStream", "parse_ticker_funding",
           "parse_ticker_open_interest"]


def _records(payload: Any, endpoint: str) -> list[tuple[Reader, dict[str, Any]]]:
    read = Reader(EXCHANGE, endpoint, payload)
    return [(read.at(rec, f"ticker {i}"), rec) for i, rec in enumerate(read.records(payload, "tickers"))]


def parse_ticker_funding(payload: Any, *, symbol: str, endpoint: str = "ws ticker") -> list[FundingRate]:
    """The coming funding from each record of a USDT-FUTURES ``ticker`` push."""
    return [r.model(FundingRate, exchange=EXCHANGE, symbol=symbol, native_symbol=r.text(rec, "instId"),
                    funding_time=r.ms(r.field(rec, "nextFundingTime"), "nextFundingTime"),
                    rate=r.decimal(r.field(rec, "fundingRate"), "fundingRate", negative=True),
                    timestamp=r.ms(r.field(rec, "ts"), "ts"),
                    mark_price=r.optional_decimal(rec.get("markPrice"), "markPrice"),
                    index_price=r.optional_decimal(rec.get("indexPrice"), "indexPrice"))
            for r, rec in _records(payload, endpoint)]


def parse_ticker_open_interest(payload: Any, *, symbol: str,
                               endpoint: str = "ws ticker") -> list[OpenInterest]:
    """The open interest (``holdingAmount``, base coin) from each record of a ``ticker`` push."""
    return [open_interest(r, rec, symbol=symbol, native_symbol=r.text(rec, "instId"),
                          timestamp=r.ms(r.field(rec, "ts"), "ts"), size="holdingAmount")
            for r, rec in _records(payload, endpoint)]


class _FuturesTickerStream(StreamBinding):
    expected_every = 10.0

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return _topic(instrument, "ticker", self.expected_every)


class BitgetFundingRateStream(FundingQueries, _FuturesTickerStream, model=FundingRate, connector=Bitget):
    """The coming funding rate of a USDT-M perpetual, with its mark and index prices, live."""

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[FundingRate]:
        return parse_ticker_funding(frame.payload, symbol=query.symbol or "", endpoint=f"ws {topic.name}")


class BitgetOpenInterestStream(OpenInterestQueries, _FuturesTickerStream, model=OpenInterest,
                               connector=Bitget):
    """The open interest of a USDT-M perpetual in the base coin, live."""

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[OpenInterest]:
        return parse_ticker_open_interest(frame.payload, symbol=query.symbol or "",
                                          endpoint=f"ws {topic.name}")
