"""The fetch pipeline: replies are parsed as they arrive and dropped once parsed."""

from __future__ import annotations

from typing import Any

import httpx
from toyvenue import MINUTE, ToyCandles, ToyServer

from tradeflood import Session, VirtualClock
from tradeflood.binding import ParseContext
from tradeflood.models import Candle
from tradeflood.query import Query
from tradeflood.turns import Turn

NOW = 1_704_067_200_000


async def test_pages_are_parsed_while_later_pages_still_wait_on_the_rate_limit(monkeypatch: Any) -> None:
    clock = VirtualClock(start=NOW / 1000)
    server = ToyServer(clock)
    sent_before_parse: list[int] = []
    parse = ToyCandles.parse

    def counting(self: ToyCandles, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Any:
        sent_before_parse.append(server.hits["/candles"] + server.hits["/history"])
        return parse(self, query, turn, payload, ctx)

    monkeypatch.setattr(ToyCandles, "parse", counting)
    async with Session(transport=httpx.MockTransport(server), clock=clock, store=False) as s:
        [candles] = await s.agather(s.query(Candle, exchange="toy", symbol="BTC/USD", interval="1m",
                                            start=NOW - 90 * MINUTE, end=NOW))
    pages = server.hits["/candles"] + server.hits["/history"]
    assert pages == 9 and len(sent_before_parse) == pages  # toy limit: 10 requests a second
    assert sent_before_parse[0] < pages  # the first page was parsed before the last was sent
    assert [c.open_time for c in candles] == list(range(NOW - 90 * MINUTE, NOW, MINUTE))


async def test_a_run_keeps_only_the_replies_other_turns_derive_from() -> None:
    clock = VirtualClock(start=NOW / 1000)
    server = ToyServer(clock)
    handed: list[Turn] = []
    async with Session(transport=httpx.MockTransport(server), clock=clock, store=False) as s:
        query = s.query(Candle, exchange="toy", symbol="BTC/USD", interval="1m", start=NOW - 30 * MINUTE,
                        end=NOW)
        plan = s.plan(query)
        results, errors = await s.executor().run(plan, on_result=lambda turn, result: handed.append(turn))
    assert errors == {} and len(handed) == plan.graph.number_of_nodes() == 4  # symbols + 3 pages
    assert [key[3] for key in results] == ["/symbols"]  # the pages' replies went to on_result only
