"""Bitget trade histories over a time range: ``fills-history``, spot and USDT-M perpetuals.

Wire facts (Bitget v2 "Market"): ``/api/v2/spot/market/fills-history`` and
``/api/v2/mix/market/fills-history`` serve the trades of the last 90 days,
``limit`` up to 1000, newest first, between ``startTime`` and ``endTime`` (a
span of at most 7 days), paging on with ``idLessThan`` (trades with a smaller
id). Trade ids are not consecutive, so only the part of a range older than the
look-back is reported as a gap. A short page that looks cut short mid-window is
followed by one more ``idLessThan`` page (an empty answer ends the window).
"""

from __future__ import annotations

from typing import Any

from tradeflood import ParseContext, Query, TradeHistoryBinding, Turn, cut_short
from tradeflood.connectors.bitget import Bitget
from tradeflood.models import Trade

from .parse import parse_trades
from .rest import DAY_MS, BitgetTrades, _resolve

__all__ = ["HISTORY_LOOKBACK_DAYS", "HISTORY_TRADES_PAGE", "BitgetTradeHistory"]

HISTORY_TRADES_PAGE = 1000
HISTORY_LOOKBACK_DAYS = 90


def _ts(row: Any) -> int:
    value = row.get("ts") if isinstance(row, dict) else None
    return int(value) if isinstance(value, str | int) and str(value).isdigit() else 0


def _older(turn: Turn, page: Any) -> Turn | None:
    """The next page of a window: trades older than the oldest of a full page, while any
    of it is still inside the window; after a short page only when it looks cut short
    mid-window (:func:`~tradeflood.trades.cut_short`)."""
    if not isinstance(page, list) or not page:
        return None
    start_param = turn.param("startTime")
    start = int(start_param) if isinstance(start_param, str | int) else 0
    if len(page) < HISTORY_TRADES_PAGE and not cut_short([_ts(r) for r in page], start):
        return None
    oldest = min(page, key=_ts)
    if not isinstance(oldest, dict) or _ts(oldest) < start:
        return None
    return turn.with_params(idLessThan=str(oldest.get("tradeId")))


class BitgetTradeHistory(TradeHistoryBinding, BitgetTrades, model=Trade, connector=Bitget):
    """Recent trades without a range; with ``start``/``end``, every trade of the range from
    ``fills-history`` (the last 90 days)."""

    window_ms = 7 * DAY_MS
    lookback_ms = HISTORY_LOOKBACK_DAYS * DAY_MS

    def window(self, query: Query, start: int, end: int) -> Turn:
        kind, native = _resolve(self.api, query.symbol, "trade histories")
        fills = self.api.spot_fills_history if kind == "spot" else self.api.mix_fills_history
        first: Turn = fills(native, start, end - 1, None, HISTORY_TRADES_PAGE)
        return first.paginate(_older, max_pages=100_000)

    def page_trades(self, query: Query, turn: Turn, page: Any, ctx: ParseContext) -> list[Any]:
        assert query.symbol is not None
        return parse_trades(page, symbol=query.symbol, native_symbol=ctx.params["symbol"],
                            endpoint=turn.path)
