"""OKX mark-price and index-price candles: recent endpoints for the latest 1,440 bars, history beyond.

Wire facts (OKX API v5 docs, "Market Data"): ``market/mark-price-candles`` and
``market/index-candles`` serve the latest 1,440 bars (20 requests/2 s),
``history-mark-price-candles`` and ``history-index-candles`` any age (10/2 s);
all four take ``limit`` up to 100, page with ``after``/``before`` as the trade
candles do, and answer rows ``[ts, o, h, l, c, confirm]`` newest first. Index
candles are asked by the index id (``BTC-USDT`` for the ``BTC-USDT-SWAP`` swap).
Mark and index prices exist for the swaps only: spot pairs are refused before
any request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tradeflood import PageSource, ParseContext, PriceCandleBinding, Query, Turn
from tradeflood.connectors.okx import Okx
from tradeflood.intervals import interval_ms
from tradeflood.models import IndexCandle, MarkCandle
from tradeflood.parsing import Reader, parse_price_candles

from .parse import EXCHANGE
from .rest import BARS, RECENT_BARS, inst_type, resolve

__all__ = ["MARK_PAGE", "OkxIndexCandles", "OkxMarkCandles", "index_id"]

#: Rows a page of any of the four mark/index candle endpoints holds.
MARK_PAGE = 100


def index_id(inst_id: str) -> str:
    """The index a swap tracks: ``BTC-USDT-SWAP`` -> ``BTC-USDT``."""
    return inst_id.removesuffix("-SWAP")


def _confirmed(row: list[Any], open_ms: int) -> bool:
    return len(row) > 5 and row[5] == "1"


class _OkxPriceCandles(PriceCandleBinding):
    api: Okx
    intervals = BARS
    #: (recent endpoint, history endpoint) method names on the connector.
    endpoints: ClassVar[tuple[str, str]] = ("", "")

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        inst_type(query.symbol, f"{cls.model.__name__} histories")

    def instrument(self, native: Any) -> Any:
        """What the endpoints' ``instId`` is for this price: the swap itself by default."""
        return native

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        assert query.interval is not None
        _, _, native = resolve(self.api, query.symbol, f"{self.model.__name__} histories")
        inst, bar = self.instrument(native), BARS[query.interval]
        recent, history = (getattr(self.api, name) for name in self.endpoints)
        extra = 1 if query.interval == "1M" else 0  # a calendar-month page may hold one more bar

        def lookback(iv: str) -> int:
            return RECENT_BARS * interval_ms(iv)

        return [
            PageSource(self.endpoints[0], MARK_PAGE, lambda s, e, n: recent(
                inst, bar, after=e, before=s - 1, limit=min(MARK_PAGE, n + extra)), lookback),
            PageSource(self.endpoints[1], MARK_PAGE, lambda s, e, n: history(
                inst, bar, after=e, before=s - 1, limit=min(MARK_PAGE, n + extra))),
        ]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Any]:
        assert query.symbol is not None and query.interval is not None
        return parse_price_candles(Reader(EXCHANGE, turn.path, payload), payload, self.model,
                                   symbol=query.symbol, native_symbol=ctx.params["instId"],
                                   interval=query.interval, closed=_confirmed)


class OkxMarkCandles(_OkxPriceCandles, model=MarkCandle, connector=Okx):
    """Mark-price bars of a USDT swap."""

    endpoints = ("mark_price_candles", "history_mark_price_candles")


class OkxIndexCandles(_OkxPriceCandles, model=IndexCandle, connector=Okx):
    """Index-price bars of the index a USDT swap tracks."""

    endpoints = ("index_candles", "history_index_candles")

    def instrument(self, native: Any) -> Any:
        return native.derive(index_id)
