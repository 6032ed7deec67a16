"""Candle pages checked while they are parsed (issue 12): the column pass of the Bitget and
Binance parses gives exactly the row-by-row parse, and its checks agree with the row checks."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.bindings.binance import parse as binance
from tradeflood.bindings.bitget import parse as bitget
from tradeflood.bindings.bybit import parse as bybit
from tradeflood.bindings.okx import parse as okx
from tradeflood.checks import CheckedCandles, candle_columns_ok, candle_violations, checked
from tradeflood.errors import PayloadError
from tradeflood.intervals import interval_ms
from tradeflood.models import Candle, trusted_batch
from tradeflood.parsing import exact_reader

MINUTE = 60_000
NOW = 1_800_000_000_000

# Prices as venues write them, and spellings only the row-by-row read takes (whitespace, "_").
plain = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2).map(str)
odd = st.sampled_from(["0", "0.00", "-1.5", "-0", "+7", "1e2", "1E-3", " 5 ", "1_000", "00012.50"])
value = st.one_of(plain, plain, plain, odd)


@st.composite
def pages(draw: st.DrawFn, step: int = MINUTE) -> list[list[str]]:
    """Bitget spot rows: open time, O, H, L, C, base volume, USDT volume, quote volume; mostly
    valid bars (an open as the previous close), some broken by a random value."""
    n = draw(st.integers(1, 12))
    start = draw(st.integers(0, 10**6)) * step
    rows, close = [], draw(plain)
    for i in range(n):
        o, c = close, draw(plain)
        low, high = sorted([Decimal(o), Decimal(c), Decimal(draw(plain))])[::2]
        row = [str(start + i * step), o, str(high), str(low), c, draw(plain), "0", draw(plain)]
        if draw(st.integers(0, 4)) == 0:
            row[draw(st.integers(1, 7))] = draw(value)
        if draw(st.integers(0, 9)) == 0:
            row[0] = str(int(row[0]) + draw(st.sampled_from([1, -1, 7])))
        row[6] = row[7]
        rows.append(row)
        close = c
    return rows


def same(a: list[Candle], b: list[Candle]) -> None:
    """Equal models, each Decimal written the same way (digits and exponent)."""
    assert a == b
    for x, y in zip(a, b, strict=True):
        for name in ("open", "high", "low", "close", "volume", "quote_volume"):
            assert getattr(x, name).as_tuple() == getattr(y, name).as_tuple()


def outcome(parse: Callable[[], list[Candle]]) -> Any:
    """What a parse gives: its candles, or its PayloadError's text."""
    try:
        return parse()
    except PayloadError as exc:
        return str(exc)


def agree(fast_parse: Callable[[], list[Candle]], slow_parse: Callable[[], list[Candle]],
          rows: list[list[str]]) -> None:
    """The column pass gives what the row read gives (candles or error), and marks the page
    checked exactly when no row breaks a rule and no value is left to the row read."""
    fast, slow = outcome(fast_parse), outcome(slow_parse)
    if isinstance(slow, str):
        assert fast == slow
        return
    same(fast, slow)
    checkable = not candle_violations(slow, "1m") and not row_spellings(rows)
    assert (type(fast) is CheckedCandles) == checkable


def row_spellings(rows: list[list[Any]]) -> bool:
    """Whether a value is written with whitespace or "_" (the row-by-row read takes those)."""
    return any(type(v) is str and (" " in v or "_" in v) for r in rows for v in r)


def bitget_both(rows: list[list[str]], interval: str = "1m") -> tuple[Any, Any]:
    args: dict[str, Any] = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": interval,
                            "received_ms": NOW}
    return (outcome(lambda: bitget.parse_candles(rows, spot=True, **args)),
            outcome(lambda: bitget._candles_by_row(rows, q=7, endpoint="candles", **args)))


