"""Bar arithmetic: every time falls in exactly one bar, weeks open on Mondays, months on the 1st."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from tradeflood.candles import expected_open_times
from tradeflood.intervals import INTERVALS, bar_open, interval_end

TIMES = st.integers(1_500_000_000_000, 2_000_000_000_000)


@given(t=TIMES, interval=st.sampled_from(list(INTERVALS)))
def test_every_time_falls_in_the_bar_that_opens_at_bar_open(t: int, interval: str) -> None:
    opened = bar_open(t, interval)
    assert opened <= t < interval_end(opened, interval)
    assert bar_open(opened, interval) == opened
    day = datetime.fromtimestamp(opened / 1000, tz=UTC)
    if interval == "1w":
        assert day.weekday() == 0 and (day.hour, day.minute) == (0, 0)
    if interval == "1M":
        assert (day.day, day.hour) == (1, 0)


@given(a=TIMES, span=st.integers(1, 400 * 86_400_000), interval=st.sampled_from(["1h", "1d", "1w", "1M"]))
def test_expected_open_times_are_the_bars_opening_in_the_range(a: int, span: int, interval: str) -> None:
    times = list(expected_open_times(a, a + span, interval, now_ms=a + span))
    assert all(a <= t < a + span and bar_open(t, interval) == t for t in times)
    assert all(interval_end(x, interval) == y for x, y in pairwise(times))
    first = a if bar_open(a, interval) == a else interval_end(bar_open(a, interval), interval)
    assert (times == []) if first >= a + span else (times[0] == first)
