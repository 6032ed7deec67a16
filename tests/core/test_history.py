"""Paged history for a model that is not a candle: funding rates every 8 hours.

The venue here is built in the test: a funding-rate model, a connector with a
recent endpoint (big pages, inside a look-back window) and an archive endpoint
(small pages), and a HistoryBinding. Grid paging with the best endpoint per
age, gaps, the repair of short pages, the parse memo and the store all come
from the base class, as for candles.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from tradeflood import HistoryBinding, Query, Series, Session, VirtualClock
from tradeflood.binding import ParseContext
from tradeflood.connector import Connector, Reply
from tradeflood.errors import QueryError
from tradeflood.models import Model, TimestampMs
from tradeflood.paging import PageSource
from tradeflood.ratelimit import Limit
from tradeflood.store import CandleStore
from tradeflood.turns import Param, Params, Turn, turn

HOUR = 3_600_000
STEP = 8 * HOUR
DAY = 24 * HOUR
NOW = 1_704_067_200_000 + 3 * HOUR  # 2024-01-01T03:00Z: the 00:00 rate is the newest published


class FundingRate(Model):
    """The funding rate a perpetual settled at ``timestamp``."""

    timestamp: TimestampMs
    rate: Decimal


class Fundy(Connector, name="fundy"):
    urls = {"rest": "https://fundy.example"}
    limits = {"market": Limit(50, 1.0)}

    @turn("/funding", group="market")
    def funding(self, symbol: Param, start: int, end: int, limit: int) -> Params:
        return {"symbol": symbol, "start": start, "end": end, "limit": limit}

    @turn("/funding-archive", group="market")
    def archive(self, symbol: Param, start: int, end: int, limit: int) -> Params:
        return {"symbol": symbol, "start": start, "end": end, "limit": limit}

    def unwrap(self, turn: Turn, reply: Reply) -> Any:
        self.raise_for_http(turn, reply)
        return self.decode(turn, reply)


class FundyFunding(HistoryBinding, model=FundingRate, connector=Fundy):
    step_ms = STEP
    parses: ClassVar[Counter[tuple[str, int]]] = Counter()

    @classmethod
    def check(cls, query: Query) -> None:
        if not query.symbol:
            raise QueryError("fundy funding rates need a symbol")

    def page_sources(self, query: Query) -> Sequence[PageSource]:
        native = (query.symbol or "").replace("/", "").split(":")[0]
        return [
            PageSource("recent", 30, lambda a, b, n: self.api.funding(native, a, b - 1, n),
                       lambda interval: 20 * DAY),
            PageSource("archive", 10, lambda a, b, n: self.api.archive(native, a, b - 1, n)),
        ]

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[FundingRate]:
        self.parses[(turn.path, int(ctx.params["start"]))] += 1
        return [FundingRate(exchange="fundy", symbol=query.symbol or "", native_symbol=ctx.params["symbol"],
                            timestamp=t, rate=r) for t, r in payload]


def rate_at(t: int) -> str:
    return f"0.0001{(t // STEP) % 7}"


class FundyServer:
    """Serves the rate of every 8-hour mark up to now; can lack a span or shorten pages."""

    def __init__(self, missing: tuple[int, int] | None = None, short: int = 0) -> None:
        self.hits: Counter[str] = Counter()
        self.sent: list[tuple[str, int, int]] = []
        self.missing = missing
        self.short = short  # answer this many pages with their last row dropped

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hits[request.url.path] += 1
        q = dict(request.url.params)
        self.sent.append((request.url.path, int(q["start"]), int(q["end"])))
        start, end, limit = int(q["start"]), int(q["end"]), int(q["limit"])
        if request.url.path == "/funding" and start < NOW - 20 * DAY:
            return httpx.Response(400, json={"error": "beyond the look-back window"})
        first = -(-start // STEP) * STEP
        rows = [[t, rate_at(t)] for t in range(first, min(end, NOW) + 1, STEP)
                if not (self.missing and self.missing[0] <= t < self.missing[1])][:limit]
        if self.short and len(rows) > 1:
            self.short -= 1
            rows = rows[:-1]
        return httpx.Response(200, content=json.dumps(rows).encode())


def _session(server: FundyServer, store: Any = False) -> Session:
    return Session(transport=httpx.MockTransport(server), clock=VirtualClock(start=NOW / 1000), store=store)


def _query(start: int, end: int | None = None, symbol: str = "BTC/USDT:USDT") -> Query:
    return Query(FundingRate, exchange="fundy", symbol=symbol, start=start, end=end, now_ms=NOW)


def _expected(start: int, end: int) -> list[int]:
    return list(range(-(-start // STEP) * STEP, min(end, NOW + 1), STEP))


async def test_pages_take_the_best_endpoint_for_their_age_and_the_rows_come_back_exact() -> None:
    server = FundyServer()
    start = NOW - 60 * DAY
    async with _session(server) as s:
        plan = s.plan(_query(start))
        [rates] = await s.agather(_query(start))
    assert isinstance(rates, Series) and rates.gaps == []
    assert [r.timestamp for r in rates] == _expected(start, NOW + 1) and len(rates) == 180
    assert all(r.rate == Decimal(rate_at(r.timestamp)) for r in rates)
    assert rates[0].native_symbol == "BTCUSDT" and rates[-1].timestamp == 1_704_067_200_000
    # 30-row pages (240 h) inside the 20-day window, 10-row pages (80 h) on the archive's grid before it
    assert plan.requests == server.hits["/funding"] + server.hits["/funding-archive"]
    recent = sorted((a, b) for path, a, b in server.sent if path == "/funding")
    archive = sorted((a, b) for path, a, b in server.sent if path == "/funding-archive")
    assert len(recent) == 2 and all(a >= NOW - 20 * DAY and b + 1 - a == 30 * STEP for a, b in recent)
    assert all(b + 1 - a == 10 * STEP for a, b in archive)  # the archive's page size, on its grid
    assert archive[0][0] <= start < archive[0][1] and archive[-1][1] + 1 == recent[0][0]
    assert all(b + 1 == a2 for (_, b), (a2, _) in pairwise(archive))  # no overlap, no hole
    assert repr(rates).startswith("<Series 180 rows 2023-11-02T") and "0 gaps" in repr(rates)


async def test_rows_the_venue_lacks_are_gaps() -> None:
    hole = (NOW - 10 * DAY, NOW - 8 * DAY)
    server = FundyServer(missing=hole)
    async with _session(server) as s:
        [rates] = await s.agather(_query(NOW - 15 * DAY))
    lacking = _expected(*hole)
    assert len(lacking) == 6  # two days of 8-hour marks
    assert len(rates) == len(_expected(NOW - 15 * DAY, NOW + 1)) - len(lacking)
    [gap] = rates.gaps
    assert (gap.start, gap.end, gap.missing) == (lacking[0], lacking[-1] + STEP, 6)


async def test_short_pages_are_asked_for_once_more() -> None:
    server = FundyServer(short=2)
    async with _session(server) as s:
        [rates] = await s.agather(_query(NOW - 40 * DAY, NOW - 25 * DAY))
    pages = 5  # 15 days of 10-row archive pages on the grid
    assert sum(server.hits.values()) == pages + 2
    assert [r.timestamp for r in rates] == _expected(NOW - 40 * DAY, NOW - 25 * DAY) and rates.gaps == []


async def test_a_page_two_queries_share_is_sent_and_parsed_once() -> None:
    server = FundyServer()
    FundyFunding.parses.clear()
    async with _session(server) as s:
        a, b = await s.agather(_query(NOW - 30 * DAY, NOW - 20 * DAY), _query(NOW - 25 * DAY, NOW - 15 * DAY))
    assert [r.timestamp for r in a] == _expected(NOW - 30 * DAY, NOW - 20 * DAY)
    assert [r.timestamp for r in b] == _expected(NOW - 25 * DAY, NOW - 15 * DAY)
    assert sum(server.hits.values()) == len(FundyFunding.parses)  # every page sent once...
    assert set(FundyFunding.parses.values()) == {1}  # ...and parsed once, though both queries use some


async def test_the_store_answers_a_rerun_and_keeps_old_candle_files_readable(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    server = FundyServer()
    with CandleStore(path) as store:
        assert _schema_version(path) == "1"  # a new file holds candles only, as before
        async with _session(server, store) as s:
            [first] = await s.agather(_query(NOW - 30 * DAY))
        sent = sum(server.hits.values())
        [info] = store.info().series
    assert sent > 3
    assert (info.exchange, info.symbol, info.interval) == ("fundy", "BTC/USDT:USDT", "FundingRate")
    [(a, b)] = info.covered  # whole grid pages, up to the newest row (which may still be revised)
    assert a <= NOW - 30 * DAY and b == NOW - 3 * HOUR and info.candles == (b - a) // STEP
    assert _schema_version(path) == "2"  # now it holds rows an older TradeFlood cannot read

    server.hits.clear()
    with CandleStore(path) as store:
        async with _session(server, store) as s:
            plan = s.plan(_query(NOW - 30 * DAY))
            [again] = await s.agather(_query(NOW - 30 * DAY))
    assert plan.requests == 1 and sum(server.hits.values()) == 1  # only the page with the newest row
    assert again == first and again.gaps == []
    assert [type(r) for r in again] == [FundingRate] * len(first)


def _schema_version(path: Path) -> str:
    with sqlite3.connect(path) as db:
        value: str = dict(db.execute("SELECT key, value FROM meta"))["schema_version"]
    db.close()
    return value


def test_a_store_refuses_rows_of_another_series(tmp_path: Path) -> None:
    row = FundingRate(exchange="fundy", symbol="ETH/USDT:USDT", native_symbol="ETHUSDT", timestamp=0,
                      rate="0")
    with CandleStore(tmp_path / "s.sqlite3") as store, pytest.raises(ValueError, match="ETH/USDT"):
        store.write("fundy", "BTC/USDT:USDT", "FundingRate", 0, STEP, [row])
