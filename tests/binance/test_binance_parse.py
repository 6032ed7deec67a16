"""Binance parse functions against documented wire formats (fixtures in tests/fixtures/binance)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import tradeflood.bindings.binance as bb
from tradeflood.errors import PayloadError, UnknownSymbolError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binance"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def klines(payload: Any, received_ms: int = 1_800_000_000_000, **kw: Any) -> list[Candle]:
    args = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": "1h",
            "received_ms": received_ms, **kw}
    return bb.parse_klines(payload, **args)


# -- klines ---------------------------------------------------------------------------


def test_spot_klines_exact_values() -> None:
    candles = klines(load("spot_klines_1h.json"))
    assert [c.open_time for c in candles] == [1706630400000, 1706634000000, 1706637600000]
    first = candles[0]
    assert (first.open, first.high, first.low, first.close) == (
        Decimal("43519.34000000"), Decimal("43936.00000000"), Decimal("43171.00000000"),
        Decimal("43488.71000000"))
    assert first.volume == Decimal("20.55495000")
    assert first.quote_volume == Decimal("891428.42858070")
    assert (first.exchange, first.symbol, first.native_symbol, first.interval) == (
        "binance", "BTC/USDT", "BTCUSDT", "1h")
    assert first.close_time == 1706634000000
    assert all(c.closed for c in candles)


def test_built_candle_equals_validated_candle() -> None:
    candle = klines(load("spot_klines_1h.json"))[1]
    fields = candle.model_dump(exclude={"close_time"})
    assert candle == Candle(**fields)
    assert candle.model_fields_set == set(Candle.model_fields)
    copy = candle.model_copy(update={"closed": False})
    assert copy.closed is False and candle.closed is True


def test_closed_flag_follows_close_time_against_arrival() -> None:
    rows = load("futures_klines_1m.json")
    # The last bar closes at ...639999: a reply at ...639999 still sees it forming.
    candles = klines(rows, received_ms=1712738639999, symbol="BTC/USDT:USDT", interval="1m")
    assert [c.closed for c in candles] == [True, True, False]
    candles = klines(rows, received_ms=1712738640000, symbol="BTC/USDT:USDT", interval="1m")
    assert all(c.closed for c in candles)
    assert candles[2].close == Decimal("70459.40") and candles[2].volume == Decimal("1.542")
    assert str(candles[0].open) == "71481.90"  # the venue's precision is kept


def test_klines_accept_longer_rows_and_empty_pages() -> None:
    row = [*load("spot_klines_1h.json")[0], "extra"]
    assert klines([row])[0].open == Decimal("43519.34000000")
    assert klines([]) == []


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: r[:5], "row 1 has 5 fields"),
        (lambda r: [r[0], "4x", *r[2:]], "open is '4x', not a decimal number"),
        (lambda r: [r[0], r[1], None, *r[3:]], "high is None, not a decimal string"),
        (lambda r: [r[0], r[1], r[2], 43000.5, *r[4:]], "low is 43000.5, not a decimal string"),
        (lambda r: [*r[:4], "NaN", *r[5:]], "close is 'NaN', not a finite number"),
        (lambda r: [*r[:5], "Infinity", *r[6:]], "volume is 'Infinity', not a finite number"),
        (lambda r: [str(r[0]), *r[1:]], "open time '1706634000000' is not an integer"),
        (lambda r: [*r[:6], None, *r[7:]], "close time None"),
        (lambda r: [*r[:7], "", *r[8:]], "quote volume is '', not a decimal number"),
        (lambda r: {"t": r[0]}, "row 1 is dict, not an array"),
    ],
)
def test_bad_kline_rows_name_row_and_field(mutate: Any, needle: str) -> None:
    rows = load("spot_klines_1h.json")
    rows[1] = mutate(rows[1])
    with pytest.raises(PayloadError) as err:
        klines(rows)
    assert needle in str(err.value)
    assert err.value.venue == "binance" and err.value.endpoint == "/api/v3/klines"


def test_klines_payload_must_be_an_array() -> None:
    with pytest.raises(PayloadError, match="expected a JSON array of kline rows"):
        klines({"code": -1121, "msg": "Invalid symbol."}, endpoint="/fapi/v1/klines")


# -- order book ---------------------------------------------------------------------


def test_spot_depth_uses_arrival_time_and_last_update_id() -> None:
    book = bb.parse_depth(load("spot_depth.json"), symbol="BTC/USDT", native_symbol="BTCUSDT",
                          received_ms=1706803917999)
    assert isinstance(book, OrderBook)
    assert book.timestamp == 1706803917999
    assert book.sequence == 25445101
    assert book.bids[0] == (Decimal("42574.30000000"), Decimal("0.01070000"))
    assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)
    assert book.spread == Decimal("0.01")
    assert len(book.bids) == 3 and len(book.asks) == 2


def test_futures_depth_uses_transaction_time() -> None:
    book = bb.parse_depth(load("futures_depth.json"), symbol="BTC/USDT:USDT",
                          native_symbol="BTCUSDT", received_ms=1, endpoint="/fapi/v1/depth")
    assert book.timestamp == 1706803917258
    assert book.sequence == 35263532345
    assert book.asks[1] == (Decimal("42950.90"), Decimal("0.005"))
    assert book.best_bid == (Decimal("42651.10"), Decimal("470.672"))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"bids": [["1.0"]]}, "bids[0] is not a [price, quantity] pair"),
        ({"asks": [["1.0", "abc"]]}, "asks[0] quantity is 'abc', not a decimal number"),
        ({"lastUpdateId": None}, "lastUpdateId is None"),
        ({"bids": None}, "bids is not an array"),
    ],
)
def test_bad_depth(change: dict[str, Any], needle: str) -> None:
    payload = {**load("spot_depth.json"), **change}
    with pytest.raises(PayloadError) as err:
        bb.parse_depth(payload, symbol="BTC/USDT", native_symbol="BTCUSDT", received_ms=1)
    assert needle in str(err.value)


def test_depth_missing_field() -> None:
    payload = load("spot_depth.json")
    del payload["asks"]
    with pytest.raises(PayloadError, match="missing field 'asks'"):
        bb.parse_depth(payload, symbol="BTC/USDT", native_symbol="BTCUSDT", received_ms=1)


# -- trades -------------------------------------------------------------------------


def test_trades_side_is_the_takers() -> None:
    trades = bb.parse_trades(load("spot_trades.json"), symbol="BTC/USDT", native_symbol="BTCUSDT")
    assert all(isinstance(t, Trade) for t in trades)
    # isBuyerMaker false: the buyer took liquidity -> buy; true: the seller did -> sell.
    assert [t.side for t in trades] == ["buy", "sell"]
    assert [t.id for t in trades] == ["3479463557", "3479463558"]
    assert [t.timestamp for t in trades] == [1710327661939, 1710327661950]
    assert trades[0].price == Decimal("73238.70000000")
    assert trades[0].amount == Decimal("0.00109000")
    assert trades[0].cost == Decimal("73238.70000000") * Decimal("0.00109000")


def test_futures_trades() -> None:
    trades = bb.parse_trades(load("futures_trades.json"), symbol="BTC/USDT:USDT",
                             native_symbol="BTCUSDT", endpoint="/fapi/v1/trades")
    assert [(t.side, t.price, t.amount) for t in trades] == [
        ("sell", Decimal("71481.90"), Decimal("0.002")),
        ("buy", Decimal("71482.00"), Decimal("1.250")),
    ]
    assert trades[1] == Trade(**trades[1].model_dump())


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"isBuyerMaker": "true"}, "isBuyerMaker is 'true', not a boolean"),
        ({"price": 1.5}, "price is 1.5, not a decimal string"),
        ({"time": -5}, "time is -5, not a millisecond timestamp"),
        ({"id": None}, "id None is not a trade id"),
    ],
)
def test_bad_trades(change: dict[str, Any], needle: str) -> None:
    rows = load("spot_trades.json")
    rows[1] = {**rows[1], **change}
    with pytest.raises(PayloadError) as err:
        bb.parse_trades(rows, symbol="BTC/USDT", native_symbol="BTCUSDT")
    assert "trade 1: " + needle in str(err.value)


def test_trade_missing_field() -> None:
    rows = load("spot_trades.json")
    del rows[0]["qty"]
    with pytest.raises(PayloadError, match="trade 0: missing field 'qty'"):
        bb.parse_trades(rows, symbol="BTC/USDT", native_symbol="BTCUSDT")


# -- tickers ------------------------------------------------------------------------


def test_spot_ticker() -> None:
    t = bb.parse_ticker(load("spot_ticker_24hr.json"), symbol="BTC/USDT", native_symbol="BTCUSDT")
    assert isinstance(t, Ticker)
    assert t.timestamp == 1710328245391
    assert (t.last, t.bid, t.ask) == (Decimal("73369.84000000"), Decimal("73369.83000000"),
                                      Decimal("73369.84000000"))
    assert (t.high, t.low) == (Decimal("73650.25000000"), Decimal("68620.82000000"))
    assert t.base_volume == Decimal("72140.34862800")
    assert t.quote_volume == Decimal("5167027510.68728707")


def test_futures_ticker_has_no_bid_ask_until_the_book_ticker() -> None:
    t = bb.parse_ticker(load("futures_ticker_24hr.json"), symbol="BTC/USDT:USDT",
                        native_symbol="BTCUSDT", endpoint="/fapi/v1/ticker/24hr")
    assert t.bid is None and t.ask is None
    assert t.last == Decimal("71410.10") and t.timestamp == 1712738468522
    top = bb.parse_book_ticker(load("futures_book_ticker.json"))
    assert (top.bid, top.ask, top.timestamp) == (Decimal("71410.00"), Decimal("71410.10"),
                                                 1712738468530)


def test_ticker_for_another_symbol_is_refused() -> None:
    with pytest.raises(PayloadError, match="symbol 'BTCUSDT' is not the 'ETHUSDT' asked for"):
        bb.parse_ticker(load("spot_ticker_24hr.json"), symbol="ETH/USDT", native_symbol="ETHUSDT")


def test_ticker_bad_value() -> None:
    payload = {**load("spot_ticker_24hr.json"), "lastPrice": "x"}
    with pytest.raises(PayloadError, match="lastPrice is 'x', not a decimal number"):
        bb.parse_ticker(payload, symbol="BTC/USDT", native_symbol="BTCUSDT")


# -- instruments --------------------------------------------------------------------


def test_spot_instruments() -> None:
    items = {i.symbol: i for i in bb.parse_spot_instruments(load("spot_exchange_info.json"))}
    assert set(items) == {"BTC/USDT", "ETH/BTC", "LUNA/USDT"}
    btc = items["BTC/USDT"]
    assert isinstance(btc, Instrument)
    assert (btc.kind, btc.base, btc.quote, btc.settle, btc.native_symbol) == (
        "spot", "BTC", "USDT", None, "BTCUSDT")
    assert btc.tick_size == Decimal("0.01") and btc.step_size == Decimal("0.00001")
    assert btc.min_amount == Decimal("0.00001")
    assert btc.active and not items["LUNA/USDT"].active
    assert btc.listed_at is None


def test_futures_instruments_keep_linear_perpetuals_only() -> None:
    items = {i.symbol: i for i in bb.parse_futures_instruments(load("futures_exchange_info.json"))}
    assert set(items) == {"BTC/USDT:USDT", "1000PEPE/USDT:USDT", "ETH/USDT:USDT"}
    btc = items["BTC/USDT:USDT"]
    assert (btc.kind, btc.settle, btc.native_symbol) == ("linear", "USDT", "BTCUSDT")
    assert btc.tick_size == Decimal("0.10") and btc.step_size == Decimal("0.001")
    assert btc.listed_at == 1569398400000
    assert items["1000PEPE/USDT:USDT"].tick_size == Decimal("0.0000001")
    assert not items["ETH/USDT:USDT"].active  # SETTLING


def test_symbol_maps() -> None:
    spot = bb.spot_symbol_map(load("spot_exchange_info.json"))
    futures = bb.futures_symbol_map(load("futures_exchange_info.json"))
    assert spot.instrument("ETH/BTC").native_symbol == "ETHBTC"
    assert futures.instrument("BTC/USDT:USDT").native_symbol == "BTCUSDT"
    with pytest.raises(UnknownSymbolError, match="DOGE/USDT"):
        spot.instrument("DOGE/USDT")


def test_bad_exchange_info() -> None:
    with pytest.raises(PayloadError, match="'symbols' array"):
        bb.parse_spot_instruments({"code": 0})
    payload = load("spot_exchange_info.json")
    del payload["symbols"][1]["baseAsset"]
    with pytest.raises(PayloadError, match=r"symbols\[1\]: missing field 'baseAsset'"):
        bb.parse_spot_instruments(payload)
    payload = load("futures_exchange_info.json")
    payload["symbols"][0]["filters"][0]["tickSize"] = "tick"
    with pytest.raises(PayloadError, match="tickSize is 'tick', not a decimal number"):
        bb.parse_futures_instruments(payload)
