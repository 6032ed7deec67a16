"""A trade-history page cut short mid-window (Bitget, OKX) no longer ends its window silently:
the next page is asked, every trade of the range comes once; a window that is really quiet at
its start costs nothing more than before."""

from __future__ import annotations

from typing import Any

import pytest

import tradeflood.trades
from tradeflood import Query, VirtualClock, registry
from tradeflood.models import Trade
from tradeflood.testing._derived import trades_between
from tradeflood.trades import cut_short

from .conftest import HOUR, MINUTE, NOW, make, session

PATH = {"okx": "/api/v5/market/history-trades", "bitget": "/api/v2/spot/market/fills-history"}
#: A param and value only a window's first page has (OKX's first page asks by time, ``type=2``).
FIRST_PAGE = {"okx": ("type", "2"), "bitget": ("startTime", None)}
CURSOR = {"okx": "after", "bitget": "idLessThan"}


def q(venue: str, **kw: object) -> Query:
    return registry.resolve(Query(Trade, exchange=venue, **kw), NOW)  # type: ignore[arg-type]


def _cut_first_pages(venue: Any, name: str, keep: int) -> list[int]:
    """Make the venue answer every window's first page with only its ``keep`` newest trades."""
    route = venue.routes[PATH[name]]
    cut: list[int] = []

    def serve(call: Any) -> Any:
        answer = route(call)
        param, value = FIRST_PAGE[name]
        first = call.get(param) is not None if value is None else call.get(param) == value
        if name == "bitget":  # its later pages keep startTime and add the cursor
            first = first and call.get(CURSOR[name]) is None
        if first and isinstance(answer, list) and len(answer) > keep:
            cut.append(len(answer) - keep)
            return answer[:keep]  # newest first: the older part of the page is lost
        return answer

    venue.routes[PATH[name]] = serve
    return cut


@pytest.mark.parametrize("name, keep", [("okx", 40), ("bitget", 300)])
async def test_a_page_cut_short_mid_window_is_followed(name: str, keep: int, clock: VirtualClock) -> None:
    venue = make(name, clock)
    start, end = NOW - 2 * HOUR - 17 * MINUTE, NOW - 5 * MINUTE
    cut = _cut_first_pages(venue, name, keep)
    async with session(venue, clock) as s:
        [got] = await s.agather(q(name, symbol="BTC/USDT", start=start, end=end))
    assert cut and sum(cut) > 0  # the venue did cut pages short
    inst = venue.market.find("BTCUSDT", "spot")
    assert inst is not None
    want = trades_between(venue.market, inst, start, end, NOW)
    assert [t.id for t in got] == [str(t.id) for t in want] and got.gaps == []
    assert [(t.timestamp, t.price, t.amount) for t in got[::97]] == \
        [(t.ts_ms, t.price, t.size) for t in want[::97]]


@pytest.mark.parametrize("name", ["okx", "bitget"])
async def test_quiet_window_starts_cost_no_more_than_before(name: str, clock: VirtualClock,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    start, end = NOW - 3 * HOUR - 17 * MINUTE, NOW - 5 * MINUTE
    counts = []
    for doubt in (float("inf"), tradeflood.trades.SHORT_PAGE_EXPECTED):  # never doubt, then as shipped
        monkeypatch.setattr(tradeflood.trades, "SHORT_PAGE_EXPECTED", doubt)
        venue = make(name, clock)
        async with session(venue, clock) as s:
            [got] = await s.agather(q(name, symbol="BTC/USDT", start=start, end=end))
        counts.append((venue.stats.by_path[PATH[name]], len(got)))
    (before, n_before), (after, n_after) = counts
    assert n_before == n_after > 0 and after <= before + 1, counts


def test_a_short_page_is_doubted_by_its_own_rate() -> None:
    second = 1000
    times = [100 * second - k * second for k in range(20)]  # 20 trades, one a second, down to 81 s
    assert cut_short(times, start=0)                        # 81 s before it: ~81 trades expected
    assert not cut_short(times, start=79 * second)          # 2 s: quiet by chance
    assert not cut_short([5 * second], start=0)             # one trade shows no rate
    assert not cut_short(times, start=90 * second)          # its oldest is before the start
    assert cut_short(times, start=70 * second, expected=10) and not cut_short(times, start=70 * second,
                                                                                expected=12)
