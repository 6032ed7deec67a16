"""The simulated Bybit v5 public REST API: ``/v5/market/...`` with ``category=spot|linear``.

Limits are Bybit's documented ones: 600 requests per 5 seconds per IP over
every market endpoint; an IP that goes over is answered HTTP 403 ("access too
frequent") and banned for 10 minutes. ``kline`` serves up to 1000 bars (default
200) of any age, newest first, ``start`` and ``end`` inclusive, anchored at
``end``, or at ``start`` when no ``end`` is given (a guess: TradeFlood always
sends both and never asks a page for more bars than its limit, so it does not
depend on it); ``orderbook`` takes 1..200 (spot) or 1..500 (linear)
levels; ``recent-trade`` up to 60 (spot) or 1000 (linear); linear instruments
come in cursor pages (``limit`` up to 1000).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradeflood.clock import Clock
from tradeflood.testing import _bybit_payloads as wire
from tradeflood.testing._faults import Faults
from tradeflood.testing._funding_routes import install_bybit
from tradeflood.testing._grid import DAY, HOUR, MINUTE, WEEK, Grid
from tradeflood.testing._limits import RollingLimit
from tradeflood.testing._market import Bar, Instrument, Market
from tradeflood.testing._paging import page
from tradeflood.testing._venue import Call, Rejection, SimResponse, Venue, encode

__all__ = ["BAN_BODY", "BybitVenue"]

_JSON = {"content-type": "application/json"}
#: What the simulator answers a banned IP with (Bybit's edge answers a plain-text 403).
BAN_BODY = b"403 Forbidden: access too frequent"
INTERVALS: dict[str, Grid] = {
    **{str(n): Grid.fixed(n * MINUTE) for n in (1, 3, 5, 15, 30)},
    **{str(n * 60): Grid.fixed(n * HOUR) for n in (1, 2, 4, 6, 12)},
    "D": Grid.fixed(DAY), "W": Grid.fixed(WEEK, weekly=True), "M": Grid.monthly(),
}
CATEGORIES = {"spot": "spot", "linear": "perp"}

Route = Callable[[Call], Any]


class BybitVenue(Venue):
    """Bybit's public market-data REST API, spot and USDT linear perpetuals, in plain Python.

    ``instruments_page`` is how many linear instruments a page holds at most (so tests can see
    the cursor paging with the three simulated perpetuals).
    """

    name = "bybit"

    def __init__(self, *, market: Market | None = None, clock: Clock | None = None,
                 faults: Faults | None = None, requests_per_5s: int = 600,
                 ban_seconds: float = 600.0) -> None:
        super().__init__(market=market, clock=clock, faults=faults)
        self.limit = RollingLimit(per_window=requests_per_5s, window_s=5.0)
        self.ban_seconds = ban_seconds
        self.instruments_page = 1000
        self.bans_started = 0
        self._bans: dict[str, float] = {}
        self.routes: dict[str, Route] = {
            "/v5/market/instruments-info": self._instruments,
            "/v5/market/kline": self._kline,
            "/v5/market/orderbook": self._orderbook,
            "/v5/market/recent-trade": self._trades,
            "/v5/market/tickers": self._tickers,
        }
        install_bybit(self)  # funding rates and open interest
        # Mark/index klines.
        # import cycle: the issue-16 routes live in their own module, which reads this one's tables
        from tradeflood.testing._marks_bybit import install as install_marks

        install_marks(self)

    # -- the request path -------------------------------------------------
    def serve(self, method: str, call: Call) -> SimResponse:
        now = call.now_ms / 1000
        if self._bans.get(call.ip, 0.0) > now:
            return self.throttled(call)
        if not self.limit.admit(call.ip, "*", now):
            self.ban(call.ip)
            return self.throttled(call)
        route = self.routes.get(call.path) if method == "GET" else None
        if route is None:
            return SimResponse(404, {"content-type": "text/plain"}, b"404 page not found")
        try:
            result = route(call)
        except Rejection as err:
            return SimResponse(err.status, _JSON, encode(err.payload))
        body = {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": call.now_ms}
        return SimResponse(200, _JSON, encode(body))

    def throttled(self, call: Call) -> SimResponse:
        """Bybit's answer to an IP over its limit (or banned): HTTP 403, not 429."""
        return SimResponse(403, {"content-type": "text/plain"}, BAN_BODY)

    def ban(self, ip: str, seconds: float | None = None) -> None:
        """Refuse ``ip`` with 403 for ``seconds`` (Bybit's 10 minutes by default)."""
        self.bans_started += 1
        self._bans[ip] = self.clock.time() + (self.ban_seconds if seconds is None else seconds)

    # -- parameters ------------------------------------------------------
    def _reject(self, call: Call, msg: str) -> Rejection:
        return Rejection(200, {"retCode": 10001, "retMsg": msg, "result": {}, "retExtInfo": {},
                               "time": call.now_ms})

    def _int(self, call: Call, name: str, default: int | None = None) -> int | None:
        value = call.get(name)
        if value is None:
            return default
        if not value.isdigit():
            raise self._reject(call, f"params error: {name} invalid")
        return int(value)

    def _category(self, call: Call) -> str:
        kind = CATEGORIES.get(call.get("category") or "")
        if kind is None:
            raise self._reject(call, "params error: category invalid")
        return kind

    def _inst(self, call: Call) -> tuple[str, Instrument]:
        kind = self._category(call)
        inst = self.market.find(call.get("symbol") or "", kind)
        if inst is None:
            raise self._reject(call, "params error: symbol invalid")
        return kind, inst

    def _limit(self, call: Call, default: int, most: int) -> int:
        value = self._int(call, "limit", default) or default
        if not 1 <= value <= most:
            raise self._reject(call, "params error: limit invalid")
        return value

    # -- routes ----------------------------------------------------------
    def _instruments(self, call: Call) -> dict[str, Any]:
        kind = self._category(call)
        insts = self.market.of_kind(kind)
        if kind == "spot":
            return {"category": "spot", "list": [wire.instrument(i) for i in insts]}
        size = min(self._limit(call, 500, 1000), self.instruments_page)
        start = int(call.get("cursor") or 0)
        chosen = insts[start:start + size]
        more = start + size < len(insts)
        return {"category": "linear", "list": [wire.instrument(i) for i in chosen],
                "nextPageCursor": str(start + size) if more else ""}

    def _kline_page(self, call: Call) -> tuple[Instrument, Grid, list[Bar]]:
        """The instrument, interval and bars a kline request asks for (trade, mark or index)."""
        _, inst = self._inst(call)
        grid = INTERVALS.get(call.get("interval") or "")
        if grid is None:
            raise self._reject(call, "params error: interval invalid")
        limit = self._limit(call, 200, 1000)
        first = self._int(call, "start", 0) or 0
        end = self._int(call, "end")
        upto = min(end + 1, call.now_ms + 1) if end is not None else call.now_ms + 1
        # Anchored at ``end`` when one is given, else at ``start`` (a guess; see the module docstring).
        from_end = end is not None or call.get("start") is None
        bars = page(self, call, inst, grid, first_ms=first, end_ms=upto, limit=limit, from_end=from_end)
        return inst, grid, bars

    def _kline(self, call: Call) -> dict[str, Any]:
        inst, _, bars = self._kline_page(call)
        return {"symbol": inst.native, "category": call.get("category"),
                "list": [wire.kline_row(b) for b in reversed(bars)]}

    def _orderbook(self, call: Call) -> dict[str, Any]:
        kind, inst = self._inst(call)
        depth = self._limit(call, 1 if kind == "spot" else 25, 200 if kind == "spot" else 500)
        bids, asks = self.market.book(inst, call.now_ms, depth)
        tick = self.market.book_tick(call.now_ms)
        return {"s": inst.native, "b": wire.levels(bids), "a": wire.levels(asks),
                "ts": tick * self.market.book_tick_ms, "u": tick, "seq": tick, "cts": call.now_ms}

    def _trades(self, call: Call) -> dict[str, Any]:
        kind, inst = self._inst(call)
        limit = self._limit(call, 60 if kind == "spot" else 500, 60 if kind == "spot" else 1000)
        ticks = self.market.recent_trades(inst, call.now_ms, limit)
        ticks = call.short_paged(ticks)
        return {"category": call.get("category"), "list": [wire.trade(inst, t) for t in reversed(ticks)]}

    def _tickers(self, call: Call) -> dict[str, Any]:
        kind = self._category(call)
        insts = [self._inst(call)[1]] if call.get("symbol") else self.market.of_kind(kind)
        rows = [wire.ticker(self.market, i, call.now_ms) for i in insts]
        return {"category": call.get("category"), "list": rows}
