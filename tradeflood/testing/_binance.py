"""The simulated Binance public REST API: spot ``/api/v3`` and USDⓈ-M futures ``/fapi/v1``.

Each API has its own request-weight budget per IP over fixed clock minutes
(spot 6000, futures 2400), endpoint weights as documented (spot klines 2,
depth 5/25/50/250 by limit, trades 25; futures klines 1/2/5/10 and depth
2/5/10/20 by limit, trades 5, bookTicker 2 for one symbol and 5 for all).
Every answer carries ``x-mbx-used-weight`` and ``x-mbx-used-weight-1m``; a
spent budget answers 429 with ``Retry-After`` and code -1003, and a client that
keeps going is banned with 418.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradeflood.clock import Clock
from tradeflood.testing import _binance_payloads as wire
from tradeflood.testing._faults import Faults
from tradeflood.testing._funding_routes import install_binance
from tradeflood.testing._grid import DAY, HOUR, MINUTE, SECOND, WEEK, Grid
from tradeflood.testing._limits import Admission, WeightBudget
from tradeflood.testing._market import Bar, Instrument, Market
from tradeflood.testing._paging import page
from tradeflood.testing._venue import Call, Rejection, SimResponse, Venue, encode

__all__ = ["BinanceVenue"]

INTERVALS: dict[str, Grid] = {
    "1s": Grid.fixed(SECOND),
    **{f"{n}m": Grid.fixed(n * MINUTE) for n in (1, 3, 5, 15, 30)},
    **{f"{n}h": Grid.fixed(n * HOUR) for n in (1, 2, 4, 6, 8, 12)},
    "1d": Grid.fixed(DAY),
    "3d": Grid.fixed(3 * DAY),
    "1w": Grid.fixed(WEEK, weekly=True),
    "1M": Grid.monthly(),
}
FAPI_DEPTHS = (5, 10, 20, 50, 100, 500, 1000)


def _spot_depth_weight(limit: int) -> int:
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def _fapi_depth_weight(limit: int) -> int:
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def _fapi_kline_weight(limit: int) -> int:
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


@dataclass(frozen=True)
class _Api:
    """One of Binance's APIs: its path prefix, instrument kind and weight budget."""

    kind: str
    spot: bool
    budget: WeightBudget


Route = Callable[[Call, _Api], Any]


