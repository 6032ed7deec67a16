"""Property: any sequence of window writes leaves exactly the union of what was written."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storedata import MINUTE, candle

from tradeflood.store import CandleStore
from tradeflood.store._ranges import complement, union

KEY = ("bitget", "BTC/USDT", "1m")
BARS = 3000  # spans three blocks of 1024


Write = tuple[int, int, list[int], int | None]


@st.composite
def window_write(draw: st.DrawFn) -> Write:
    """(start, end, closed bars, open bar or None), in bars; the open bar, if any, comes last."""
    a = draw(st.integers(0, BARS - 1))
    b = draw(st.integers(a + 1, min(BARS, a + 1500)))
    open_at = draw(st.one_of(st.none(), st.integers(a, b - 1)))
    last = b if open_at is None else open_at
    holes = draw(st.sets(st.integers(a, max(a, last - 1)), max_size=5))
    closed = [t for t in range(a, last) if t not in holes]
    return a, b, closed, open_at


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(window_write(), min_size=1, max_size=8))
def test_store_holds_the_union_of_closed_windows(writes: list[Write]) -> None:
    with tempfile.TemporaryDirectory() as folder, CandleStore(Path(folder) / "c.sqlite3") as store:
        stored: set[int] = set()
        known: list[tuple[int, int]] = []
        for a, b, closed, open_at in writes:
            batch = [candle(t * MINUTE) for t in closed]
            if open_at is not None:
                batch.append(candle(open_at * MINUTE, closed=False))
            inserted = store.write(*KEY, a * MINUTE, b * MINUTE, batch)
            assert inserted == len(set(closed) - stored)
            stored |= set(closed)
            # Covered: up to the open bar, and never past the newest closed bar stored.
            limit = b if open_at is None else open_at
            limit = min(limit, max(stored) + 1) if stored else a
            if a < limit:
                known.append((a * MINUTE, limit * MINUTE))

        end = BARS * MINUTE
        assert store.missing(*KEY, 0, end) == complement(0, end, known)
        assert store.covered(*KEY, 0, end) == (union(known) == [(0, end)])
        got = store.read(*KEY, 0, end)
        assert [c.open_time for c in got] == sorted(t * MINUTE for t in stored)
        assert all(c.closed for c in got)
        assert got == [candle(t * MINUTE) for t in sorted(stored)]
        # Any sub-range reads the same as slicing the whole.
        a, b = sorted((writes[0][0], writes[-1][1]))
        assert store.read(*KEY, a * MINUTE, b * MINUTE) == [
            c for c in got if a * MINUTE <= c.open_time < b * MINUTE]
