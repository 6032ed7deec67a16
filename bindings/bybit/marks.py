"""Bybit mark-price and index-price klines of USDT linear perpetuals.

Wire facts (Bybit v5 "Market"): ``/v5/market/mark-price-kline`` and
``/v5/market/index-price-kline`` take the kline's parameters (``category``
linear or inverse, ``start``/``end`` inclusive, ``limit`` up to 1000) and answer
``{"list": [[start, open, high, low, close], ...]}`` newest first, of any age.
Spot pairs have no mark or index price: they are refused before any request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tradeflood import PageSource, ParseContext, PriceCandleBinding, Query, Turn
from tradeflood.connectors.bybit import Bybit
from tradeflood.intervals import interval_end
from tradeflood.models import IndexCandle, MarkCandle
from tradeflood.parsing import Reader, parse_price_candles

from .parse import EXCHANGE
from .rest import INTERVALS, PAGE, category, resolve

__all__ = ["BybitIndexCandles", "BybitMarkCandles"]


class _BybitPriceCandles(PriceCandleBinding):
    api: Bybit
    intervals = INTERVALS
    endpoint: ClassVar[str] = ""

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        category(query.symbol, f"{cls.model.__name__} histories")

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        assert query.interval is not None
        cat, native = resolve(self.api, query.symbol, f"{self.model.__name__} histories")
        interval, kline = INTERVALS[query.interval], getattr(self.api, self.endpoint)
        extra = 1 if query.interval == "1M" else 0
        return [PageSource(self.endpoint, PAGE, lambda s, e, n: kline(
            cat, native, interval, start=s, end=e - 1, limit=min(PAGE, n + extra)))]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Any]:
        assert query.symbol is not None and query.interval is not None
        interval, received = query.interval, ctx.received_ms
        read = Reader(EXCHANGE, turn.path, payload)
        rows = read.record(payload, "a kline result").get("list")

        def closed(row: list[Any], open_ms: int) -> bool:
            return interval_end(open_ms, interval) <= received

        return parse_price_candles(read, rows, self.model, symbol=query.symbol,
                                   native_symbol=ctx.params["symbol"], interval=interval, closed=closed)


class BybitMarkCandles(_BybitPriceCandles, model=MarkCandle, connector=Bybit):
    """Mark-price bars of a USDT linear perpetual."""

    endpoint = "mark_price_kline"


class BybitIndexCandles(_BybitPriceCandles, model=IndexCandle, connector=Bybit):
    """Index-price bars of a USDT linear perpetual."""

    endpoint = "index_price_kline"