class BinanceVenue(Venue):
    """Binance's public market-data REST API, spot and USDⓈ-M futures, in plain Python."""

    name = "binance"

    def __init__(
        self,
        *,
        market: Market | None = None,
        clock: Clock | None = None,
        faults: Faults | None = None,
        spot_weight_per_minute: int = 6000,
        futures_weight_per_minute: int = 2400,
        ban_after_429s: int = 3,
    ) -> None:
        super().__init__(market=market, clock=clock, faults=faults)
        spot_budget = WeightBudget(spot_weight_per_minute, ban_after=ban_after_429s)
        self.spot = _Api("spot", True, spot_budget)
        futures_budget = WeightBudget(futures_weight_per_minute, ban_after=ban_after_429s)
        self.futures = _Api("perp", False, futures_budget)
        self.routes: dict[str, tuple[Callable[[Call], int], Route]] = {
            "/api/v3/exchangeInfo": (lambda c: 20, self._info),
            "/api/v3/klines": (lambda c: 2, self._klines),
            "/api/v3/depth": (lambda c: _spot_depth_weight(self._peek(c, 100)), self._depth),
            "/api/v3/trades": (lambda c: 25, self._trades),
            "/api/v3/ticker/24hr": (self._spot_ticker_weight, self._tickers),
            "/fapi/v1/exchangeInfo": (lambda c: 1, self._info),
            "/fapi/v1/klines": (lambda c: _fapi_kline_weight(self._peek(c, 500)), self._klines),
            "/fapi/v1/depth": (lambda c: _fapi_depth_weight(self._peek(c, 500)), self._depth),
            "/fapi/v1/trades": (lambda c: 5, self._trades),
            "/fapi/v1/ticker/24hr": (lambda c: 1 if c.get("symbol") else 40, self._tickers),
            "/fapi/v1/ticker/bookTicker": (lambda c: 2 if c.get("symbol") else 5, self._tops),
        }
        install_binance(self)  # funding rates and open interest
        # Mark/index klines and aggregate trades by time.
        # import cycle: the issue-16 routes live in their own module, which reads this one's tables
        from tradeflood.testing._marks_binance import install as install_marks

        install_marks(self)

    def update_id(self, now_ms: int) -> int:
        """The order book's update id at ``now_ms``: its book tick, shared with the depth streams."""
        return self.market.book_tick(now_ms)

    def book_time_ms(self, now_ms: int) -> int:
        """The futures book's last transaction time as of ``now_ms``: the start of its book tick."""
        return self.update_id(now_ms) * self.market.book_tick_ms

    def api(self, path: str) -> _Api:
        return self.futures if path.startswith(("/fapi/", "/futures/")) else self.spot

    # -- the request path -------------------------------------------------
    def serve(self, method: str, call: Call) -> SimResponse:
        api = self.api(call.path)
        known = self.routes.get(call.path) if method == "GET" else None
        weight = known[0](call) if known else 1
        verdict = api.budget.charge(call.ip, weight, call.now_ms / 1000)
        if verdict.verdict != "ok":
            return self._refusal(call, api, verdict)
        headers = self._headers(verdict.used)
        if known is None:
            return SimResponse(404, headers | {"content-type": "text/html"}, b"")
        try:
            data = known[1](call, api)
        except Rejection as err:
            return SimResponse(err.status, headers, encode(err.payload))
        return SimResponse(200, headers, encode(data))

    def throttled(self, call: Call) -> SimResponse:
        api = self.api(call.path)
        used = api.budget.used(call.ip, call.now_ms / 1000)
        return self._refusal(call, api, Admission("429", used, 1))

    def ban(self, ip: str, seconds: float | None = None) -> None:
        """Ban ``ip`` on both APIs (HTTP 418) for ``seconds`` or Binance's escalating default."""
        now = self.clock.time()
        for api in (self.spot, self.futures):
            api.budget.ban(ip, now, seconds)

    def _refusal(self, call: Call, api: _Api, verdict: Admission) -> SimResponse:
        headers = self._headers(verdict.used) | {"retry-after": str(verdict.retry_after)}
        if verdict.verdict == "418":
            until = int(verdict.banned_until * 1000)
            msg = (
                f"Way too much request weight used; IP banned until {until}. "
                "Please use WebSocket Streams for live updates to avoid bans."
            )
            return SimResponse(418, headers, encode({"code": -1003, "msg": msg}))
        if api.spot:
            msg = (
                f"Too much request weight used; current limit is {api.budget.limit} request "
                "weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid "
                "polling the API."
            )
        else:
            msg = (
                f"Too many requests; current limit of IP({call.ip}) is {api.budget.limit} "
                "requests per minute. Please use the websocket for live updates to avoid "
                "polling the API."
            )
        return SimResponse(429, headers, encode({"code": -1003, "msg": msg}))

    @staticmethod
    def _headers(used: int) -> dict[str, str]:
        return {
            "content-type": "application/json;charset=UTF-8",
            "x-mbx-used-weight": str(used),
            "x-mbx-used-weight-1m": str(used),
        }

    # -- parameters ------------------------------------------------------
    @staticmethod
    def _fail(code: int, msg: str) -> Rejection:
        return Rejection(400, {"code": code, "msg": msg})

    def _required(self, call: Call, name: str) -> str:
        value = call.get(name)
        if value is None:
            raise self._fail(
                -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
            )
        return value

    def _int(self, call: Call, name: str) -> int | None:
        value = call.get(name)
        if value is None:
            return None
        if not value.isdigit() or len(value) > 20:
            raise self._fail(
                -1100,
                f"Illegal characters found in parameter '{name}'; "
                "legal range is '^[0-9]{1,20}$'.",
            )
        return int(value)

    @staticmethod
    def _peek(call: Call, default: int) -> int:
        """The requested limit for weighing, before validation."""
        value = call.get("limit") or ""
        return int(value) if value.isdigit() else default

    def _limit(self, call: Call, default: int, most: int) -> int:
        limit = self._int(call, "limit")
        if limit is None:
            return default
        if not 1 <= limit <= most:
            raise self._fail(-1130, "Data sent for parameter 'limit' is not valid.")
        return limit

    def _instrument(self, call: Call, api: _Api) -> Instrument:
        inst = self.market.find(self._required(call, "symbol"), api.kind)
        if inst is None:
            raise self._fail(-1121, "Invalid symbol.")
        return inst

    def _spot_ticker_weight(self, call: Call) -> int:
        if call.get("symbol"):
            return 2
        symbols = call.get("symbols")
        count = len(symbols.split(",")) if symbols else 101
        return 2 if count <= 20 else 40 if count <= 100 else 80

    def _selection(self, call: Call, api: _Api) -> list[Instrument]:
        """Instruments named by ``symbol`` or a JSON ``symbols`` list, else all of the API."""
        if call.get("symbol"):
            return [self._instrument(call, api)]
        raw = call.get("symbols") if api.spot else None
        if raw is None:
            return self.market.of_kind(api.kind)
        try:
            names = json.loads(raw)
        except ValueError:
            raise self._fail(-1100, "Illegal characters found in parameter 'symbols'.") from None
        found = [self.market.find(str(n), api.kind) for n in names]
        if any(i is None for i in found):
            raise self._fail(-1121, "Invalid symbol.")
        return [i for i in found if i is not None]

    # -- routes ----------------------------------------------------------
    def _info(self, call: Call, api: _Api) -> dict[str, Any]:
        limits = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": api.budget.limit,
            }
        ]
        body: dict[str, Any] = {"timezone": "UTC", "serverTime": call.now_ms}
        if not api.spot:
            body["futuresType"] = "U_MARGINED"
        body.update(rateLimits=limits, exchangeFilters=[])
        if not api.spot:
            body["assets"] = [{"asset": "USDT", "marginAvailable": True}]
        body["symbols"] = [wire.info_symbol(i, api.spot) for i in self._selection(call, api)]
        return body

    def _kline_page(self, call: Call, api: _Api, inst: Instrument) -> tuple[Grid, list[Bar]]:
        """The interval and bars of ``inst`` a kline request asks for (trade, mark or index)."""
        grid = INTERVALS.get(self._required(call, "interval"))
        if grid is None or (grid.length_ms == SECOND and not api.spot):
            raise self._fail(-1120, "Invalid interval.")
        limit = self._limit(call, 500, 1000 if api.spot else 1500)
        start, end = self._int(call, "startTime"), self._int(call, "endTime")
        upto = (end + 1) if end is not None else call.now_ms + 1
        bars = page(
            self,
            call,
            inst,
            grid,
            first_ms=start or 0,
            end_ms=upto,
            limit=limit,
            from_end=start is None,
        )
        return grid, bars

    def _klines(self, call: Call, api: _Api) -> list[list[Any]]:
        inst = self._instrument(call, api)
        _, bars = self._kline_page(call, api, inst)
        style = wire.Style(inst, api.spot)
        return [wire.kline(style, bar) for bar in bars]

    def _depth(self, call: Call, api: _Api) -> dict[str, Any]:
        inst = self._instrument(call, api)
        if api.spot:
            limit = min(5000, self._limit(call, 100, 10**9))
        else:
            limit = self._limit(call, 500, 1000)
            if limit not in FAPI_DEPTHS:
                raise self._fail(-4021, f"{limit} is not valid depth limit")
        bids, asks = self.market.book(inst, call.now_ms, limit)
        style = wire.Style(inst, api.spot)
        body: dict[str, Any] = {"lastUpdateId": self.update_id(call.now_ms)}
        if not api.spot:
            body.update(E=call.now_ms, T=self.book_time_ms(call.now_ms))
        body.update(bids=wire.levels(style, bids), asks=wire.levels(style, asks))
        return body

    def _trades(self, call: Call, api: _Api) -> list[dict[str, Any]]:
        inst = self._instrument(call, api)
        ticks = self.market.recent_trades(inst, call.now_ms, self._limit(call, 500, 1000))
        ticks = call.short_paged(ticks)
        style = wire.Style(inst, api.spot)
        return [wire.trade(style, t) for t in ticks]

    def _tickers(self, call: Call, api: _Api) -> Any:
        insts = self._selection(call, api)
        rows = [wire.ticker(self.market, i, wire.Style(i, api.spot), call.now_ms) for i in insts]
        return rows[0] if call.get("symbol") else rows

    def _tops(self, call: Call, api: _Api) -> Any:
        """Best bid and ask, the top of the book ``/depth`` would answer at the same moment."""
        rows = []
        for inst in self._selection(call, api):
            bids, asks = self.market.book(inst, call.now_ms, 1)
            style = wire.Style(inst, api.spot)
            update, time_ms = self.update_id(call.now_ms), self.book_time_ms(call.now_ms)
            rows.append(wire.book_ticker(style, inst, bids[0], asks[0], update, time_ms))
        return rows[0] if call.get("symbol") else rows
