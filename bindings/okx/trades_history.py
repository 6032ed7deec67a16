"""OKX trade histories over a time range: ``market/history-trades``, spot and USDT swaps.

Wire facts (OKX API v5 "GET / Trades history",
www.okx.com/docs-v5/en/#order-book-trading-market-data-get-trades-history):
``history-trades`` serves "the last 3 months", ``limit`` "The maximum and default
both are 100", newest first, 20 requests/2 s; ``type`` "1: tradeId 2: timestamp"
(1 the default); ``after`` returns "records earlier than the requested tradeId or
ts", while ``before`` takes a tradeId only ("Do not support timestamp for
pagination"). So a window is asked by time with ``type=2`` and ``after`` = its end
alone (no ``before``: the window's lower edge is where paging stops, and trades
before it are dropped on assembly); a full page goes on by the oldest trade's id
(``type=1``), so trades sharing a millisecond across a page edge are neither lost
nor repeated, and so does a short page that looks cut short mid-window
(:func:`~tradeflood.trades.cut_short`; an empty answer ends the window).
Swap sizes come in contracts and are turned into base amounts with the instrument's
``ctVal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeflood import ParseContext, Part, Query, TradeHistoryBinding, Turn, cut_short
from tradeflood.connectors.okx import Okx
from tradeflood.models import Trade

from .parse import parse_trades
from .rest import OkxTrades, _contract_size, resolve

__all__ = ["HISTORY_TRADES_LOOKBACK_DAYS", "HISTORY_TRADES_PAGE", "OkxTradeHistory"]

HISTORY_TRADES_PAGE = 100
HISTORY_TRADES_LOOKBACK_DAYS = 90
DAY_MS = 86_400_000


def _ts(row: Any) -> int:
    value = row.get("ts") if isinstance(row, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def _next_page(start_ms: int) -> Any:
    def following(turn: Turn, page: Any) -> Turn | None:
        if not isinstance(page, list) or not page or not isinstance(page[-1], dict):
            return None
        if len(page) < HISTORY_TRADES_PAGE and not cut_short([_ts(r) for r in page], start_ms):
            return None  # the window's last page (a short page cut mid-window is asked past)
        oldest = page[-1]
        ts, ident = oldest.get("ts"), oldest.get("tradeId")
        if not (isinstance(ts, str) and ts.isdigit() and isinstance(ident, str)) or int(ts) < start_ms:
            return None
        return turn.with_params(type=1, after=ident, before=None)
    return following


class OkxTradeHistory(TradeHistoryBinding, OkxTrades, model=Trade, connector=Okx):
    """Recent trades without a range; with ``start``/``end``, every trade of the range from
    ``history-trades`` (the last 3 months), amounts in base."""

    window_ms = 3_600_000
    lookback_ms = HISTORY_TRADES_LOOKBACK_DAYS * DAY_MS

    def extra_turns(self, query: Query) -> list[Turn]:
        kind, listing, _ = resolve(self.api, query.symbol, "trade histories")
        return [listing] if kind == "SWAP" else []

    def window(self, query: Query, start: int, end: int) -> Turn:
        _, _, native = resolve(self.api, query.symbol, "trade histories")
        # ``before`` takes no timestamp (OKX docs), so the window's start is not sent.
        first: Turn = self.api.history_trades(native, after=end, limit=HISTORY_TRADES_PAGE)
        return first.paginate(_next_page(start), max_pages=100_000)

    def page_trades(self, query: Query, turn: Turn, page: Any, ctx: ParseContext) -> list[Any]:
        assert query.symbol is not None
        return parse_trades(page, symbol=query.symbol, native_symbol=ctx.params["instId"], endpoint=turn.path)

    def finish(self, query: Query, parts: Sequence[Part], trades: list[Any]) -> list[Any]:
        size = _contract_size(query, parts)
        if size == 1:
            return trades
        return [t.model_copy(update={"amount": t.amount * size}) for t in trades]
