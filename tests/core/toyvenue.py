"""A tiny venue for core tests: a connector, bindings, and an in-process HTTP handler.

It pages candles on a grid with two sources (a recent endpoint with big pages
inside a look-back window, a history endpoint with small pages), resolves
symbols through an instrument list, and counts every request it serves.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx

from tradeflood.binding import Binding, ParseContext
from tradeflood.candles import CandleBinding
from tradeflood.connector import Connector, Reply
from tradeflood.errors import VenueRejectedError
from tradeflood.models import Candle, Instrument, Ticker
from tradeflood.paging import PageSource
from tradeflood.query import Query
from tradeflood.ratelimit import Limit
from tradeflood.symbols import SymbolMap, native_id
from tradeflood.turns import Param, Params, Turn, turn

MINUTE = 60_000
LISTED = {"BTCUSD": 1_600_000_000_000, "ETHUSD": 1_600_000_000_000}


class Toy(Connector, name="toy"):
    urls = {"rest": "https://toy.example"}
    limits = {"market": Limit(10, 1.0)}

    @turn("/symbols", group="market", cache="session")
    def symbols(self) -> Params:
        return {}

    @turn("/candles", group="market")
    def candles(self, symbol: Param, start: int, end: int, limit: int) -> Params:
        return {"symbol": symbol, "start": start, "end": end, "limit": limit}

    @turn("/history", group="market")
    def history(self, symbol: Param, start: int, end: int, limit: int) -> Params:
        return {"symbol": symbol, "start": start, "end": end, "limit": limit}

    @turn("/ticker", group="market")
    def ticker(self, symbol: Param) -> Params:
        return {"symbol": symbol}

    def unwrap(self, turn: Turn, reply: Reply) -> Any:
        self.raise_for_http(turn, reply)
        body = self.decode(turn, reply)
        if isinstance(body, dict) and "error" in body:
            raise VenueRejectedError(self.name, turn.path, body["error"], status=reply.status)
        return body


def toy_symbols(payload: Any) -> SymbolMap:
    return SymbolMap("toy", [
        Instrument(exchange="toy", symbol=f"{s[:3]}/{s[3:]}", native_symbol=s, kind="spot",
                   base=s[:3], quote=s[3:]) for s in payload
    ])


class ToyCandles(CandleBinding, model=Candle, connector=Toy):
    intervals = {"1m": "1m", "1h": "1h"}

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        symbol = self.api.symbols().derive(toy_symbols).derive(native_id, query.symbol)
        return [
            PageSource("recent", 10, lambda a, b, n: self.api.candles(symbol, a, b - 1, n),
                       lambda interval: 100 * MINUTE),
            PageSource("history", 5, lambda a, b, n: self.api.history(symbol, a, b - 1, n)),
        ]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Candle]:
        return [
            Candle(exchange="toy", symbol=query.symbol or "", native_symbol=ctx.params["symbol"],
                   interval=query.interval or "", open_time=t, open=str(p), high=str(p + 1),
                   low=str(p - 1), close=str(p), volume="1", closed=t + MINUTE <= ctx.received_ms)
            for t, p in payload
        ]


class ToyTicker(Binding, model=Ticker, connector=Toy):
    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        return [self.api.ticker(self.api.symbols().derive(toy_symbols).derive(native_id, query.symbol))]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Ticker]:
        return [Ticker(exchange="toy", symbol=query.symbol or "", native_symbol=ctx.params["symbol"],
                       timestamp=ctx.received_ms, last=payload["last"])]

    def assemble(self, query: Query, parts: Sequence[Any], now_ms: int) -> Ticker:
        return parts[0].items[0]  # type: ignore[no-any-return]


class ToyServer:
    """The venue's side: serves candles (a pure function of time), counts requests."""

    def __init__(self, clock: Any, *, missing: tuple[int, int] | None = None) -> None:
        self.clock = clock
        self.hits: Counter[str] = Counter()
        self.requests: list[httpx.Request] = []
        self.missing = missing  # open times [a, b) the venue lacks
        self.fail_next: list[int] = []  # statuses to answer with, in order
        self.short_next = 0  # answer this many candle pages with the last row dropped
        self.broken_start: int | None = None  # candle pages starting here always answer 503

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.hits[request.url.path] += 1
        if self.fail_next:
            status = self.fail_next.pop(0)
            headers = {"Retry-After": "2"} if status == 429 else {}
            return httpx.Response(status, headers=headers, text="<html>busy</html>")
        q = dict(request.url.params)
        path = request.url.path
        if self.broken_start is not None and q.get("start") == str(self.broken_start):
            return httpx.Response(503, text="<html>down</html>")
        if path == "/symbols":
            return httpx.Response(200, json=list(LISTED))
        if "symbol" in q and q["symbol"] not in LISTED:
            return httpx.Response(400, json={"error": f"bad symbol {q['symbol']}"})
        if path == "/ticker":
            return httpx.Response(200, json={"last": "101.5"})
        start, end, limit = int(q["start"]), int(q["end"]), int(q["limit"])
        now = int(self.clock.time() * 1000)
        if path == "/candles" and start < now - 100 * MINUTE:
            return httpx.Response(400, json={"error": "start beyond look-back window"})
        rows = [[t, 100 + (t // MINUTE) % 50] for t in range(start - start % MINUTE, end + 1, MINUTE)
                if t >= start and t <= now and not (self.missing and self.missing[0] <= t < self.missing[1])]
        rows = rows[:limit]
        if self.short_next and len(rows) > 1:
            self.short_next -= 1
            rows = rows[:-1]
        return httpx.Response(200, content=json.dumps(rows).encode())
