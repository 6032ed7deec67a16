"""Binance trade histories over a time range: aggregate trades by time, spot and USDⓈ-M.

Wire facts (Binance "Market Data"): ``/api/v3/aggTrades`` and ``/fapi/v1/aggTrades``
take ``startTime``/``endTime`` less than an hour apart, or ``fromId`` (inclusive),
limit up to 1000, oldest first. A window of an hour is asked by time; a full page
goes on from the next id, so trades sharing a millisecond across a page edge are
neither lost nor repeated. Aggregate trade ids (``a``) count up one by one, so a
jump in them is reported as a gap (observed, not promised by the docs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradeflood import ParseContext, Query, TradeHistoryBinding, Turn
from tradeflood.connectors.binance import Binance
from tradeflood.models import Trade
from tradeflood.parsing import Reader

from .parse import VENUE, decimal
from .rest import BinanceTrades, market, native_symbol

__all__ = ["AGG_PAGE", "BinanceTradeHistory", "parse_agg_trades"]

AGG_PAGE = 1000
HOUR_MS = 3_600_000


def _next_page(end_ms: int) -> Any:
    def following(turn: Turn, page: Any) -> Turn | None:
        if not isinstance(page, list) or len(page) < AGG_PAGE or not isinstance(page[-1], dict):
            return None
        last = page[-1]
        if not isinstance(last.get("T"), int) or last["T"] >= end_ms or not isinstance(last.get("a"), int):
            return None
        return turn.with_params(startTime=None, endTime=None, fromId=last["a"] + 1)
    return following


def parse_agg_trades(payload: Any, *, symbol: str, native_symbol: str,
                     endpoint: str = "/api/v3/aggTrades") -> list[Trade]:
    """Trades from an aggTrades array (``a`` id, ``p`` price, ``q`` quantity, ``T`` time,
    ``m`` buyer is maker: the taker sold)."""
    read = Reader(VENUE, endpoint, payload)
    out = []
    for i, row in enumerate(read.records(payload, "aggregate trades")):
        r = read.at(row, f"trade {i}")
        ident = r.field(row, "a")  # an integer (recordings elsewhere hold it as digits)
        if not ((type(ident) is int and ident >= 0) or (type(ident) is str and ident.isdigit())):
            raise r.fail(f"a {ident!r} is not an aggregate trade id")
        # Signs are left to the value checks (tradeflood.checks), as for the recent trades.
        out.append(r.model(Trade, exchange=VENUE, symbol=symbol, native_symbol=native_symbol, id=str(ident),
                           timestamp=r.ms(r.field(row, "T"), "T"),
                           price=decimal(r, r.field(row, "p"), "p"),
                           amount=decimal(r, r.field(row, "q"), "q"),
                           side="sell" if r.flag(r.field(row, "m"), "m") else "buy"))
    return out


class BinanceTradeHistory(TradeHistoryBinding, BinanceTrades, model=Trade, connector=Binance):
    """Recent trades without a range; with ``start``/``end``, every aggregate trade of the
    range, an hour a window (a trade here is an aggregate: fills of one taker order at one
    price, as Binance's own history gives them)."""

    window_ms = HOUR_MS
    consecutive_ids = True

    def window(self, query: Query, start: int, end: int) -> Turn:
        agg = self.api.spot_agg_trades if market(query) == "spot" else self.api.futures_agg_trades
        first: Turn = agg(native_symbol(self.api, query), start, end - 1, None, AGG_PAGE)
        return first.paginate(_next_page(end), max_pages=100_000)

    def page_trades(self, query: Query, turn: Turn, page: Any, ctx: ParseContext) -> list[Any]:
        assert query.symbol is not None
        return parse_agg_trades(page, symbol=query.symbol, native_symbol=str(ctx.params["symbol"]),
                                endpoint=turn.path)

    def wire_names(self, turn: Turn) -> Mapping[str, str]:
        return {"price": "p", "amount": "q"} if turn.window is not None else super().wire_names(turn)
