"""The bulk candle path: raw venue rows into columns, equal to the model parse, errors naming the row."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.bindings.binance import candle_columns_binance, parse_klines
from tradeflood.bindings.bitget import candle_columns_bitget, parse_candles
from tradeflood.columnar import (
    concat_candle_tables,
    from_arrow,
    to_arrow,
)
from tradeflood.errors import PayloadError
from tradeflood.models import Candle

pa = pytest.importorskip("pyarrow", reason="columnar results need pyarrow (pip install pyarrow)")

NAMES = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": "1m"}


def bitget(rows: Any, now: int, spot: bool = True, **kw: Any) -> tuple[pa.Table, list[Candle]]:
    args = {**NAMES, "received_ms": now, "spot": spot, **kw}
    decimals = args.pop("decimals", "exact")
    return candle_columns_bitget(rows, decimals=decimals, **args), parse_candles(rows, **args)


@pytest.mark.parametrize("kind", ["spot", "mix"])
def test_bitget_bulk_equals_the_model_parse(bitget_payloads: dict[str, Any], kind: str) -> None:
    rows, now = bitget_payloads[kind], bitget_payloads["now"]
    table, candles = bitget(rows, now, spot=kind == "spot")
    assert table.num_rows == len(candles) == 1000
    assert table.equals(to_arrow(candles))  # same schema, scales and values
    assert from_arrow(table, Candle) == candles  # field by field, close_time and closed included
    assert table.column("open").type == pa.decimal128(38, 2 if kind == "spot" else 1)
    assert table.column("closed").to_pylist()[-1] is False and all(table.column("closed").to_pylist()[:-1])


def test_bitget_bulk_float_option(bitget_payloads: dict[str, Any]) -> None:
    rows, now = bitget_payloads["spot"], bitget_payloads["now"]
    table, candles = bitget(rows, now, decimals="float")
    assert table.column("open").type == pa.float64()
    assert table.column("high").to_pylist() == [float(c.high) for c in candles]
    assert table.equals(to_arrow(candles, decimals="float"))


def test_binance_bulk_equals_the_model_parse(binance_payload: dict[str, Any]) -> None:
    rows, now = binance_payload["rows"], binance_payload["now"]
    args = {**NAMES, "received_ms": now}
    table, candles = candle_columns_binance(rows, **args), parse_klines(rows, **args)
    assert table.equals(to_arrow(candles))
    assert from_arrow(table, Candle) == candles
    assert table.column("open").type == pa.decimal128(38, 8)  # Binance writes 8 places


def test_monthly_bars_close_on_calendar_edges() -> None:
    rows = [["1704067200000", "1", "2", "0.5", "1.5", "10", "15", "15"],   # January 2024
            ["1706745600000", "1.5", "2", "1", "1.25", "10", "12.5", "12.5"]]  # February 2024
    table, candles = bitget(rows, now=1709251200000, interval="1M")  # 2024-03-01
    assert table.equals(to_arrow(candles))
    assert table.column("closed").to_pylist() == [True, True]
    assert table.column("close_time").cast(pa.int64()).to_pylist() == [1706745600000, 1709251200000]


def test_unusual_but_valid_spellings_match_the_model_parse() -> None:
    rows = [["1704067200000", "1E-5", "2", " 0.5", "1.50", "10", "15", "15"]]
    table, candles = bitget(rows, now=1704067320000)
    assert table.equals(to_arrow(candles))
    assert table.column("open").to_pylist() == [Decimal("0.00001")]


@pytest.mark.parametrize(("change", "message"), [
    (lambda rows: rows[3].pop(), "candle row 3 has 7 fields, expected at least 8"),
    (lambda rows: rows[5].__setitem__(2, "NaN"), "candle row 5: high is 'NaN', not a finite number"),
    (lambda rows: rows[6].__setitem__(4, "Infinity"), "candle row 6: close is 'Infinity'"),
    (lambda rows: rows[7].__setitem__(1, "12,5"), "candle row 7: open is '12,5', not a finite number"),
    (lambda rows: rows[8].__setitem__(5, 1.5), "candle row 8: base volume is 1.5 \\(float\\)"),
    (lambda rows: rows[9].__setitem__(0, "17e11"), "candle row 9: open time is '17e11'"),
    (lambda rows: rows[2].__setitem__(6, "nan"), "candle row 2: USDT volume is 'nan'"),
    (lambda rows: rows.__setitem__(4, "oops"), "candle row 4 is str, expected an array"),
])
def test_bitget_bad_rows_raise_payload_errors_naming_row_and_field(
        bitget_payloads: dict[str, Any], change: Any, message: str) -> None:
    rows = copy.deepcopy(bitget_payloads["spot"][:20])
    change(rows)
    with pytest.raises(PayloadError, match=message) as err:
        candle_columns_bitget(rows, **NAMES, received_ms=bitget_payloads["now"], spot=True)
    assert err.value.venue == "bitget"  # the same error the model parse raises


def test_binance_bad_rows_raise_payload_errors(binance_payload: dict[str, Any]) -> None:
    args = {**NAMES, "received_ms": binance_payload["now"]}
    for change, message in (
        (lambda rows: rows[3].__setitem__(0, "1704067200000"), "row 3: open time"),
        (lambda rows: rows[4].__setitem__(0, 1704067200000.0), "row 4: open time"),
        (lambda rows: rows[5].__setitem__(7, "-Infinity"), "row 5: quote volume is '-Infinity'"),
        (lambda rows: rows[6].__setitem__(6, True), "row 6: close time"),
        (lambda rows: rows.__setitem__(7, rows[7][:5]), "row 7 has 5 fields"),
    ):
        rows = copy.deepcopy(binance_payload["rows"][:20])
        change(rows)
        with pytest.raises(PayloadError, match=message):
            candle_columns_binance(rows, **args)


def test_not_a_list_and_empty_payloads(bitget_payloads: dict[str, Any]) -> None:
    with pytest.raises(PayloadError, match="expected a list of candle rows, got dict"):
        candle_columns_bitget({"code": "40034"}, **NAMES, received_ms=0, spot=True)
    empty = candle_columns_bitget([], **NAMES, received_ms=0, spot=True)
    assert empty.num_rows == 0 and empty.schema.equals(to_arrow([], model=Candle).schema)
    assert candle_columns_binance([], **NAMES, received_ms=0).num_rows == 0


def test_concat_dedups_by_open_time_and_sorts(bitget_payloads: dict[str, Any]) -> None:
    rows, now = bitget_payloads["spot"], bitget_payloads["now"]
    first, _ = bitget(rows[:600], now)
    second, _ = bitget(rows[400:], now)
    newer = [list(r) for r in rows[500:501]]
    newer[0][4] = "1.123456789"  # a later page's row wins, and widens the close column's scale
    third, _ = bitget(newer, now)
    table = concat_candle_tables([second, first, third])
    expected = to_arrow(parse_candles(rows, **NAMES, received_ms=now, spot=True))
    assert table.num_rows == 1000
    assert table.column("open_time").to_pylist() == expected.column("open_time").to_pylist()
    assert table.column("close").type == pa.decimal128(38, 9)
    closes = table.column("close").to_pylist()
    assert closes[500] == Decimal("1.123456789")
    assert closes[:500] == expected.column("close").to_pylist()[:500]
    assert concat_candle_tables([]).num_rows == 0


def _number(draw: Any) -> str:
    whole = draw(st.integers(0, 10**9))
    places = draw(st.integers(0, 8))
    return f"{whole}.{draw(st.integers(0, 10**places - 1)):0{places}d}" if places else str(whole)


@settings(max_examples=40, deadline=None)
@given(st.data(), st.integers(1, 80))
def test_any_mix_of_decimal_places_gives_the_model_parse_scales(data: Any, n: int) -> None:
    """Scales come from every value, not only the sampled ones: a value with more places
    anywhere in a column widens it, exactly as the model path's to_arrow does."""
    start = 1_704_067_200_000
    rows = [[str(start + i * 60_000), *(_number(data.draw) for _ in range(7))] for i in range(n)]
    wide = data.draw(st.integers(0, n - 1))
    rows[wide][3] = rows[wide][3].split(".")[0] + ".123456789"  # one value, maybe not sampled
    table, candles = bitget(rows, start + n * 60_000)
    assert table.equals(to_arrow(candles))
    assert table.column("low").type == pa.decimal128(38, 9)
    klines = [[start + i * 60_000, *r[1:6], start + i * 60_000 + 59_999, r[7]] for i, r in enumerate(rows)]
    args = {**NAMES, "received_ms": start + n * 60_000}
    assert candle_columns_binance(klines, **args).equals(to_arrow(parse_klines(klines, **args)))


@pytest.mark.parametrize("value", ["1e400", "1e-80"])
def test_a_value_no_exact_column_holds_is_a_payload_error_naming_the_row(value: str) -> None:
    good = ["1704067200000", "1", "2", "0.5", "1.5", "3", "4", "4"]
    bad = ["1704067260000", "1", value, "0.5", "1.5", "3", "4", "4"]
    with pytest.raises(PayloadError, match=r"bitget candles: .*candle row 1: high is 1E[+-]\d+, which has"):
        candle_columns_bitget([good, bad], symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
                              received_ms=1704067400000, spot=True)
    kline = [1704067200000, "1", "2", "0.5", "1.5", value, 1704067259999, "1", 1, "1", "1", "0"]
    with pytest.raises(PayloadError, match=r"binance /api/v3/klines: .*candle row 0: volume is 1E"):
        candle_columns_binance([kline], symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
                               received_ms=1704067400000)
