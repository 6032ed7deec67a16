"""The candle rules run over a table's columns (tradeflood.checks): the few-kernel pass that
takes a whole valid page at once agrees with the rules row by row, on pages with and without
gaps, broken anywhere."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.candles import CandleSeries
from tradeflood.checks import _table_passes, candle_table_violations, violations
from tradeflood.intervals import interval_ms
from tradeflood.models import Candle

pa = pytest.importorskip("pyarrow")

cents = st.integers(1, 10**7).map(lambda units: Decimal(units).scaleb(-2))  # one scale: 2 places


def bar(t: int, interval: str, o: Decimal, h: Decimal, lo: Decimal, c: Decimal, v: Decimal,
        q: Decimal | None) -> Candle:
    return Candle(exchange="x", symbol="BTC/USDT", native_symbol="BTCUSDT", interval=interval, open_time=t,
                  open=o, high=h, low=lo, close=c, volume=v, quote_volume=q, closed=True)


BREAK: dict[str, Any] = {
    "low zero": {"low": Decimal("0.00")},
    "low above open": lambda c: {"low": c.open + 1},
    "high below close": lambda c: {"high": c.close - Decimal("0.01")},
    "volume": {"volume": Decimal("-0.01")},
    "quote volume": {"quote_volume": Decimal("-1.00")},
    "open time": lambda c: {"open_time": c.open_time + 1},
}


@st.composite
def pages(draw: st.DrawFn) -> tuple[list[Candle], str]:
    interval = draw(st.sampled_from(["1m", "1h", "1w"]))
    step = interval_ms(interval)
    t = (4 * 86_400_000 if interval == "1w" else 0) + draw(st.integers(0, 10**5)) * step
    quotes = draw(st.sampled_from(["all", "none", "some"]))
    out = []
    for i in range(draw(st.integers(1, 40))):
        o, c, x, y = (draw(cents) for _ in range(4))
        lo, h = min(o, c, x), max(o, c, y)
        q = None if quotes == "none" or (quotes == "some" and i % 3) else draw(cents)
        out.append(bar(t, interval, o, h, lo, c, draw(cents), q))
        t += step * (1 + (draw(st.integers(0, 3)) if draw(st.integers(0, 9)) == 0 else 0))  # a gap, at times
    if draw(st.booleans()):
        i = draw(st.integers(0, len(out) - 1))
        change = BREAK[draw(st.sampled_from(sorted(BREAK)))]
        update = change(out[i]) if callable(change) else change
        if "quote_volume" not in update or out[i].quote_volume is not None:
            out[i] = out[i].model_copy(update=update)
    return out, interval


@given(pages())
@settings(max_examples=300, deadline=None)
def test_the_table_pass_agrees_with_the_row_rules(page: tuple[list[Candle], str]) -> None:
    from tradeflood.columnar import to_arrow

    candles, interval = page
    table = to_arrow(candles)
    expected = [(v.row, v.field) for v in violations(candles, interval)]
    assert [(v.row, v.field) for v in violations(CandleSeries.from_table(table), interval)] == expected
    found = candle_table_violations(table, interval)
    assert found is not None and [(v.row, v.field) for v in found] == expected
    cols = {name: table.column(name) for name in ("open", "high", "low", "close", "volume", "quote_volume")}
    step = interval_ms(interval)
    offset = 4 * 86_400_000 if interval == "1w" else 0
    passes = _table_passes(cols, table.column("open_time"), step, offset, interval)
    gapless = all(b.open_time - a.open_time == step for a, b in pairwise(candles))
    one_scale = len({cols[name].type for name in ("open", "high", "low", "close")}) == 1
    assert passes == (not expected and gapless and one_scale)  # the fast pass takes every clean page


def test_the_table_pass_takes_a_page_split_in_chunks_and_leaves_floats_to_the_rows() -> None:
    from tradeflood.columnar import to_arrow

    one = Decimal("1.00")
    page = [bar(i * 60_000, "1m", one, one, one, one, one, None) for i in range(6)]
    table = to_arrow(page)
    split = pa.Table.from_batches(table.to_batches(max_chunksize=4))
    assert split.column("open").num_chunks == 2
    cols = {name: split.column(name) for name in ("open", "high", "low", "close", "volume", "quote_volume")}
    assert _table_passes(cols, split.column("open_time"), 60_000, 0, "1m")
    assert candle_table_violations(split, "1m") == []
    floats = to_arrow(page, decimals="float")
    cols = {name: floats.column(name) for name in ("open", "high", "low", "close", "volume", "quote_volume")}
    assert not _table_passes(cols, floats.column("open_time"), 60_000, 0, "1m")
    assert candle_table_violations(floats, "1m") == []


def test_steps_shorter_than_the_interval_are_not_taken_for_a_gapless_page() -> None:
    from tradeflood.columnar import to_arrow

    one = Decimal("1.00")
    page = [bar(t, "1m", one, one, one, one, one, None) for t in (0, 60_000, 90_000, 120_000)]
    table = to_arrow(page)
    cols = {name: table.column(name) for name in ("open", "high", "low", "close", "volume", "quote_volume")}
    assert not _table_passes(cols, table.column("open_time"), 60_000, 0, "1m")
    assert [(v.row, v.field) for v in candle_table_violations(table, "1m") or []] == [(2, "open_time")]
