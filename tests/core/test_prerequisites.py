"""Prerequisites: turns a binding needs answered before it can plan a query. A fetch sends them
first, once for all its queries, hands each binding its replies, plans, and reuses the replies in
its run; one that fails is logged and the query planned without it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import pytest
from toyvenue import MINUTE, ToyCandles, ToyServer, toy_symbols

from tradeflood import Session, VirtualClock
from tradeflood.models import Candle, Ticker
from tradeflood.query import Query
from tradeflood.symbols import native_id
from tradeflood.turns import Turn, TurnKey

NOW = 1_704_067_200_000


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Toy candles that must see the symbol's ticker before planning: what each query was told."""
    seen: list[tuple[str, Any]] = []

    def prerequisites(self: ToyCandles, query: Query, now_ms: int) -> Sequence[Turn]:
        return [self.api.ticker(self.api.symbols().derive(toy_symbols).derive(native_id, query.symbol))]

    def prepare(self: ToyCandles, query: Query, payloads: Mapping[TurnKey, Any]) -> None:
        [turn] = prerequisites(self, query, 0)
        seen.append((query.symbol or "", payloads.get(turn.key)))
        if payloads.get(turn.key) == {"last": "nonsense"}:
            raise ValueError("the ticker says nonsense")

    monkeypatch.setattr(ToyCandles, "prerequisites", prerequisites, raising=False)
    monkeypatch.setattr(ToyCandles, "prepare", prepare, raising=False)
    return seen


def candles(s: Session, minutes: int) -> Query:
    return s.query(Candle, exchange="toy", symbol="BTC/USD", interval="1m", start=NOW - minutes * MINUTE,
                   end=NOW)


async def test_prerequisites_are_sent_once_before_planning_and_reused(told: list[tuple[str, Any]]) -> None:
    clock = VirtualClock(start=NOW / 1000)
    server = ToyServer(clock)
    async with Session(transport=httpx.MockTransport(server), clock=clock, store=False) as s:
        assert "  sent first         1 " in s.plan(candles(s, 30)).explain()
        a, b, ticker = await s.agather(candles(s, 30), candles(s, 20),
                                       s.query(Ticker, exchange="toy", symbol="BTC/USD"))
    assert told == [("BTC/USD", {"last": "101.5"})] * 2  # each query told, before it was planned
    assert server.hits["/ticker"] == 1  # one request: the prerequisites and the ticker query share it
    assert server.hits["/symbols"] == 1
    assert [c.open_time for c in a] == list(range(NOW - 30 * MINUTE, NOW, MINUTE))
    assert [c.open_time for c in b] == list(range(NOW - 20 * MINUTE, NOW, MINUTE))
    assert str(ticker.last) == "101.5"


async def test_a_failed_prerequisite_is_logged_and_the_query_planned_without_it(
        told: list[tuple[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock(start=NOW / 1000)
    server = ToyServer(clock)
    real = server.__call__

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ticker":
            server.hits["/ticker"] += 1
            return httpx.Response(400, json={"error": "no ticker today"})
        return real(request)

    with caplog.at_level(logging.WARNING, logger="tradeflood"):
        async with Session(transport=httpx.MockTransport(serve), clock=clock, store=False) as s:
            [got] = await s.agather(candles(s, 30))
    assert told == [("BTC/USD", None)]  # told, with nothing for the failed turn
    assert [c.open_time for c in got] == list(range(NOW - 30 * MINUTE, NOW, MINUTE))
    [warned] = [r.getMessage() for r in caplog.records if "planned without" in r.getMessage()]
    assert "toy /ticker" in warned and "no ticker today" in warned and "BTC/USD" in warned


async def test_a_prerequisite_said_nonsense_is_logged_and_the_query_planned_without_it(
        told: list[tuple[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock(start=NOW / 1000)
    server = ToyServer(clock)
    real = server.__call__

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ticker":
            return httpx.Response(200, json={"last": "nonsense"})
        return real(request)

    with caplog.at_level(logging.WARNING, logger="tradeflood"):
        async with Session(transport=httpx.MockTransport(serve), clock=clock, store=False) as s:
            [got] = await s.agather(candles(s, 30))
    assert len(got) == 30
    [warned] = [r.getMessage() for r in caplog.records if "planned without" in r.getMessage()]
    assert "toy /ticker" in warned and "the ticker says nonsense" in warned
