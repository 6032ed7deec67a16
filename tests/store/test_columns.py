"""The store's column paths: candle tables written as blocks and read back as table-backed series."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from storedata import MINUTE, bars, candle

from tradeflood.candles import CandleSeries
from tradeflood.columnar import to_arrow
from tradeflood.store import CandleStore

pa = pytest.importorskip("pyarrow", reason="the store's column paths need pyarrow")

KEY = ("bitget", "BTC/USDT", "1m")


def as_table(candles: list) -> CandleSeries:  # type: ignore[type-arg]
    return CandleSeries.from_table(to_arrow(candles))


def test_a_candle_table_is_written_and_read_back_as_columns(tmp_path: Path) -> None:
    written = bars(0, 3000 * MINUTE)
    with CandleStore(tmp_path / "c.sqlite3") as store:
        assert store.write(*KEY, 0, 3000 * MINUTE, as_table(written)) == 3000
        assert store.missing(*KEY, 0, 3000 * MINUTE) == []
        series = store.read_series(*KEY, 100 * MINUTE, 2100 * MINUTE)
        models = store.read(*KEY, 0, 3000 * MINUTE)
    assert series.table is not None and len(series) == 2000
    assert series.to_arrow().equals(to_arrow(written[100:2100]))  # same scales, same values
    assert series == written[100:2100] and models == written
    assert series[0].open == written[100].open and series[-1].quote_volume == written[2099].quote_volume
    assert all(c.closed for c in series) and series[5].native_symbol == "BTCUSDT"


def test_a_table_merges_into_blocks_written_from_models(tmp_path: Path) -> None:
    with CandleStore(tmp_path / "c.sqlite3") as store:
        store.write(*KEY, 0, 700 * MINUTE, bars(0, 700 * MINUTE))
        inserted = store.write(*KEY, 500 * MINUTE, 2500 * MINUTE, as_table(bars(500 * MINUTE, 2500 * MINUTE)))
        back = store.read_series(*KEY, 0, 10**9)
    assert inserted == 1800  # 500..699 were there already
    assert back == bars(0, 2500 * MINUTE) and back.table is not None


def test_an_open_candle_in_a_table_is_not_stored(tmp_path: Path) -> None:
    candles = [*bars(0, 9 * MINUTE), candle(9 * MINUTE, closed=False)]
    with CandleStore(tmp_path / "c.sqlite3") as store:
        assert store.write(*KEY, 0, 10 * MINUTE, as_table(candles)) == 9
        assert store.missing(*KEY, 0, 10 * MINUTE) == [(9 * MINUTE, 10 * MINUTE)]
        assert [c.open_time for c in store.read_series(*KEY, 0, 10 * MINUTE)] == list(range(0, 9 * MINUTE,
                                                                                          MINUTE))


def test_a_table_of_another_series_is_refused(tmp_path: Path) -> None:
    with CandleStore(tmp_path / "c.sqlite3") as store, pytest.raises(ValueError, match="ETH/USDT"):
        store.write(*KEY, 0, 10 * MINUTE, as_table(bars(0, 10 * MINUTE, symbol="ETH/USDT")))


def test_values_decimal128_cannot_keep_come_back_as_exact_models(tmp_path: Path) -> None:
    fine = Decimal("0.0000000000000000000123")  # 22 decimals: stored as text
    odd = [candle(0).model_copy(update={"volume": fine}), candle(MINUTE)]
    with CandleStore(tmp_path / "c.sqlite3") as store:
        store.write(*KEY, 0, 2 * MINUTE, odd)
        series = store.read_series(*KEY, 0, 2 * MINUTE)
    assert series.table is None and series == odd and str(series[0].volume) == "1.23E-20"


def test_without_pyarrow_the_series_holds_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tradeflood.columnar._candles as candles_module

    monkeypatch.setattr(candles_module, "arrow_available", lambda: False)
    with CandleStore(tmp_path / "c.sqlite3") as store:
        store.write(*KEY, 0, 5 * MINUTE, bars(0, 5 * MINUTE))
        series = store.read_series(*KEY, 0, 5 * MINUTE)
    assert series.table is None and series == bars(0, 5 * MINUTE)
    assert [str(c.open) for c in series] == [str(c.open) for c in bars(0, 5 * MINUTE)]