@given(pages())
@settings(max_examples=300, deadline=None)
def test_bitget_column_pass_is_the_row_parse(rows: list[list[str]]) -> None:
    fast, slow = bitget_both(rows)
    if isinstance(slow, str):
        assert fast == slow  # the same PayloadError, naming the same row and field
        return
    same(fast, slow)
    bad = candle_violations(slow, "1m")
    # Marked checked only when no row breaks a rule (else the fetch's checks name it); left to
    # the fetch's checks only when a value is spelled in a way the column pass leaves to the rows.
    assert (type(fast) is CheckedCandles) == (not bad and not row_spellings(rows))
    if bad:
        with pytest.raises(PayloadError, match=f"candle {bad[0].row}: {bad[0].field} "):
            checked(fast, venue="bitget", endpoint="candles", interval="1m")
    else:
        assert checked(fast, venue="bitget", endpoint="candles", interval="1m") == (fast, 0)


@given(pages(step=3 * MINUTE))
@settings(max_examples=100, deadline=None)
def test_a_page_checked_for_one_interval_is_checked_again_for_another(rows: list[list[str]]) -> None:
    fast, slow = bitget_both(rows, "3m")
    if isinstance(slow, str):
        return
    for interval in ("3m", "1h", None):
        assert bool(candle_violations(fast, interval)) == bool(candle_violations(slow, interval))


def klines(rows: list[list[str]]) -> list[list[Any]]:
    """The same bars as Binance spot klines (int times, a close time, trailing fields)."""
    out: list[list[Any]] = []
    for r in rows:
        t: Any = int(r[0]) if r[0].strip().lstrip("-").isdigit() else r[0]
        out.append([t, r[1], r[2], r[3], r[4], r[5], t + MINUTE - 1 if type(t) is int else t, r[7], 3,
                    "0", "0", "0"])
    return out


@given(pages(), st.sampled_from([None, "float", "bool", "short", "nan"]), st.integers(0, 11))
@settings(max_examples=300, deadline=None)
def test_binance_column_pass_is_the_row_parse(rows: list[list[str]], spoil: str | None, at: int) -> None:
    payload = klines(rows)
    row = payload[at % len(payload)]
    if spoil == "float":
        row[1 + at % 5] = 1.5
    elif spoil == "bool":
        row[0] = True
    elif spoil == "short":
        del row[7:]
    elif spoil == "nan":
        row[2] = "NaN"
    args: dict[str, Any] = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": "1m",
                            "received_ms": NOW, "endpoint": "/api/v3/klines"}
    agree(lambda: binance.parse_klines(payload, **args), lambda: binance._klines_by_row(payload, **args),
          rows)


def test_an_impossible_candle_is_refused_or_dropped_after_the_column_pass() -> None:
    rows = [[str(i * MINUTE), "10", "11", "9", "10", "1", "10", "10"] for i in range(3)]
    rows[1][2] = "8"  # high below low
    got = bitget.parse_candles(rows, symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
                               received_ms=NOW, spot=True)
    assert type(got) is list
    with pytest.raises(PayloadError, match="candle 1: high 8 is below"):
        checked(got, venue="bitget", endpoint="candles", interval="1m")
    kept, dropped = checked(got, venue="bitget", endpoint="candles", interval="1m", invalid="drop")
    assert dropped == 1 and [c.open_time for c in kept] == [0, 2 * MINUTE]


@pytest.mark.parametrize("interval", ["1m", "1w", "1M", None])
def test_the_column_rule_follows_each_grid(interval: str | None) -> None:
    start = 4 * 86_400_000 if interval == "1w" else 0  # weeks open on Mondays
    step = interval_ms(interval) if interval and interval != "1M" else MINUTE
    one = Decimal(1)
    for t, on_grid in ((start, True), (start + step, interval != "1M"), (start + 1, interval is None)):
        assert candle_columns_ok([t], [one], [one], [one], [one], [one], None, interval) == on_grid


