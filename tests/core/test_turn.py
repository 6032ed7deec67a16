"""Turn identity, derived values as edges, and cursor-style pagination."""

from __future__ import annotations

from typing import Any

import httpx
from toyvenue import Toy, toy_symbols

from tradeflood import Session, VirtualClock
from tradeflood.planner import QueryPlan, build_plan
from tradeflood.symbols import native_id
from tradeflood.turns import Params, Turn, turn


def test_identity_is_the_canonical_request_key() -> None:
    api, other = Toy(), Toy(urls={"rest": "http://127.0.0.1:1"})
    a = api.candles("BTCUSD", 1, 2, 10)
    b = other.candles(symbol="BTCUSD", start=1, end=2, limit=10)
    assert a == b and hash(a) == hash(b)
    assert a.key == ("toy", "rest", "GET", "/candles",
                     (("end", "2"), ("limit", "10"), ("start", "1"), ("symbol", "BTCUSD")))
    assert a != api.candles("BTCUSD", 1, 2, 11)
    assert a.weight == 1 and a.group == "market"


def test_calling_a_turn_method_sends_nothing() -> None:
    sent: list[httpx.Request] = []
    Session(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)))
    Toy().candles("BTCUSD", 1, 2, 10)
    assert sent == []


def test_derived_parameter_makes_an_edge_and_dedups() -> None:
    api = Toy()
    listing = api.symbols()
    sym = listing.derive(toy_symbols).derive(native_id, "BTC/USD")
    t1, t2 = api.candles(sym, 1, 2, 10), api.candles(sym, 3, 4, 10)
    assert t1.deps == (listing,) and t2.deps == (listing,)
    again = api.symbols().derive(toy_symbols).derive(native_id, "BTC/USD")
    assert api.candles(again, 1, 2, 10) == t1  # same derivation, same node
    assert api.candles(listing.derive(toy_symbols).derive(native_id, "ETH/USD"), 1, 2, 10) != t1
    plan = build_plan([QueryPlan(None, None, [t1, t2])])  # type: ignore[arg-type]
    assert plan.graph.number_of_nodes() == 3
    assert set(plan.graph.edges) == {(listing.key, t1.key), (listing.key, t2.key)}
    assert plan.turns[0] == listing


class Cursor(Toy):
    """A connector variant with a cursor-paged endpoint (the next page's id comes from the last one)."""

    @turn("/fills", group="market")
    def fills(self, before: int | None = None) -> Params:
        return {"before": before}


def next_fills(page: Turn, payload: Any) -> Turn | None:
    return page.with_params(before=payload["next"]) if payload["next"] else None


async def test_cursor_pagination_expands_after_each_page() -> None:
    pages = {None: {"rows": [5, 4], "next": 4}, "4": {"rows": [3, 2], "next": 2},
             "2": {"rows": [1], "next": None}}
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        before = request.url.params.get("before")
        seen.append(before)
        return httpx.Response(200, json=pages[before])

    first = Cursor().fills().paginate(next_fills, max_pages=10)
    assert first.key != Cursor().fills().key  # paginating is part of the identity
    clock = VirtualClock()
    async with Session(transport=httpx.MockTransport(handler), clock=clock) as s:
        executor = s.executor()
        results, errors = await executor.run(build_plan([QueryPlan(None, None, [first])]))  # type: ignore[arg-type]
    assert errors == {}
    assert [p["rows"] for p in results[first.key].payload] == [[5, 4], [3, 2], [1]]
    assert seen == [None, "4", "2"]


async def test_following_pages_keep_the_first_pages_derived_values() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        if request.url.path == "/symbols":
            return httpx.Response(200, json=["BTCUSD"])
        more = request.url.params.get("start") == "1"
        return httpx.Response(200, json={"rows": [1], "next": 2 if more else None})

    api = Toy()
    native = api.symbols().derive(toy_symbols).derive(native_id, "BTC/USD")

    def next_candles(page: Turn, payload: Any) -> Turn | None:
        return page.with_params(start=payload["next"]) if payload["next"] else None

    first = api.candles(native, 1, 9, 5).paginate(next_candles)
    async with Session(transport=httpx.MockTransport(handler), clock=VirtualClock()) as s:
        _, errors = await s.executor().run(build_plan([QueryPlan(None, None, [first])]))  # type: ignore[arg-type]
    assert errors == {}
    assert [p["symbol"] for p in seen[1:]] == ["BTCUSD", "BTCUSD"]
    assert [p["start"] for p in seen[1:]] == ["1", "2"]
