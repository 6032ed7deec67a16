"""Bitget parse functions against documented/recorded-shape fixtures: exact values, order, errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from tradeflood.bindings.bitget import (
    contract_symbol_map,
    parse_candles,
    parse_contracts,
    parse_order_book,
    parse_spot_symbols,
    parse_ticker,
    parse_trades,
    spot_symbol_map,
)
from tradeflood.checks import violations
from tradeflood.errors import PayloadError, UnknownSymbolError
from tradeflood.models import Candle
from tradeflood.symbols import native_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitget"


def data(name: str) -> Any:
    return orjson.loads((FIXTURES / name).read_bytes())["data"]


# -- candles ---------------------------------------------------------------------

def spot_candles(rows: Any, received_ms: int = 1704067335000) -> list[Candle]:
    return parse_candles(rows, symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
                         received_ms=received_ms, spot=True, endpoint="/api/v2/spot/market/candles")


def test_spot_candles_exact_values_and_closed_flags() -> None:
    candles = spot_candles(data("spot_candles.json"))
    assert [c.open_time for c in candles] == [1704067200000, 1704067260000, 1704067320000]
    first = candles[0]
    assert (first.open, first.high, first.low, first.close) == (
        Decimal("42283.58"), Decimal("42310.2"), Decimal("42270.01"), Decimal("42296.77"))
    assert first.volume == Decimal("3.651223")
    assert first.quote_volume == Decimal("154412.3911807")
    assert candles[2].close == Decimal("42293.0") and str(candles[2].close) == "42293.0"
    assert (first.exchange, first.symbol, first.native_symbol, first.interval) == (
        "bitget", "BTC/USDT", "BTCUSDT", "1m")
    # received at 12:02:15: the 12:00 and 12:01 bars have ended, the 12:02 bar is open
    assert [c.closed for c in candles] == [True, True, False]
    assert first.close_time == 1704067260000


def test_a_bar_ending_exactly_at_receipt_is_closed() -> None:
    candles = spot_candles(data("spot_candles.json"), received_ms=1704067380000)
    assert all(c.closed for c in candles)


def test_candles_equal_validated_models() -> None:
    fast = spot_candles(data("spot_candles.json"))[1]
    checked = Candle(exchange="bitget", symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
                     open_time=1704067260000, open="42296.77", high="42301", low="42288.5",
                     close="42290.9", volume="1.0021", quote_volume="42381.7", closed=True)
    assert fast == checked
    assert fast.model_dump() == checked.model_dump()
    with pytest.raises(ValidationError):  # still frozen
        fast.open = Decimal(1)  # type: ignore[misc]


def test_mix_candles_take_quote_volume_from_column_six() -> None:
    candles = parse_candles(data("mix_candles.json"), symbol="BTC/USDT:USDT",
                            native_symbol="BTCUSDT", interval="1h", received_ms=1704074400000,
                            spot=False)
    assert [c.quote_volume for c in candles] == [Decimal("34398712.6431"), Decimal("43588191.02")]
    assert [c.volume for c in candles] == [Decimal("812.337"), Decimal("1033.1")]
    assert [c.closed for c in candles] == [True, True]


def test_monthly_bars_close_on_the_calendar() -> None:
    row = ["1706745600000", "1", "2", "0.5", "1.5", "10", "15"]  # 2024-02-01, a 29-day month
    end_of_feb = 1709251200000
    [open_bar] = parse_candles([row], symbol="X/USDT:USDT", native_symbol="XUSDT", interval="1M",
                               received_ms=end_of_feb - 1, spot=False)
    [closed_bar] = parse_candles([row], symbol="X/USDT:USDT", native_symbol="XUSDT",
                                 interval="1M", received_ms=end_of_feb, spot=False)
    assert (open_bar.closed, closed_bar.closed) == (False, True)


GOOD = ["1704067200000", "1", "2", "0.5", "1.5", "10", "15", "15"]


@pytest.mark.parametrize("bad_row, detail", [
    (GOOD[:5], "candle row 1 has 5 fields, expected at least 8"),
    ([*GOOD[:2], "abc", *GOOD[3:]], "candle row 1: high is 'abc', not a finite number"),
    ([*GOOD[:4], "NaN", *GOOD[5:]], "candle row 1: close is 'NaN', not a finite number"),
    ([*GOOD[:5], "Infinity", *GOOD[6:]], "candle row 1: base volume is 'Infinity'"),
    ([*GOOD[:1], 42000.5, *GOOD[2:]], "candle row 1: open is 42000.5 (float), expected a decimal"),
    ([*GOOD[:7], None], "candle row 1: quote volume is None"),
    (["2024-01-01", *GOOD[1:]], "open time is '2024-01-01', not integer milliseconds"),
    ({"ts": "1"}, "candle row 1 is dict, expected an array"),
    ("1704067200000,1,2", "candle row 1 is str, expected an array"),
])
def test_bad_candle_rows_raise_payload_errors_naming_the_problem(bad_row: Any, detail: str) -> None:
    with pytest.raises(PayloadError) as err:
        spot_candles([GOOD, bad_row])
    assert detail in str(err.value)
    assert err.value.endpoint == "/api/v2/spot/market/candles"


def test_candle_payload_must_be_a_list() -> None:
    with pytest.raises(PayloadError, match="expected a list of candle rows"):
        spot_candles({"data": []})


def test_empty_page_is_no_candles() -> None:
    assert spot_candles([]) == []


# -- order books ---------------------------------------------------------------

def test_spot_order_book() -> None:
    book = parse_order_book(data("spot_orderbook.json"), symbol="BTC/USDT",
                            native_symbol="BTCUSDT", depth=2)
    assert book.timestamp == 1706804094602
    assert book.bids == ((Decimal("42604.36"), Decimal("0.6160")),
                         (Decimal("42604.3"), Decimal("0.4400")))
    assert book.asks == ((Decimal("42604.37"), Decimal("0.6010")),
                         (Decimal("42608.51"), Decimal("0.0127")))
    assert book.spread == Decimal("0.01")
    assert book.sequence is None


def test_mix_order_book_numbers_keep_their_written_digits_and_sort_best_first() -> None:
    raw = data("mix_merge_depth.json")
    raw["bids"].reverse()  # out of order on purpose
    book = parse_order_book(raw, symbol="BTC/USDT:USDT", native_symbol="BTCUSDT")
    assert [p for p, _ in book.bids] == [Decimal("26346.5"), Decimal("26346.0"), Decimal("26345.9")]
    assert [s for _, s in book.bids] == [Decimal("0.16"), Decimal("0.32"), Decimal("1.004")]
    assert book.asks[0] == (Decimal("26347.5"), Decimal("0.25"))
    assert book.asks[2] == (Decimal("26349.1"), Decimal(3))
    assert book.timestamp == 1695870968804


def test_order_book_sequence_is_kept_when_sent() -> None:
    raw = {**data("spot_orderbook.json"), "seq": "123456"}
    assert parse_order_book(raw, symbol="BTC/USDT", native_symbol="BTCUSDT").sequence == 123456


@pytest.mark.parametrize("change, detail", [
    ({"ts": None}, "ts is None"),
    ({"bids": None}, "bids is NoneType"),
    ({"asks": [["1"]]}, "asks[0] is ['1'], expected [price, size]"),
    ({"asks": [["x", "1"]]}, "asks[0] price is 'x'"),
])
def test_bad_books(change: dict[str, Any], detail: str) -> None:
    with pytest.raises(PayloadError) as err:
        parse_order_book({**data("spot_orderbook.json"), **change}, symbol="BTC/USDT",
                         native_symbol="BTCUSDT")
    assert detail in str(err.value)


def test_a_negative_level_is_left_to_the_value_checks() -> None:
    """The parse reads a sign as written; the checks refuse it, as on every venue (so that
    invalid="drop" gives no result rather than a failed query)."""
    raw = {**data("spot_orderbook.json"), "bids": [["1", "-2"]]}
    book = parse_order_book(raw, symbol="BTC/USDT", native_symbol="BTCUSDT")
    assert book.bids == ((Decimal(1), Decimal(-2)),)
    (v,) = violations([book])
    assert (v.field, v.detail) == ("bids size", "is -2, not a positive size")


# -- trades ----------------------------------------------------------------------

def test_spot_trades_sorted_oldest_first_then_by_id() -> None:
    trades = parse_trades(data("spot_fills.json"), symbol="BTC/USDT", native_symbol="BTCUSDT")
    assert [t.id for t in trades] == [
        "1151762911111111111", "1151762928807395329", "1151762928807395330"]
    assert [t.side for t in trades] == ["buy", "buy", "sell"]
    assert trades[1].price == Decimal("73240.07") and trades[1].amount == Decimal("0.057852")
    assert trades[1].timestamp == 1710327601000
    assert trades[1].cost == Decimal("73240.07") * Decimal("0.057852")


def test_mix_trades_lower_case_sides() -> None:
    trades = parse_trades(data("mix_fills.json"), symbol="BTC/USDT:USDT", native_symbol="BTCUSDT")
    assert [(t.timestamp, t.side, t.price) for t in trades] == [
        (1627116600875, "buy", Decimal("30007.0")), (1627116776464, "sell", Decimal("29990.5"))]


@pytest.mark.parametrize("change, detail", [
    ({"side": "short"}, "side is 'short'"),
    ({"price": None}, "price is None"),
    ({"tradeId": ""}, "field 'tradeId'"),
    ({"ts": "soon"}, "ts is 'soon'"),
])
def test_bad_trades(change: dict[str, Any], detail: str) -> None:
    raw = [{**data("spot_fills.json")[0], **change}]
    with pytest.raises(PayloadError, match=detail):
        parse_trades(raw, symbol="BTC/USDT", native_symbol="BTCUSDT")


# -- tickers ---------------------------------------------------------------------

def test_spot_ticker() -> None:
    t = parse_ticker(data("spot_tickers.json"), symbol="BTC/USDT", native_symbol="BTCUSDT")
    assert t.timestamp == 1710328244283
    assert (t.last, t.bid, t.ask) == (Decimal("73369.13"), Decimal("73369.13"), Decimal("73369.14"))
    assert (t.high, t.low) == (Decimal("73633.61"), Decimal("68650.53"))
    assert t.base_volume == Decimal("16956.244304")
    assert t.quote_volume == Decimal("1214716952.009746")


def test_mix_ticker_and_empty_fields_are_none() -> None:
    raw = data("mix_ticker.json")
    raw[0]["bidPr"] = ""
    t = parse_ticker(raw, symbol="BTC/USDT:USDT", native_symbol="BTCUSDT")
    assert t.last == Decimal("26242.5") and t.ask == Decimal("26242.6") and t.bid is None
    assert t.timestamp == 1695794098184


def test_ticker_for_another_symbol_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="no ticker for ETHUSDT"):
        parse_ticker(data("spot_tickers.json"), symbol="ETH/USDT", native_symbol="ETHUSDT")


# -- instruments and symbol maps ---------------------------------------------------

def test_spot_instruments() -> None:
    btc, ethbtc, luna = parse_spot_symbols(data("spot_symbols.json"))
    assert (btc.symbol, btc.native_symbol, btc.kind, btc.base, btc.quote) == (
        "BTC/USDT", "BTCUSDT", "spot", "BTC", "USDT")
    assert (btc.tick_size, btc.step_size) == (Decimal("0.01"), Decimal("0.000001"))
    assert btc.active and btc.listed_at == 1532454360000 and btc.settle is None
    assert ethbtc.symbol == "ETH/BTC" and ethbtc.min_amount == Decimal("0.001")
    assert ethbtc.listed_at is None
    assert not luna.active


def test_contracts_skip_delivery_and_use_end_step() -> None:
    btc, doge = parse_contracts(data("contracts.json"))
    assert (btc.symbol, btc.native_symbol, btc.kind, btc.settle) == (
        "BTC/USDT:USDT", "BTCUSDT", "linear", "USDT")
    assert (btc.tick_size, btc.step_size, btc.min_amount) == (
        Decimal("0.1"), Decimal("0.0001"), Decimal("0.0001"))
    assert doge.tick_size == Decimal("0.00005")  # priceEndStep 5 at 5 places
    assert not doge.active and doge.listed_at == 1609459200000
    assert btc.active and btc.listed_at is None


def test_symbol_maps_resolve_native_ids() -> None:
    spot = spot_symbol_map(data("spot_symbols.json"))
    perps = contract_symbol_map(data("contracts.json"))
    assert native_id(spot, "ETH/BTC") == "ETHBTC"
    assert native_id(perps, "BTC/USDT:USDT") == "BTCUSDT"
    with pytest.raises(UnknownSymbolError, match="similar: BTC/USDT"):
        native_id(spot, "BTC/EUR")


def test_bad_listing_is_a_payload_error() -> None:
    rows = data("spot_symbols.json")
    rows[0]["pricePrecision"] = "two"
    with pytest.raises(PayloadError, match="pricePrecision is 'two'"):
        parse_spot_symbols(rows)
    with pytest.raises(PayloadError, match="list of objects"):
        parse_contracts({"symbol": "BTCUSDT"})
