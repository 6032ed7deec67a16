"""candle_rows_table: any venue's candle rows into a Candle table from a CandleRows layout, equal
to the venue's model parse, which decides every page the columns do not take."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.columnar import CandleRows, candle_rows_table, from_arrow, to_arrow
from tradeflood.errors import PayloadError
from tradeflood.models import Candle

pa = pytest.importorskip("pyarrow", reason="columnar results need pyarrow (pip install pyarrow)")

MINUTE = 60_000
NOW = 100 * MINUTE + 5
NAMES: dict[str, Any] = {"exchange": "example", "symbol": "BTC/USDT", "native_symbol": "BTCUSDT",
                         "interval": "1m"}
# An example venue: [close flag, open time (int), "o", "h", "l", "c", "vol", "quote", "trades"], newest first.
FLAGGED = CandleRows(width=9, time=1, values=(2, 3, 4, 5, 6, 7), checked=(8,), int_times=True, confirm=0,
                     newest_first=True)
# Another: ["open time", "o", "h", "l", "c", "vol", "quote"], oldest first, closed by the bar's end.
PLAIN = CandleRows(width=7, values=(1, 2, 3, 4, 5, 6))


def flagged_models(rows: Any) -> list[Candle]:
    """The example venue's model parse (what a binding's parse_candles is), PayloadError for bad rows."""
    if type(rows) is not list:
        raise PayloadError("example", "candles", "expected a list", rows)
    out = []
    for i, row in enumerate(rows):
        try:
            if row[0] not in ("0", "1") or type(row[1]) is not int or type(row[8]) is not str:
                raise ValueError
            values = [Decimal(v) for v in row[2:8]]
            Decimal(row[8])
            if not all(v.is_finite() for v in values):
                raise ValueError
        except (ValueError, TypeError, ArithmeticError, IndexError):
            raise PayloadError("example", "candles", f"candle row {i} cannot be read", row) from None
        out.append(Candle(**NAMES, open_time=row[1], open=values[0], high=values[1], low=values[2],
                          close=values[3], volume=values[4], quote_volume=values[5], closed=row[0] == "1"))
    return sorted(out, key=lambda c: c.open_time)


def flagged(rows: Any) -> pa.Table:
    return candle_rows_table(rows, FLAGGED, lambda: flagged_models(rows), **NAMES)


prices = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999"), places=3).map(str)


@given(st.lists(st.tuples(prices, prices, st.booleans()), min_size=1, max_size=30), st.integers(0, 40))
@settings(max_examples=100, deadline=None)
def test_a_layout_gives_the_model_parse(bars: list[tuple[str, str, bool]], start: int) -> None:
    rows = [["1" if done else "0", (start + i) * MINUTE, a, b, a, b, b, a, "7"]
            for i, (a, b, done) in enumerate(bars)][::-1]
    table = flagged(rows)
    models = flagged_models(rows)
    assert table.equals(to_arrow(models))
    assert from_arrow(table, Candle) == models
    assert table.column("closed").to_pylist() == [done for _, _, done in bars]


@pytest.mark.parametrize("spoil", ["flag", "time", "value", "checked", "order", "short"])
def test_what_the_columns_refuse_the_model_parse_decides(spoil: str) -> None:
    rows = [["1", t * MINUTE, "10", "11", "9", "10.5", "2", "21", "7"] for t in (3, 2, 1)]
    if spoil == "order":  # valid, out of order: the model parse sorts
        rows[0], rows[1] = rows[1], rows[0]
        assert flagged(rows).column("open_time").cast(pa.int64()).to_pylist() == [MINUTE, 2 * MINUTE,
                                                                                   3 * MINUTE]
        return
    bad = {"flag": (0, "2"), "time": (1, "60000"), "value": (4, "NaN"), "checked": (8, "x")}
    if spoil == "short":
        del rows[1][8]
    else:
        at, value = bad[spoil]
        rows[1][at] = value
    with pytest.raises(PayloadError, match="candle row 1 cannot be read"):
        flagged(rows)


def test_closed_by_the_bar_end_and_the_kept_columns_only() -> None:
    rows = [[str(t * MINUTE), "1.5", "2", "1", "1.75", "3", "4.50"] for t in (98, 99, 100)]
    table = candle_rows_table(rows, PLAIN, lambda: [], received_ms=NOW, **NAMES)
    assert table.column("closed").to_pylist() == [True, True, False]  # 100m's bar ends after NOW
    assert table.column("quote_volume").to_pylist() == [Decimal("4.50")] * 3
    assert table.column("exchange").to_pylist() == ["example"] * 3
    assert candle_rows_table([], PLAIN, lambda: [], received_ms=NOW, **NAMES).num_rows == 0


def test_received_ms_is_needed_without_a_close_flag() -> None:
    with pytest.raises(TypeError, match="received_ms"):
        candle_rows_table([], PLAIN, lambda: [], **NAMES)
