"""Bitget mark-price and index-price candles of USDT-M perpetuals.

Wire facts (Bitget v2 "Market", mix): the recent ``candles`` endpoint serves mark
and index bars with ``kLineType=MARK|INDEX`` (1000 rows a page, the look-back
window of trade candles); ``history-mark-candles`` and ``history-index-candles``
serve any age (200 rows a page, a span of at most 90 days). Rows are
``[ts, open, high, low, close, ...]`` oldest first. Spot pairs have no mark or
index price: they are refused before any request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tradeflood import PageSource, ParseContext, PriceCandleBinding, Query, Turn
from tradeflood.connectors.bitget import Bitget
from tradeflood.intervals import INTERVALS, interval_end, interval_ms, validate_interval
from tradeflood.models import IndexCandle, MarkCandle
from tradeflood.parsing import Reader, parse_price_candles

from .parse import EXCHANGE
from .rest import (
    DAY_MS,
    HISTORY_PAGE,
    MIX_GRANULARITY,
    MIX_MAX_SPAN_MS,
    RECENT_LOOKBACK_DAYS,
    RECENT_PAGE,
    _resolve,
    market_kind,
)

__all__ = ["BitgetIndexCandles", "BitgetMarkCandles"]


class _BitgetPriceCandles(PriceCandleBinding):
    api: Bitget
    intervals = MIX_GRANULARITY
    #: ``kLineType`` of the recent endpoint, and the connector method of the history one.
    kline_type: ClassVar[str] = ""
    history: ClassVar[str] = ""

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        market_kind(query.symbol, f"{cls.model.__name__} histories")
        validate_interval(query.interval, tuple(i for i in INTERVALS if i in MIX_GRANULARITY),
                          "bitget USDT-M perpetuals")

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        assert query.interval is not None
        interval = query.interval
        _, native = _resolve(self.api, query.symbol, f"{self.model.__name__} histories")
        gran, api, kind = MIX_GRANULARITY[interval], self.api, self.kline_type
        history = getattr(api, self.history)
        extra = 1 if interval == "1M" else 0

        def recent_lookback(iv: str) -> int | None:
            days = RECENT_LOOKBACK_DAYS.get(iv)
            return None if days is None else days * DAY_MS

        span_cap = max(1, MIX_MAX_SPAN_MS // interval_ms(interval))
        return [
            PageSource("candles", min(RECENT_PAGE, span_cap), lambda s, e, n: api.mix_price_candles(
                native, gran, kind, s, e - 1, min(RECENT_PAGE, n + extra)), recent_lookback),
            PageSource(self.history, min(HISTORY_PAGE, span_cap), lambda s, e, n: history(
                native, gran, s, e - 1, min(HISTORY_PAGE, n + extra))),
        ]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Any]:
        assert query.symbol is not None and query.interval is not None
        interval, received = query.interval, ctx.received_ms

        def closed(row: list[Any], open_ms: int) -> bool:
            return interval_end(open_ms, interval) <= received

        return parse_price_candles(Reader(EXCHANGE, turn.path, payload), payload, self.model,
                                   symbol=query.symbol, native_symbol=ctx.params["symbol"],
                                   interval=interval, closed=closed)


class BitgetMarkCandles(_BitgetPriceCandles, model=MarkCandle, connector=Bitget):
    """Mark-price bars of a USDT-M perpetual."""

    kline_type = "MARK"
    history = "mix_history_mark_candles"


class BitgetIndexCandles(_BitgetPriceCandles, model=IndexCandle, connector=Bitget):
    """Index-price bars of a USDT-M perpetual."""

    kline_type = "INDEX"
    history = "mix_history_index_candles"