def test_trusted_batch_makes_the_validated_models() -> None:
    fields: dict[str, Any] = {"exchange": "x", "symbol": "BTC/USDT", "native_symbol": "BTCUSDT",
                              "interval": "1m", "open_time": 0, "open": Decimal("1.50"), "high": Decimal(2),
                              "low": Decimal(1), "close": Decimal(2), "volume": Decimal(0),
                              "quote_volume": None, "closed": True}
    made = trusted_batch(Candle)([dict(fields), dict(fields, open_time=MINUTE)])
    assert made == [Candle(**fields), Candle(**dict(fields, open_time=MINUTE))]
    assert made[1].model_dump() == Candle(**dict(fields, open_time=MINUTE)).model_dump()
    assert made[0].model_fields_set == set(Candle.model_fields)


@given(pages(), st.booleans(), st.sampled_from([None, "flag", "short", "swap"]))
@settings(max_examples=200, deadline=None)
def test_okx_and_bybit_column_passes_are_the_row_parses(rows: list[list[str]], spot: bool,
                                                        spoil: str | None) -> None:
    """The same bars newest first as OKX rows (a confirm flag) and Bybit klines."""
    okx_rows = [[r[0], *r[1:6], r[5], r[7], "1"] for r in rows][::-1]
    bybit_rows = [[r[0], *r[1:6], r[7]] for r in rows][::-1]
    if spoil == "flag":
        okx_rows[0][8] = "2"
    elif spoil == "short":
        del okx_rows[-1][8], bybit_rows[-1][6]
    elif spoil == "swap" and len(rows) > 1:  # out of order: both sort
        okx_rows[0], okx_rows[1] = okx_rows[1], okx_rows[0]
        bybit_rows[0], bybit_rows[1] = bybit_rows[1], bybit_rows[0]
    names: dict[str, Any] = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": "1m"}
    cases = [
        (lambda: okx.parse_candles(okx_rows, spot=spot, **names),
         lambda: okx._candles_by_row(okx_rows, v=5 if spot else 6, endpoint="candles", **names)),
        (lambda: bybit.parse_candles({"list": bybit_rows}, received_ms=NOW, **names),
         lambda: bybit._candles_by_row(bybit_rows, received_ms=NOW, endpoint="kline", **names)),
    ]
    for fast_parse, slow_parse in cases:
        agree(fast_parse, slow_parse, rows)


# -- shortcuts of the column pass: a text read once per page, the grid of a page without gaps --

#: Texts Decimal reads to different digits or exponents, so a memo keyed loosely would show.
texts = st.sampled_from(["1.5", "1.50", "1.500", "0", "0.00", "-0", "+7", "7", "1e2", "100", "1E-3",
                         "0.001", "00012.50", "12.5", "98765.4321", "0E-8"])


def exactly(got: list[list[Decimal]], columns: list[list[str]]) -> None:
    """``got`` holds, for every text, the Decimal ``Decimal(text)`` gives, digits and exponent alike."""
    assert [[d.as_tuple() for d in column] for column in got] == \
        [[Decimal(t).as_tuple() for t in column] for column in columns]


def read_all(columns: list[list[str]]) -> list[list[Decimal]]:
    """Every column read through the one reader made for the page."""
    read = exact_reader(columns)
    return [list(map(read, column)) for column in columns]


@given(st.integers(1, 3), st.integers(0, 120), st.data())
@settings(max_examples=200, deadline=None)
def test_an_exact_reader_gives_each_text_its_own_decimal(width: int, n: int, data: st.DataObject) -> None:
    few = data.draw(st.lists(texts, min_size=1, max_size=4))  # a coarse-tick page: few texts
    pick = data.draw(st.sampled_from([st.sampled_from(few), texts, plain]))
    columns = [data.draw(st.lists(pick, min_size=n, max_size=n)) for _ in range(width)]
    exactly(read_all(columns), columns)


