"""A CandleSeries backed by a candle table: a sequence of Candles built as read, columns for free."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.bindings.bitget import candle_columns_bitget, parse_candles
from tradeflood.candles import CandleSeries, Gap
from tradeflood.columnar import to_arrow
from tradeflood.columnar._candles import merge_candle_tables
from tradeflood.models import Candle

pa = pytest.importorskip("pyarrow", reason="columnar results need pyarrow (pip install pyarrow)")

NAMES = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": "1m"}
MINUTE = 60_000


def rows_at(start: int, n: int) -> list[list[str]]:
    """``n`` Bitget spot rows from ``start``; prices with one or two decimals, so columns rescale."""
    out = []
    for i in range(n):
        p = Decimal(4_200_000 + 7 * i).scaleb(-2)
        out.append([str(start + i * MINUTE), str(p), str(p + 1), str(p - Decimal("0.5")), str(p),
                    "1.5", "63000.75", "63000.75"])
    return out


@pytest.fixture
def page() -> tuple[list[list[str]], int]:
    start = 1_704_067_200_000
    return rows_at(start, 50), start + 60 * MINUTE


def series_and_models(rows: list[list[str]], now: int) -> tuple[CandleSeries, list[Candle]]:
    table = candle_columns_bitget(rows, received_ms=now, spot=True, **NAMES)
    return (CandleSeries.from_table(table, [Gap(0, MINUTE, 1)]),
            parse_candles(rows, received_ms=now, spot=True, **NAMES))


def test_a_table_backed_series_reads_like_the_list_of_models(page: tuple[Any, int]) -> None:
    series, models = series_and_models(*page)
    assert len(series) == 50 and series.table is not None and bool(series)
    assert series.gaps == [Gap(0, MINUTE, 1)]
    assert series == models and models == series and (series != models) is False
    twin, _ = series_and_models(*page)
    assert twin == series_and_models(*page)[0] and list(series) + list(twin) == models + models
    assert series[0] == models[0] and series[-1] == models[-1] and series[10:13] == models[10:13]
    assert series[3].open_time == 1_704_067_200_000 + 3 * MINUTE
    assert series[3].open == Decimal("42000.21") and series[3].low == Decimal("41999.71")
    assert series[0].open == Decimal("42000") and str(series[0].open) == "42000.00"  # the column's scale
    assert [c.open_time for c in series] == [c.open_time for c in models]
    assert list(reversed(series)) == models[::-1]
    assert models[7] in series and series.index(models[7]) == 7 and series.count(models[7]) == 1
    assert repr(series) == ("<CandleSeries 50 rows 2024-01-01T00:00:00+00:00 .. "
                            "2024-01-01T00:49:00+00:00, 1 gaps>")
    assert all(c.closed for c in series) and series[0].close_time == series[1].open_time


def test_to_arrow_is_the_table_itself_and_equals_the_models_table(page: tuple[Any, int]) -> None:
    series, models = series_and_models(*page)
    table = series.table
    assert series.to_arrow() is table  # no copy, no models built
    assert series._chunk is None  # no model built
    assert table is not None and table.equals(to_arrow(models))
    assert series.to_arrow(decimals="float").column("open").to_pylist() == [float(c.open) for c in models]
    assert series.to_polars()["open"].to_list() == [c.open for c in models]
    assert series.to_pandas()["close"].tolist() == [c.close for c in models]
    _ = series[0]  # building the models keeps the table: nothing changed
    assert series.to_arrow() is table


def test_a_series_is_immutable_and_slices_stay_columns(page: tuple[Any, int]) -> None:
    series, models = series_and_models(*page)
    assert not hasattr(series, "append") and not hasattr(series, "sort")
    with pytest.raises(TypeError):
        series[0] = models[0]  # type: ignore[index]
    tail = series[10:]
    assert tail.table is not None and tail == models[10:]
    assert tail.times() == [c.open_time for c in models[10:]]
    assert series[::-1] == models[::-1] and series[::-1].table is None
    changed = list(series)
    changed.sort(key=lambda c: -c.open_time)
    assert changed == models[::-1] and series == models  # a list to change; the series is as it was
    with pytest.raises(IndexError):
        series[50]


def test_a_series_of_models_reads_the_same(page: tuple[Any, int]) -> None:
    series, models = series_and_models(*page)
    plain = CandleSeries(models, series.gaps)
    assert plain.table is None and plain == series and repr(plain) == repr(series)
    assert plain.to_arrow().equals(series.to_arrow()) and plain.times() == series.times()
    assert plain.between(models[3].open_time, models[5].open_time) == models[3:5]


def test_copies_and_pickles_keep_candles_and_gaps(page: tuple[Any, int]) -> None:
    series, models = series_and_models(*page)
    again = pickle.loads(pickle.dumps(series))
    assert type(again) is CandleSeries and again == models and again.gaps == series.gaps
    assert copy.copy(series) == models and list(series) == models and len(series) == 50
    assert pickle.loads(pickle.dumps(series[:0])) == [] and isinstance(series, Sequence)


def test_an_empty_table_is_an_empty_series() -> None:
    series = CandleSeries.from_table(candle_columns_bitget([], received_ms=0, spot=True, **NAMES))
    assert len(series) == 0 and not series and series == [] and list(series) == []


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 12)), min_size=1, max_size=6))
def test_merged_pages_hold_each_open_time_once_in_order(spans: list[tuple[int, int]]) -> None:
    start = 1_704_067_200_000
    tables, models = [], {}
    for offset, n in spans:
        rows = rows_at(start + offset * MINUTE, n)
        tables.append(candle_columns_bitget(rows, received_ms=start + 99 * MINUTE, spot=True, **NAMES))
        for c in parse_candles(rows, received_ms=start + 99 * MINUTE, spot=True, **NAMES):
            models[c.open_time] = c  # a later page wins, as when pages are merged
    lo, hi = start + 5 * MINUTE, start + 25 * MINUTE
    merged = CandleSeries.from_table(merge_candle_tables(tables, lo, hi))
    assert merged == [models[t] for t in sorted(models) if lo <= t < hi]
