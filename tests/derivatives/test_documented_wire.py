"""Venue behaviours that an earlier guess got wrong and the venues' documentation settles
(docs/venue-guesses.md lists every one, with its source)."""

from __future__ import annotations

from typing import Any

from tradeflood import Query, VirtualClock, registry
from tradeflood.models import Trade

from .conftest import HOUR, MINUTE, NOW, make, session

HISTORY_TRADES = "/api/v5/market/history-trades"


def q(venue: str, **kw: object) -> Query:
    return registry.resolve(Query(Trade, exchange=venue, **kw), NOW)  # type: ignore[arg-type]


async def test_okx_trade_windows_are_asked_by_time_with_after_alone(clock: VirtualClock) -> None:
    """OKX "GET / Trades history": ``before`` takes a tradeId only ("Do not support timestamp
    for pagination"), so a window's first page is ``type=2`` with ``after`` = its end and no
    ``before``; later pages go on by id (``type=1``)."""
    venue = make("okx", clock)
    route = venue.routes[HISTORY_TRADES]
    asked: list[dict[str, str]] = []

    def record(call: Any) -> Any:
        asked.append(dict(call.query))
        return route(call)

    venue.routes[HISTORY_TRADES] = record
    start, end = NOW - 2 * HOUR - 17 * MINUTE, NOW - 5 * MINUTE
    async with session(venue, clock) as s:
        [got] = await s.agather(q("okx", symbol="BTC/USDT", start=start, end=end))
    midnight = NOW - NOW % (24 * HOUR)
    by_time = [a for a in asked if a.get("type") == "2"]
    assert sorted(int(a["after"]) for a in by_time) == [midnight - 2 * HOUR, midnight - HOUR, end]
    assert all("before" not in a for a in asked)
    by_id = [a for a in asked if a.get("type") == "1"]
    assert by_id and all(a["after"].isdigit() and int(a["after"]) < 10**12 for a in by_id)  # trade ids
    assert got[0].timestamp >= start and got[-1].timestamp < end and got.gaps == []
    assert [int(t.id) for t in got] == list(range(int(got[0].id), int(got[-1].id) + 1))


def test_okx_simulator_ignores_a_timestamp_before_on_time_pages(clock: VirtualClock) -> None:
    """The simulator plays the documented rule: on ``type=2`` a ``before`` timestamp bounds
    nothing, so the page is the newest 100 trades older than ``after``."""
    venue = make("okx", clock)
    after = NOW - HOUR
    reply = venue.handle("GET", HISTORY_TRADES, {"instId": "BTC-USDT", "type": "2", "after": str(after),
                                                 "before": str(after - 2_000), "limit": "100"}, "127.0.0.1")
    rows = reply.json()["data"]
    assert reply.status == 200 and len(rows) == 100
    times = [int(r["ts"]) for r in rows]
    assert times == sorted(times, reverse=True) and times[0] < after and times[-1] < after - 2_000
