"""The simulated Bitget v2 public REST API: spot under ``/api/v2/spot``, USDT perpetuals under
``/api/v2/mix`` (``productType=USDT-FUTURES``).

Limits and windows are Bitget's documented ones: 20 requests per second per
endpoint per IP; recent candles limit 100 by default and 1000 at most, history
candles 100 and 200; the recent-candles endpoint only reaches back one month for
1m/3m/5m, 52 days for 15m, 62 for 30m, 83 for 1H, 120 for 2H, 240 for 4H and 360
for 6H, and older requests get an empty page. Non-UTC day-and-longer candles
open at midnight UTC+8; the ``...utc`` spellings at midnight UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradeflood.clock import Clock
from tradeflood.testing import _bitget_payloads as wire
from tradeflood.testing._faults import Faults
from tradeflood.testing._funding_routes import install_bitget
from tradeflood.testing._grid import DAY, HOUR, MINUTE, WEEK, Grid
from tradeflood.testing._limits import RollingLimit
from tradeflood.testing._market import Bar, Instrument, Market
from tradeflood.testing._paging import page
from tradeflood.testing._venue import Call, Rejection, SimResponse, Venue, encode

__all__ = ["BitgetVenue"]

_JSON = {"content-type": "application/json"}
_CST = 8  # Bitget's non-UTC candles follow UTC+8


def _grids(minute: str, hour: str, day: str, week: str) -> dict[str, Grid]:
    """Granularity spellings to grids; spot and futures spell them differently."""
    m = {n: Grid.fixed(n * MINUTE) for n in (1, 3, 5, 15, 30)}
    grids = {f"{n}{minute}": g for n, g in m.items()}
    grids.update({f"1{hour}": Grid.fixed(HOUR), f"4{hour}": Grid.fixed(4 * HOUR)})
    for n in (6, 12):
        grids[f"{n}{hour}"] = Grid.fixed(n * HOUR, tz_hours=_CST)
        grids[f"{n}Hutc"] = Grid.fixed(n * HOUR)
    for n in (1, 3):
        grids[f"{n}{day}"] = Grid.fixed(n * DAY, tz_hours=_CST)
        grids[f"{n}Dutc"] = Grid.fixed(n * DAY)
    grids[f"1{week}"] = Grid.fixed(WEEK, tz_hours=_CST, weekly=True)
    grids["1Wutc"] = Grid.fixed(WEEK, weekly=True)
    grids["1M"] = Grid.monthly(tz_hours=_CST)
    grids["1Mutc"] = Grid.monthly()
    return grids


SPOT_GRANULARITY = _grids("min", "h", "day", "week")
MIX_GRANULARITY = _grids("m", "H", "D", "W") | {"2H": Grid.fixed(2 * HOUR)}
# Documented reach of the recent-candles endpoint, by candle length.
LOOKBACK_MS = {
    MINUTE: 30 * DAY,
    3 * MINUTE: 30 * DAY,
    5 * MINUTE: 30 * DAY,
    15 * MINUTE: 52 * DAY,
    30 * MINUTE: 62 * DAY,
    HOUR: 83 * DAY,
    2 * HOUR: 120 * DAY,
    4 * HOUR: 240 * DAY,
    6 * HOUR: 360 * DAY,
}
PRODUCT_TYPES = {"USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES"}

Route = Callable[[Call], Any]


class BitgetVenue(Venue):
    """Bitget's public market-data REST API, spot and USDT-M perpetuals, in plain Python."""

    name = "bitget"

    def __init__(
        self,
        *,
        market: Market | None = None,
        clock: Clock | None = None,
        faults: Faults | None = None,
        requests_per_second: int = 20,
    ) -> None:
        super().__init__(market=market, clock=clock, faults=faults)
        self.limit = RollingLimit(per_window=requests_per_second)
        self._bans: dict[str, float] = {}
        self.routes: dict[str, Route] = {
            "/api/v2/spot/public/symbols": self._symbols,
            "/api/v2/spot/market/candles": lambda c: self._candles(c, "spot", history=False),
            "/api/v2/spot/market/history-candles": lambda c: self._candles(c, "spot", True),
            "/api/v2/spot/market/orderbook": self._spot_book,
            "/api/v2/spot/market/fills": lambda c: self._fills(c, "spot", 100, 500),
            "/api/v2/spot/market/fills-history": lambda c: self._fills(c, "spot", 500, 1000),
            "/api/v2/spot/market/tickers": self._spot_tickers,
            "/api/v2/mix/market/contracts": self._contracts,
            "/api/v2/mix/market/candles": lambda c: self._candles(c, "perp", history=False),
            "/api/v2/mix/market/history-candles": lambda c: self._candles(c, "perp", True),
            "/api/v2/mix/market/merge-depth": self._merge_depth,
            "/api/v2/mix/market/fills": lambda c: self._fills(c, "perp", 100, 100),
            "/api/v2/mix/market/fills-history": lambda c: self._fills(c, "perp", 500, 1000),
            "/api/v2/mix/market/ticker": lambda c: self._mix_tickers(c, one=True),
            "/api/v2/mix/market/tickers": lambda c: self._mix_tickers(c, one=False),
        }
        install_bitget(self)  # funding rates and open interest
        # Mark/index candles and trade history.
        # import cycle: the issue-16 routes live in their own module, which reads this one's tables
        from tradeflood.testing._marks_bitget import install as install_marks

        install_marks(self)

    # -- the request path -------------------------------------------------
    def serve(self, method: str, call: Call) -> SimResponse:
        now = call.now_ms / 1000
        if self._bans.get(call.ip, 0.0) > now:
            return self.throttled(call)
        if not self.limit.admit(call.ip, call.path, now):
            return self.throttled(call)
        route = self.routes.get(call.path) if method == "GET" else None
        if route is None:
            if call.path.startswith("/api/v2/"):
                return self._error(call, 400, "40404", "Request URL NOT FOUND")
            return SimResponse(404, {"content-type": "text/html"}, b"<h1>404 Not Found</h1>")
        try:
            data = route(call)
        except Rejection as err:
            return SimResponse(err.status, _JSON, encode(err.payload))
        body = {"code": "00000", "msg": "success", "requestTime": call.now_ms, "data": data}
        return SimResponse(200, _JSON, encode(body))

    def throttled(self, call: Call) -> SimResponse:
        return self._error(call, 429, "429", "Too Many Requests")

    def ban(self, ip: str, seconds: float | None = None) -> None:
        """Bitget documents no ban: a banned IP simply gets 429 for ``seconds`` (default 60)."""
        self._bans[ip] = self.clock.time() + (60.0 if seconds is None else seconds)

    def _error(self, call: Call, status: int, code: str, msg: str) -> SimResponse:
        body = {"code": code, "msg": msg, "requestTime": call.now_ms, "data": None}
        return SimResponse(status, _JSON, encode(body))

    # -- parameters ------------------------------------------------------
    @staticmethod
    def _reject(call: Call, code: str, msg: str) -> Rejection:
        return Rejection(400, {"code": code, "msg": msg, "requestTime": call.now_ms, "data": None})

    def _required(self, call: Call, name: str) -> str:
        value = call.get(name)
        if value is None:
            raise self._reject(call, "40019", f"Parameter {name} cannot be empty")
        return value

    def _int(self, call: Call, name: str, default: int | None = None) -> int | None:
        value = call.get(name)
        if value is None:
            return default
        if not value.lstrip("-").isdigit():
            raise self._reject(call, "40020", f"Parameter {name} error")
        return int(value)

    def _instrument(self, call: Call, kind: str, code: str = "40034") -> Instrument:
        symbol = self._required(call, "symbol")
        inst = self.market.find(symbol, kind)
        if inst is None:
            if code == "42016":
                msg = f"symbol {symbol} is Invalid or not supported spot trade"
                raise self._reject(call, code, msg)
            raise self._reject(call, code, f"Parameter {symbol} does not exist")
        return inst

    def _product(self, call: Call) -> str:
        product = self._required(call, "productType").upper()
        if product not in PRODUCT_TYPES:
            raise self._reject(call, "40020", "Parameter productType error")
        return product

    def _perps(self, call: Call) -> list[Instrument]:
        return self.market.of_kind("perp") if self._product(call) == "USDT-FUTURES" else []

    def _limit(self, call: Call, default: int, most: int) -> int:
        # Unverified against the live venue: an oversized limit is clamped, not refused.
        return max(1, min(most, self._int(call, "limit", default) or default))

    # -- routes ----------------------------------------------------------
    def _candle_page(self, call: Call, kind: str, history: bool) -> tuple[Instrument, Grid, list[Bar]]:
        """The instrument, granularity and bars a candle request asks for (trade, mark or index)."""
        if kind == "perp":
            self._product(call)
        inst = self._instrument(call, kind)
        grids = SPOT_GRANULARITY if kind == "spot" else MIX_GRANULARITY
        grid = grids.get(self._required(call, "granularity"))
        if grid is None:
            raise self._reject(call, "40020", "Parameter granularity error")
        end = self._int(call, "endTime")
        if end is None and history and kind == "spot":
            raise self._reject(call, "40019", "Parameter endTime cannot be empty")
        limit = self._limit(call, 100, 200 if history else 1000)
        first = self._int(call, "startTime", 0) or 0
        if not history:
            first = max(first, call.now_ms - LOOKBACK_MS.get(grid.length_ms, 100 * 365 * DAY))
        upto = min(end, call.now_ms + 1) if end is not None else call.now_ms + 1
        bars = page(self, call, inst, grid, first_ms=first, end_ms=upto, limit=limit, from_end=True)
        return inst, grid, bars

    def _candles(self, call: Call, kind: str, history: bool) -> list[list[str]]:
        _, _, bars = self._candle_page(call, kind, history)
        return [wire.candle_row(bar, spot=kind == "spot") for bar in bars]

    def _fills(self, call: Call, kind: str, default: int, most: int) -> list[dict[str, str]]:
        if kind == "perp":
            self._product(call)
        inst = self._instrument(call, kind)
        limit = self._limit(call, default, most)
        end = min(self._int(call, "endTime", call.now_ms) or call.now_ms, call.now_ms)
        start = self._int(call, "startTime", 0) or 0
        id_below = self._int(call, "idLessThan")
        ticks = self.market.recent_trades(inst, end, limit + 64)
        ticks = [t for t in ticks if start <= t.ts_ms <= end]
        if id_below is not None:
            ticks = [t for t in ticks if t.id < id_below]
        ticks = ticks[-limit:]
        ticks = call.short_paged(ticks)
        return [wire.fill(inst, t) for t in reversed(ticks)]

    def _spot_book(self, call: Call) -> dict[str, Any]:
        inst = self._instrument(call, "spot")
        if call.get("type") not in (None, "step0", "step1", "step2", "step3", "step4", "step5"):
            raise self._reject(call, "40020", "Parameter type error")
        bids, asks = self.market.book(inst, call.now_ms, self._limit(call, 150, 150))
        return {"asks": wire.levels(asks), "bids": wire.levels(bids), "ts": str(call.now_ms)}

    def _merge_depth(self, call: Call) -> dict[str, Any]:
        self._product(call)
        inst = self._instrument(call, "perp")
        raw = call.get("limit")
        depth = 100 if raw in (None, "max") else self._limit(call, 100, 100)
        bids, asks = self.market.book(inst, call.now_ms, depth)
        return {
            "asks": wire.levels(asks, as_numbers=True),
            "bids": wire.levels(bids, as_numbers=True),
            "ts": str(call.now_ms),
            "scale": str(inst.tick),
            "precision": call.get("precision") or "scale0",
            "isMaxPrecision": "YES" if (call.get("precision") or "scale0") == "scale0" else "NO",
        }

    def _symbols(self, call: Call) -> list[dict[str, Any]]:
        if call.get("symbol"):
            return [wire.spot_symbol(self._instrument(call, "spot", "42016"))]
        return [wire.spot_symbol(i) for i in self.market.of_kind("spot")]

    def _spot_tickers(self, call: Call) -> list[dict[str, str]]:
        if call.get("symbol"):
            insts = [self._instrument(call, "spot", "42016")]
        else:
            insts = self.market.of_kind("spot")
        return [wire.spot_ticker(self.market, i, call.now_ms) for i in insts]

    def _contracts(self, call: Call) -> list[dict[str, Any]]:
        insts = self._perps(call)
        if call.get("symbol"):
            insts = [self._instrument(call, "perp")] if insts else []
        return [wire.contract(i) for i in insts]

    def _mix_tickers(self, call: Call, one: bool) -> list[dict[str, str | None]]:
        insts = self._perps(call)
        if one:
            insts = [self._instrument(call, "perp")]
        return [wire.mix_ticker(self.market, i, call.now_ms) for i in insts]