def test_an_exact_reader_reads_a_repeating_page_once_and_a_varied_one_straight() -> None:
    repeating = [["1.50", "1.5"] * 20, ["1.5", "2"] * 20]
    got = read_all(repeating)
    exactly(got, repeating)
    assert got[0][1] is got[0][3] is got[1][0]  # one Decimal for the text "1.5" across the page
    assert str(got[0][0]) == "1.50" and str(got[0][1]) == "1.5"
    varied = [[f"{i}.5" for i in range(40)], [f"{i}.25" for i in range(40)]]
    exactly(read_all(varied), varied)
    assert type(exact_reader(varied)("1.5")) is Decimal and exact_reader(varied)("7") == 7  # read straight
    assert read_all([["1.5"] * 40])[0][0] is not read_all([["1.5"] * 40])[0][0]  # one memo a page
    with pytest.raises(InvalidOperation):
        exact_reader([["1.5"] * 39 + ["x"]])


@st.composite
def coarse_pages(draw: st.DrawFn) -> list[list[str]]:
    """Bitget spot rows of a market whose tick is coarse for its price: long pages (past the
    column pass's sample) that write a few price and size texts over and over."""
    prices = draw(st.lists(st.sampled_from(["0.0812", "0.0813", "0.08130", "0.0814", "0.0811"]),
                           min_size=1, max_size=5))
    sizes = draw(st.lists(st.sampled_from(["0", "0.00", "1200", "1200.0", "350"]), min_size=1, max_size=3))
    n = draw(st.integers(32, 90))
    start = draw(st.integers(0, 10**6)) * MINUTE
    rows, close = [], draw(st.sampled_from(prices))
    for i in range(n):
        o, c = close, draw(st.sampled_from(prices))
        low, high = sorted([o, c, draw(st.sampled_from(prices))], key=Decimal)[::2]
        size = draw(st.sampled_from(sizes))
        rows.append([str(start + i * MINUTE), o, high, low, c, size, size, size])
        close = c
    if draw(st.booleans()):  # some row broken: a value, or an open time off the grid
        row = rows[draw(st.integers(0, n - 1))]
        at = draw(st.integers(0, 7))
        row[at] = str(int(row[0]) + 1) if at == 0 else draw(value)
        row[6] = row[7]
    return rows


@given(coarse_pages())
@settings(max_examples=200, deadline=None)
def test_column_passes_of_repeating_pages_are_the_row_parses(rows: list[list[str]]) -> None:
    fast, slow = bitget_both(rows)
    if isinstance(slow, str):
        assert fast == slow
    else:
        same(fast, slow)
        checkable = not candle_violations(slow, "1m") and not row_spellings(rows)
        assert (type(fast) is CheckedCandles) == checkable
    args: dict[str, Any] = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": "1m",
                            "received_ms": NOW, "endpoint": "/api/v3/klines"}
    payload = klines(rows)
    agree(lambda: binance.parse_klines(payload, **args), lambda: binance._klines_by_row(payload, **args),
          rows)


@given(st.sampled_from(["1m", "5m", "1h", "1d", "1w"]), st.integers(0, 5000), st.integers(1, 60),
       st.lists(st.sampled_from([0, 0, 0, 0, 1, 2, 5]), max_size=8), st.sampled_from([0, 1, 7, -1]))
@settings(max_examples=300, deadline=None)
def test_the_column_grid_rule_is_the_row_rule(interval: str, first: int, n: int, gaps: list[int],
                                              shift: int) -> None:
    """Pages with and without gaps between bars, on and off the grid: the column rule says a
    page is on the grid exactly when every row's rule does."""
    step = interval_ms(interval)
    offset = 4 * 86_400_000 if interval == "1w" else 0
    times, t = [], offset + first * step
    for i in range(n):
        times.append(t)
        t += step * (1 + (gaps[i % len(gaps)] if gaps else 0))
    if shift:
        times[(first + n) % n] += shift
    one = [Decimal(1)] * n
    bars = [Candle(exchange="x", symbol="BTC/USDT", native_symbol="BTCUSDT", interval=interval, open_time=t,
                   open=1, high=1, low=1, close=1, volume=0, quote_volume=None, closed=True) for t in times]
    assert candle_columns_ok(times, one, one, one, one, one, None, interval) == \
        (not candle_violations(bars, interval))
    assert candle_columns_ok(tuple(times), one, one, one, one, one, None, interval, unsigned=True) == \
        (not candle_violations(bars, interval))
