"""Binance mark-price and index-price klines of USDⓈ-M perpetuals.

Wire facts (Binance USDⓈ-M "Market Data"): ``/fapi/v1/markPriceKlines`` (by
``symbol``) and ``/fapi/v1/indexPriceKlines`` (by ``pair``) page like klines
(``startTime``/``endTime``, oldest first, limit up to 1500; a 1000-row page
weighs 5, a 1500-row one 10, so 1000 is the cheaper page per bar). Rows are
klines' 12 fields with the volumes "0": ``[openTime, o, h, l, c, "0", closeTime, ...]``.
Spot has no mark or index price: spot pairs are refused before any request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tradeflood import PageSource, ParseContext, PriceCandleBinding, Query, Turn
from tradeflood.connectors.binance import Binance
from tradeflood.models import IndexCandle, MarkCandle
from tradeflood.parsing import Reader, parse_price_candles

from .parse import VENUE
from .rest import PAGE_SIZE, BinanceCandles, market, native_symbol

__all__ = ["BinanceIndexCandles", "BinanceMarkCandles"]


class _BinancePriceCandles(PriceCandleBinding):
    api: Binance
    intervals = BinanceCandles.intervals
    #: The connector method serving the bars, and the name of its instrument parameter.
    endpoint: ClassVar[str] = ""
    param: ClassVar[str] = "symbol"

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        market(query)

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        assert query.interval is not None
        native, interval = native_symbol(self.api, query), self.intervals[query.interval]
        klines = getattr(self.api, self.endpoint)

        def declare(start_ms: int, end_ms: int, limit: int) -> Turn:
            page: Turn = klines(native, interval, start_ms, end_ms - 1, limit)
            return page

        return [PageSource(self.endpoint, PAGE_SIZE, declare)]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Any]:
        assert query.symbol is not None and query.interval is not None
        received = ctx.received_ms

        def closed(row: list[Any], open_ms: int) -> bool:
            return len(row) > 6 and type(row[6]) is int and row[6] < received

        return parse_price_candles(Reader(VENUE, turn.path, payload), payload, self.model,
                                   symbol=query.symbol, native_symbol=str(ctx.params[self.param]),
                                   interval=query.interval, closed=closed)


class BinanceMarkCandles(_BinancePriceCandles, model=MarkCandle, connector=Binance):
    """Mark-price bars of a USDⓈ-M perpetual."""

    endpoint = "mark_price_klines"


class BinanceIndexCandles(_BinancePriceCandles, model=IndexCandle, connector=Binance):
    """Index-price bars of the pair a USDⓈ-M perpetual tracks."""

    endpoint = "index_price_klines"
    param = "pair"
