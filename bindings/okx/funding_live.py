"""OKX funding rates and open interest live, from the public ``funding-rate`` and
``open-interest`` channels.

Wire facts (OKX API v5 WebSocket, www.okx.com/docs-v5/en/#public-data-websocket-funding-rate-channel
and #public-data-websocket-open-interest-channel, public endpoint): a topic is ``{"channel", "instId"}``
with the swap's id (``BTC-USDT-SWAP``); pushes are ``{"arg", "data": [...]}``.

- ``funding-rate``: about every 30 to 90 s, records like REST's
  ``public/funding-rate``: ``fundingRate`` (the coming funding's rate),
  ``fundingTime`` (when it applies), ``nextFundingRate`` (the predicted one after
  it; OKX marks it "no longer supported", so mostly ""), ``nextFundingTime`` (so the interval), ``ts``;
- ``open-interest``: "every 3 seconds when there are updates", ``oi`` (contracts),
  ``oiCcy`` (base coin), ``oiUsd`` ("Open interest in number of USD", the value) and
  ``ts``, as on REST's ``public/open-interest``.

Each record of a push is one value; unchanged values are not de-duplicated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tradeflood import Query
from tradeflood.connectors.okx import Okx, topic_name
from tradeflood.models import FundingRate, Instrument, OpenInterest
from tradeflood.parsing import Reader
from tradeflood.perpetuals import FundingQueries, OpenInterestQueries
from tradeflood.streams import Frame, StreamBinding, Topic

from .funding import parse_current_funding, parse_open_interest
from .parse import EXCHANGE

__all__ = ["OkxFundingRateStream", "OkxOpenInterestStream"]


class _ChannelStream(StreamBinding):
    """A model read from a public ``{"channel", "instId"}`` topic whose records are REST's: each
    record of a push is read by ``read_record`` as REST's reply holding that one record."""

    channel = ""
    read_record: Callable[..., Any]

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        arg = {"channel": self.channel, "instId": instrument.native_symbol}
        return Topic(EXCHANGE, "ws", topic_name(arg), tuple(arg.items()), expected_every=self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Any]:
        read = Reader(EXCHANGE, f"ws {topic.name}", frame.payload)
        return [type(self).read_record([rec], symbol=query.symbol or "", endpoint=f"ws {topic.name}")
                for rec in read.records(frame.payload, f"{self.channel} records")]


class OkxFundingRateStream(FundingQueries, _ChannelStream, model=FundingRate, connector=Okx):
    """The coming (and, where OKX predicts it, the next) funding rate of a USDT swap, live."""

    expected_every = 180.0  # OKX pushes the channel every 30 to 90 seconds
    channel = "funding-rate"
    read_record = staticmethod(parse_current_funding)


class OkxOpenInterestStream(OpenInterestQueries, _ChannelStream, model=OpenInterest, connector=Okx):
    """The open interest of a USDT swap (``oiCcy``, base) and its value (``oiUsd``), live."""

    # Pushed only when the value changes ("every 3 seconds when there are updates"): a swap
    # whose open interest stands still is silent for as long as it does, and that is no fault.
    expected_every = None
    channel = "open-interest"
    read_record = staticmethod(parse_open_interest)
