"""The simulated OKX v5 public REST API: one set of market endpoints for spot and swaps.

Limits and windows are OKX's documented ones, per IP over 2 seconds:
``market/candles`` 40, ``market/history-candles`` 20, ``market/books`` 40,
``market/trades`` 100, ``market/ticker`` 20, ``public/instruments`` 20; over
the limit, HTTP 429 with ``{"code":"50011","msg":"Too Many Requests","data":[]}``.
``market/candles`` serves only the latest 1,440 bars (older ranges get an empty
page); both candle endpoints take ``limit`` up to 300 (default 100) and answer
newest first, anchored at ``after`` (older than, exclusive) with ``before``
(newer than, exclusive) as the far edge. ``market/books`` takes ``sz`` 1..400
(default 1) and, as OKX announced with the end of the WebSocket's initial
snapshot, carries the book's ``seqId`` (documented, "Sequence ID of the current message"; the
replies recorded in 2024 lack it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradeflood.clock import Clock
from tradeflood.testing import _okx_payloads as wire
from tradeflood.testing._faults import Faults
from tradeflood.testing._funding_routes import install_okx
from tradeflood.testing._grid import DAY, HOUR, MINUTE, WEEK, Grid
from tradeflood.testing._limits import RollingLimit
from tradeflood.testing._market import Bar, Instrument, Market
from tradeflood.testing._paging import page
from tradeflood.testing._venue import Call, Rejection, SimResponse, Venue, encode

__all__ = ["LIMITS", "OkxVenue"]

_JSON = {"content-type": "application/json"}
_HKT = 8  # non-UTC bars of 6h and longer open at midnight Hong Kong time

BARS: dict[str, Grid] = {
    **{f"{n}m": Grid.fixed(n * MINUTE) for n in (1, 3, 5, 15, 30)},
    **{f"{n}H": Grid.fixed(n * HOUR) for n in (1, 2, 4)},
    **{f"{n}H": Grid.fixed(n * HOUR, tz_hours=_HKT) for n in (6, 12)},
    **{f"{n}Hutc": Grid.fixed(n * HOUR) for n in (6, 12)},
    "1D": Grid.fixed(DAY, tz_hours=_HKT), "1Dutc": Grid.fixed(DAY),
    "1W": Grid.fixed(WEEK, tz_hours=_HKT, weekly=True), "1Wutc": Grid.fixed(WEEK, weekly=True),
    "1M": Grid.monthly(tz_hours=_HKT), "1Mutc": Grid.monthly(),
}
RECENT_BARS = 1440
#: Requests per IP per 2 seconds, by path.
LIMITS = {
    "/api/v5/public/instruments": 20,
    "/api/v5/market/candles": 40,
    "/api/v5/market/history-candles": 20,
    "/api/v5/market/books": 40,
    "/api/v5/market/trades": 100,
    "/api/v5/market/ticker": 20,
    "/api/v5/market/tickers": 20,
}

Route = Callable[[Call], Any]


def recent_start(grid: Grid, now_ms: int) -> int:
    """The open time of the oldest of the latest 1,440 bars (the open one counted)."""
    if grid.length_ms:
        return grid.floor(now_ms) - (RECENT_BARS - 1) * grid.length_ms
    reach = grid.floor(now_ms)
    for _ in range(RECENT_BARS - 1):
        reach = grid.prev(reach)
    return reach


class OkxVenue(Venue):
    """OKX's public market-data REST API, spot and USDT swaps, in plain Python."""

    name = "okx"

    def __init__(self, *, market: Market | None = None, clock: Clock | None = None,
                 faults: Faults | None = None) -> None:
        super().__init__(market=market, clock=clock, faults=faults)
        self.limits = {path: RollingLimit(per_window=n, window_s=2.0) for path, n in LIMITS.items()}
        self._bans: dict[str, float] = {}
        self.routes: dict[str, Route] = {
            "/api/v5/public/instruments": self._instruments,
            "/api/v5/market/candles": lambda c: self._candles(c, history=False),
            "/api/v5/market/history-candles": lambda c: self._candles(c, history=True),
            "/api/v5/market/books": self._books,
            "/api/v5/market/trades": self._trades,
            "/api/v5/market/ticker": lambda c: [wire.ticker(self.market, self._inst(c), c.now_ms)],
            "/api/v5/market/tickers": self._tickers,
        }
        install_okx(self)  # funding rates and open interest
        # Mark/index candles and trade history.
        # import cycle: the issue-16 routes live in their own module, which reads this one's tables
        from tradeflood.testing._marks_okx import install as install_marks

        install_marks(self)

    def names(self, inst: Instrument) -> tuple[str, str]:
        return inst.symbol, wire.inst_id(inst)

    # -- the request path -------------------------------------------------
    def serve(self, method: str, call: Call) -> SimResponse:
        now = call.now_ms / 1000
        if self._bans.get(call.ip, 0.0) > now:
            return self.throttled(call)
        limit = self.limits.get(call.path)
        if limit is not None and not limit.admit(call.ip, call.path, now):
            return self.throttled(call)
        route = self.routes.get(call.path) if method == "GET" else None
        if route is None:
            return SimResponse(404, _JSON, encode({"msg": "", "code": "50030"}))
        try:
            data = route(call)
        except Rejection as err:
            return SimResponse(err.status, _JSON, encode(err.payload))
        return SimResponse(200, _JSON, encode({"code": "0", "msg": "", "data": data}))

    def throttled(self, call: Call) -> SimResponse:
        return SimResponse(429, _JSON, encode({"code": "50011", "msg": "Too Many Requests", "data": []}))

    def ban(self, ip: str, seconds: float | None = None) -> None:
        """OKX documents no ban: a banned IP gets 429 (code 50011) for ``seconds`` (default 60)."""
        self._bans[ip] = self.clock.time() + (60.0 if seconds is None else seconds)

    # -- parameters ------------------------------------------------------
    @staticmethod
    def _reject(code: str, msg: str) -> Rejection:
        return Rejection(400, {"code": code, "msg": msg, "data": []})

    def _required(self, call: Call, name: str) -> str:
        value = call.get(name)
        if value is None:
            raise self._reject("50014", f"Parameter {name} can not be empty")
        return value

    def _int(self, call: Call, name: str, default: int | None = None) -> int | None:
        value = call.get(name)
        if value is None:
            return default
        if not value.lstrip("-").isdigit():
            raise self._reject("51000", f"Parameter {name} error")
        return int(value)

    def _inst(self, call: Call) -> Instrument:
        wanted = self._required(call, "instId")
        for inst in self.market.instruments:
            if wire.inst_id(inst) == wanted:
                return inst
        raise self._reject("51001", "Instrument ID does not exist")

    def _limit(self, call: Call, name: str, default: int, most: int) -> int:
        value = self._int(call, name, default) or default
        if not 1 <= value <= most:
            raise self._reject("51000", f"Parameter {name} error")
        return value

    # -- routes ----------------------------------------------------------
    def _instruments(self, call: Call) -> list[dict[str, str]]:
        kind = {"SPOT": "spot", "SWAP": "perp"}.get(self._required(call, "instType"))
        if kind is None:
            return []
        insts = self.market.of_kind(kind)
        wanted = call.get("instId")
        return [wire.instrument(i) for i in insts if wanted is None or wire.inst_id(i) == wanted]

    def _bar_page(self, call: Call, inst: Instrument, history: bool, most: int) -> tuple[Grid, list[Bar]]:
        """The bar size and bars of ``inst`` a candle request asks for (trade, mark or index
        candles; ``limit`` up to ``most``)."""
        grid = BARS.get(call.get("bar") or "1m")
        if grid is None:
            raise self._reject("51000", "Parameter bar error")
        limit = self._limit(call, "limit", 100, most)
        after = self._int(call, "after")
        before = self._int(call, "before")
        first = before + 1 if before is not None else 0
        if not history:  # only the latest 1,440 bars
            first = max(first, recent_start(grid, call.now_ms))
        end = min(after, call.now_ms + 1) if after is not None else call.now_ms + 1
        return grid, page(self, call, inst, grid, first_ms=first, end_ms=end, limit=limit, from_end=True)

    def _candles(self, call: Call, history: bool) -> list[list[str]]:
        inst = self._inst(call)
        _, bars = self._bar_page(call, inst, history, 300)
        return [wire.candle_row(inst, bar, call.now_ms) for bar in reversed(bars)]

    def _books(self, call: Call) -> list[dict[str, Any]]:
        inst = self._inst(call)
        depth = self._limit(call, "sz", 1, 400)
        bids, asks = self.market.book(inst, call.now_ms, depth)
        tick = self.market.book_tick(call.now_ms)
        return [wire.book(inst, bids, asks, tick * self.market.book_tick_ms, tick)]

    def _trades(self, call: Call) -> list[dict[str, str]]:
        inst = self._inst(call)
        limit = self._limit(call, "limit", 100, 500)
        ticks = self.market.recent_trades(inst, call.now_ms, limit)
        ticks = call.short_paged(ticks)
        return [wire.trade(inst, t) for t in reversed(ticks)]

    def _tickers(self, call: Call) -> list[dict[str, str]]:
        kind = {"SPOT": "spot", "SWAP": "perp"}.get(self._required(call, "instType"))
        insts = self.market.of_kind(kind) if kind else []
        return [wire.ticker(self.market, i, call.now_ms) for i in insts]
