"""OKX mark-price and index-price candle streams (business endpoint).

Wire facts (OKX API v5 WebSocket, Public Channel "Mark price candlesticks" and
"Index candlesticks"): channels ``mark-price-candle<bar>`` (``instId`` the swap)
and ``index-candle<bar>`` (``instId`` the index, ``BTC-USDT``) on
``/ws/v5/business``; pushes ``{"arg", "data": [[ts, o, h, l, c, confirm]]}``.
The final push of a bar says so (``confirm`` "1"), so bars close on that flag
and, like trade candles, each closed bar is handed out once and in order, a bar
the stream skipped fetched over REST (or reported as a ``CandleGap``); consumers
that ask for ``partial`` also get the forming bar's updates (``closed`` False).
The other venues publish no mark or index candle stream: poll them (``poll=``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tradeflood import Query
from tradeflood.connectors.okx import Okx, topic_name
from tradeflood.errors import QueryError
from tradeflood.intervals import INTERVALS, validate_interval
from tradeflood.models import IndexCandle, Instrument, MarkCandle
from tradeflood.parsing import Reader, parse_price_candles
from tradeflood.streams import Frame, StreamBinding, Topic

from .marks import index_id
from .parse import EXCHANGE
from .rest import BARS

__all__ = ["OkxIndexCandleStream", "OkxMarkCandleStream"]


def _confirmed(row: list[Any], open_ms: int) -> bool:
    return len(row) > 5 and row[5] == "1"


class _OkxPriceCandleStream(StreamBinding):
    expected_every = 5.0
    closes_explicitly = True
    #: The channel's name before the bar (``mark-price-candle``).
    channel: ClassVar[str] = ""

    @classmethod
    def check(cls, query: Query) -> None:
        if query.symbol is None or not query.symbol.endswith(":USDT"):
            raise QueryError(f"okx {cls.model.__name__} streams serve USDT swaps (BASE/USDT:USDT), "
                             f"not {query.symbol!r}")
        validate_interval(query.interval, tuple(i for i in INTERVALS if i in BARS),
                          f"okx {cls.model.__name__} streams")

    def inst_id(self, instrument: Instrument) -> str:
        return str(instrument.native_symbol)

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        assert query.interval is not None
        arg = {"channel": f"{self.channel}{BARS[query.interval]}", "instId": self.inst_id(instrument)}
        return Topic(EXCHANGE, "ws.business", topic_name(arg), tuple(arg.items()),
                     expected_every=self.expected_every)

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Any]:
        assert query.symbol is not None and query.interval is not None
        return parse_price_candles(Reader(EXCHANGE, f"ws {topic.name}", frame.payload), frame.payload,
                                   self.model, symbol=query.symbol, native_symbol=topic.arg("instId"),
                                   interval=query.interval, closed=_confirmed)


class OkxMarkCandleStream(_OkxPriceCandleStream, model=MarkCandle, connector=Okx):
    """Live mark-price bars of a USDT swap."""

    channel = "mark-price-candle"


class OkxIndexCandleStream(_OkxPriceCandleStream, model=IndexCandle, connector=Okx):
    """Live index-price bars of the index a USDT swap tracks."""

    channel = "index-candle"

    def inst_id(self, instrument: Instrument) -> str:
        return index_id(instrument.native_symbol)
