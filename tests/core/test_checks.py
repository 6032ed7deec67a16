"""The value checks (tradeflood.checks): every valid row passes, every violation is caught and named."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.candles import CandleSeries
from tradeflood.checks import checked, frame_violations, level_violations, violations
from tradeflood.errors import PayloadError
from tradeflood.models import Candle, OrderBook, Ticker, Trade

MINUTE = 60_000
ZERO = Decimal(0)
prices = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=8)
sizes = st.decimals(min_value=Decimal(0), max_value=Decimal("1000000"), places=6)


def candle(**kw: Any) -> Candle:
    fields: dict[str, Any] = {"exchange": "example", "symbol": "BTC/USDT", "native_symbol": "BTCUSDT",
                              "interval": "1m", "open_time": 10 * MINUTE, "open": "10", "high": "11",
                              "low": "9", "close": "10.5", "volume": "2", "quote_volume": "20"}
    fields.update(kw)
    return Candle(**fields)


@st.composite
def valid_candles(draw: st.DrawFn) -> Candle:
    four = sorted(draw(st.lists(prices, min_size=4, max_size=4)))
    low, a, b, high = four
    o, c = (a, b) if draw(st.booleans()) else (b, a)
    if draw(st.booleans()):  # a bar without trades: O=H=L=C
        low = o = c = high
    return candle(open_time=draw(st.integers(0, 10**8)) * MINUTE, open=o, high=high, low=low, close=c,
                  volume=draw(sizes), quote_volume=draw(st.none() | sizes))


@given(st.lists(valid_candles(), max_size=20))
@settings(max_examples=100, deadline=None)
def test_any_valid_candle_passes(candles: list[Candle]) -> None:
    assert violations(candles, "1m") == []
    assert checked(candles, venue="example", endpoint="/k", interval="1m") == (candles, 0)


BROKEN = {
    "open": lambda c: {"open": -c.open},
    "high": lambda c: {"high": c.low - Decimal("0.00000001") if c.low > Decimal("0.00000001") else ZERO},
    "low": lambda c: {"low": c.high + 1},
    "close": lambda c: {"close": ZERO},
    "volume": lambda c: {"volume": Decimal(-1)},
    "open_time": lambda c: {"open_time": c.open_time + 1},
}


@given(valid_candles(), st.sampled_from(sorted(BROKEN)), st.integers(0, 5))
@settings(max_examples=150, deadline=None)
def test_any_violation_is_caught(good: Candle, what: str, at: int) -> None:
    bad = good.model_copy(update=BROKEN[what](good))
    rows = [candle(open_time=i * MINUTE) for i in range(6)]
    rows[at] = bad
    found = violations(rows, "1m")
    assert [v.row for v in found] == [at]
    with pytest.raises(PayloadError) as err:
        checked(rows, venue="example", endpoint="/k", interval="1m")
    assert err.value.venue == "example" and err.value.endpoint == "/k"
    assert err.value.detail.startswith(f"candle {at}: ")
    kept, dropped = checked(rows, venue="example", endpoint="/k", interval="1m", invalid="drop")
    assert dropped == 1 and kept == rows[:at] + rows[at + 1:]


@given(st.lists(valid_candles(), min_size=1, max_size=20), st.data())
@settings(max_examples=40, deadline=None)
def test_the_column_check_agrees_with_the_model_check(candles: list[Candle], data: st.DataObject) -> None:
    pytest.importorskip("pyarrow")
    from tradeflood.columnar import to_arrow

    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(candles) - 1))
        candles[i] = candles[i].model_copy(update=BROKEN[data.draw(st.sampled_from(sorted(BROKEN)))](
            candles[i]))
    series = CandleSeries.from_table(to_arrow(candles))
    assert ([(v.row, v.field) for v in violations(series, "1m")]
            == [(v.row, v.field) for v in violations(candles, "1m")])  # 0E-8 in a column, 0 in a model


def test_weeks_and_months_have_their_grids() -> None:
    monday = 4 * 86_400_000  # 1970-01-05
    assert violations([candle(interval="1w", open_time=monday + 7 * 86_400_000)], "1w") == []
    assert [v.field for v in violations([candle(interval="1w", open_time=0)], "1w")] == ["open_time"]
    feb = 2_678_400_000  # 1970-02-01
    assert violations([candle(interval="1M", open_time=feb)], "1M") == []
    assert violations([candle(interval="1M", open_time=feb + 86_400_000)], "1M")[0].field == "open_time"


def trade(i: int, **kw: Any) -> Trade:
    fields: dict[str, Any] = {"exchange": "example", "symbol": "BTC/USDT", "native_symbol": "BTCUSDT",
                              "id": str(i), "timestamp": 1, "price": "10", "amount": "1", "side": "buy"}
    fields.update(kw)
    return Trade(**fields)


def test_trades() -> None:
    assert violations([trade(1), trade(2)]) == []
    assert [(v.row, v.field) for v in violations([trade(1), trade(2, price="-1"), trade(3, amount="0"),
                                                  trade(1)])] == [(1, "price"), (2, "amount"), (3, "id")]


def test_an_error_names_the_venues_field_beside_the_models_and_the_trade_id() -> None:
    rows = [trade(7), trade(8, price="-2.5"), trade(9, amount="0")]
    names = {"price": "px", "amount": "sz", "side": "side"}
    with pytest.raises(PayloadError) as err:
        checked(rows, venue="example", endpoint="/trades", names=names)
    assert (err.value.venue, err.value.endpoint) == ("example", "/trades")
    assert err.value.detail == "trade 1: price (px) is -2.5, not a positive price (id 8)"
    kept, dropped = checked(rows, venue="example", endpoint="/trades", invalid="drop", names=names)
    assert dropped == 2 and [t.id for t in kept] == ["7"]
    with pytest.raises(PayloadError) as plain:
        checked(rows, venue="example", endpoint="/trades")  # no names: the model's alone
    assert plain.value.detail == "trade 1: price is -2.5, not a positive price (id 8)"
    # A name the venue spells like the model is not repeated.
    assert violations(rows)[1].error("example", "/t", "trade", names={"amount": "amount"}).detail == \
        "trade 2: amount is 0, not a positive size (id 9)"


def book(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> OrderBook:
    return OrderBook(exchange="example", symbol="BTC/USDT", native_symbol="BTCUSDT", timestamp=1,
                     bids=bids, asks=asks)


def test_books() -> None:
    good = book([("10", "1"), ("9", "1")], [("11", "1"), ("12", "1")])
    assert violations([good]) == []
    assert "crossed" in violations([book([("10", "1")], [("10", "1")])])[0].detail
    twice = violations([book([("10", "1"), ("10", "2")], [])])[0]
    assert (twice.row, twice.field, twice.detail) == (1, "bids price", "10 is listed twice")
    # Out of order is still one book by price: it passes, and comes back best first.
    unordered = book([("9", "1"), ("10", "2")], [("12", "1"), ("11", "3")])
    assert violations([unordered]) == []
    (sorted_book,), dropped = checked([unordered], venue="example", endpoint="/b")
    assert dropped == 0
    assert sorted_book.bids == ((Decimal(10), Decimal(2)), (Decimal(9), Decimal(1)))
    assert sorted_book.asks == ((Decimal(11), Decimal(3)), (Decimal(12), Decimal(1)))
    assert checked([good], venue="example", endpoint="/b")[0][0] is good  # in order: itself
    # Crossed once sorted, though its first levels are not.
    assert "best ask 11 is not above best bid 12" in violations(
        [book([("9", "1"), ("12", "1")], [("11", "1")])])[0].detail
    assert violations([book([("0", "1")], [])])[0].field == "bids price"
    assert violations([book([("9", "0")], [])])[0].field == "bids size"
    with pytest.raises(PayloadError, match="book 0: asks price"):
        checked([book([("10", "1")], [("9", "1")])], venue="example", endpoint="/b", invalid="drop")
    assert level_violations([(Decimal(1), Decimal(0))], [], snapshot=False) == []  # a delta removes a level


def test_tickers() -> None:
    t = Ticker(exchange="example", symbol="BTC/USDT", native_symbol="BTCUSDT", timestamp=1, last="-1")
    assert violations([t])[0].field == "last"
    t = Ticker(exchange="example", symbol="BTC/USDT", native_symbol="BTCUSDT", timestamp=1, low="3", high="2")
    assert violations([t])[0].field == "low"


def test_stream_book_messages() -> None:
    from tradeflood.streams import BookDelta

    good = BookDelta(last_id=1, bids=[("10", "0"), ("9", "1")], asks=[("11", "2")])
    assert frame_violations([good]) == []
    bad = BookDelta(last_id=2, bids=[("-1", "1")], asks=[("11", "-2")])
    assert [v.field for v in frame_violations([bad])] == ["bids price", "asks size"]
    assert frame_violations([BookDelta(last_id=3, bids=[("x", "1")])])[0].field == "level"
