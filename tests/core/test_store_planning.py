"""The planner asks the store first: re-runs send nothing, extensions fetch only new pages."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest
from toyvenue import MINUTE, ToyServer

from tradeflood import Session, VirtualClock
from tradeflood.models import Candle

NOW = 1_704_067_200_000 + 7 * MINUTE  # 7 minutes into a 10-minute page: that page holds open candles


class MemoryStore:
    """An in-memory stand-in with the store's contract: closed candles, covered windows."""

    def __init__(self) -> None:
        self.candles: dict[int, Candle] = {}
        self.windows: list[tuple[int, int]] = []
        self.writes: list[tuple[int, int]] = []

    def missing(self, exchange: str, symbol: str, interval: str, start: int,
                end: int) -> list[tuple[int, int]]:
        holes = [t for t in range(start, end, MINUTE) if not any(a <= t < b for a, b in self.windows)]
        return [(t, t + MINUTE) for t in holes]

    def read(self, exchange: str, symbol: str, interval: str, start: int, end: int) -> list[Candle]:
        return [self.candles[t] for t in sorted(self.candles) if start <= t < end]

    def write(self, exchange: str, symbol: str, interval: str, start: int, end: int,
              candles: Sequence[Candle], *, now_ms: int | None = None) -> int:
        assert all(c.closed for c in candles) and end <= NOW
        self.writes.append((start, end))
        self.windows.append((start, end))
        for c in candles:
            self.candles[c.open_time] = c
        return len(candles)


def _session(server: ToyServer, clock: VirtualClock, store: MemoryStore) -> Session:
    return Session(transport=httpx.MockTransport(server), clock=clock, store=store)


def _q(s: Session, start: int, end: int) -> object:
    return s.query(Candle, exchange="toy", symbol="BTC/USD", interval="1m", start=start, end=end)


async def test_rerun_is_answered_by_the_store_and_extension_fetches_only_new_pages() -> None:
    clock, store = VirtualClock(start=NOW / 1000), MemoryStore()
    server = ToyServer(clock)
    first_range = (NOW - 47 * MINUTE, NOW - 12 * MINUTE)
    async with _session(server, clock, store) as s:
        [first] = await s.agather(_q(s, *first_range))
    assert server.hits["/candles"] == 4  # pages -47.., -37.., -27.., -17.. (on the 10-minute grid)
    assert len(store.writes) == 4

    server.hits.clear()
    async with _session(server, clock, store) as s:
        plan = s.plan(_q(s, *first_range))
        assert plan.requests == 0 and "pages from the store 4" in plan.explain()
        [again] = await s.agather(_q(s, *first_range))
    assert sum(server.hits.values()) == 0  # not even the instrument list: nothing depends on it
    assert list(again) == list(first) and again.gaps == []

    async with _session(server, clock, store) as s:
        [longer] = await s.agather(_q(s, NOW - 47 * MINUTE, NOW + MINUTE))
    # The first run recorded whole closed pages, so only the page holding the open candle is fetched.
    assert server.hits["/candles"] == 1
    assert [c.open_time for c in longer] == list(range(NOW - 47 * MINUTE, NOW + 1, MINUTE))
    assert longer[-1].closed is False  # the open candle is served...
    assert NOW not in store.candles  # ...but never recorded


async def test_a_page_with_holes_is_not_recorded() -> None:
    clock, store = VirtualClock(start=NOW / 1000), MemoryStore()
    server = ToyServer(clock, missing=(NOW - 33 * MINUTE, NOW - 31 * MINUTE))
    async with _session(server, clock, store) as s:
        [series] = await s.agather(_q(s, NOW - 40 * MINUTE, NOW - 20 * MINUTE))
    assert len(series.gaps) == 1
    assert not any(a <= NOW - 33 * MINUTE < b for a, b in store.writes)  # asked again next time
    # a lone query pages from its own start: [-40m, -30m) holds the hole, [-30m, -20m) is complete
    assert store.writes == [(NOW - 30 * MINUTE, NOW - 20 * MINUTE)]


def test_a_session_closes_the_store_it_opened(tmp_path: object) -> None:
    from pathlib import Path

    from tradeflood.store import CandleStore

    path = Path(str(tmp_path)) / "c.sqlite3"
    s = Session(store=path)
    store = s.store
    assert isinstance(store, CandleStore)
    s.close()
    with pytest.raises(Exception, match="closed"):
        store.missing("toy", "BTC/USD", "1m", 0, MINUTE)
    given = MemoryStore()
    with Session(store=given) as s2:
        assert s2.store is given  # a store handed in is the caller's to close
