"""The funding-rate and open-interest parse functions of each venue on payloads kept with the
tests (the venues' documented shapes): every value asserted, and bad payloads named."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradeflood.bindings.binance import funding as binance
from tradeflood.bindings.bitget import funding as bitget
from tradeflood.bindings.bybit import funding as bybit
from tradeflood.bindings.okx import funding as okx
from tradeflood.checks import open_interest_violations
from tradeflood.errors import PayloadError

FIXTURES = Path(__file__).parents[1] / "fixtures"
SYMBOL = "BTC/USDT:USDT"
HOUR = 3_600_000


def load(venue: str, name: str) -> Any:
    return json.loads((FIXTURES / venue / f"{name}.json").read_text())


def test_bitget() -> None:
    rate = bitget.parse_current_funding(load("bitget", "funding_current")["data"], symbol=SYMBOL)
    assert (rate.native_symbol, rate.funding_time, rate.rate, rate.interval_ms, rate.timestamp) == (
        "BTCUSDT",
        1717228800000,
        Decimal("-0.000021"),
        8 * HOUR,
        None,
    )
    rows = bitget.parse_funding_history(load("bitget", "funding_history")["data"], symbol=SYMBOL)
    assert [(r.funding_time, r.rate) for r in rows] == [
        (1717171200000, Decimal("-0.000035")),
        (1717200000000, Decimal("0.0001")),
    ]
    oi = bitget.parse_open_interest(load("bitget", "open_interest")["data"], symbol=SYMBOL)
    assert (oi.size, oi.value, oi.timestamp) == (Decimal("52234.134"), None, 1717210830123)


def test_binance() -> None:
    rate = binance.parse_premium_index(load("binance", "premium_index"), symbol=SYMBOL)
    assert (rate.funding_time, rate.rate, rate.timestamp) == (1717228800000, Decimal("0.0001"), 1717210830004)
    assert (rate.mark_price, rate.index_price) == (Decimal("67512.1"), Decimal("67540.22765957"))
    rows = binance.parse_funding_history(load("binance", "funding_history"), symbol=SYMBOL)
    # 1717171200002: stamped 2 ms after the hour by the venue, kept on the hour
    assert [(r.funding_time, r.rate, r.mark_price) for r in rows] == [
        (1717171200000, Decimal("0.00008512"), Decimal("67311.4")),
        (1717200000000, Decimal("-0.00001204"), Decimal("67472.82375532")),
    ]
    oi = binance.parse_open_interest(load("binance", "open_interest"), symbol=SYMBOL)
    assert (oi.size, oi.value, oi.timestamp) == (Decimal("81234.505"), None, 1717210830011)
    hist = binance.parse_open_interest_history(
        load("binance", "open_interest_hist"), symbol=SYMBOL, interval="1h"
    )
    assert [(o.timestamp, o.size, o.value, o.interval) for o in hist] == [
        (1717207200000, Decimal("81100.123"), Decimal("5473921744.1875"), "1h"),
        (1717210800000, Decimal("81230.5"), Decimal("5484134312.25"), "1h"),
    ]


def test_bybit() -> None:
    body = load("bybit", "tickers_linear")
    record = body["result"]["list"][0]
    rate = bybit.parse_ticker_funding(record, symbol=SYMBOL, timestamp=body["time"])
    assert (rate.funding_time, rate.rate, rate.mark_price, rate.index_price, rate.timestamp) == (
        1717228800000,
        Decimal("0.0001"),
        Decimal("67512.10"),
        Decimal("67540.22"),
        1717210830000,
    )
    oi = bybit.parse_ticker_open_interest(record, symbol=SYMBOL, timestamp=body["time"])
    assert (oi.size, oi.value) == (Decimal("55012.871"), Decimal("3713969034.45"))
    rows = bybit.parse_funding_history(load("bybit", "funding_history")["result"], symbol=SYMBOL)
    assert [(r.funding_time, r.rate) for r in rows] == [
        (1717171200000, Decimal("-0.00002")),
        (1717200000000, Decimal("0.0001")),
    ]
    hist = bybit.parse_open_interest_history(
        load("bybit", "open_interest")["result"], symbol=SYMBOL, native_symbol="BTCUSDT", interval="1h"
    )
    assert [(o.timestamp, o.size) for o in hist] == [
        (1717207200000, Decimal("54990")),
        (1717210800000, Decimal("55012.871")),
    ]


def test_okx() -> None:
    rate = okx.parse_current_funding(load("okx", "funding_rate")["data"], symbol=SYMBOL)
    assert (rate.funding_time, rate.rate, rate.next_rate, rate.next_funding_time, rate.interval_ms) == (
        1717228800000,
        Decimal("0.0000712"),
        None,
        1717257600000,
        8 * HOUR,
    )
    rows = okx.parse_funding_history(load("okx", "funding_rate_history")["data"], symbol=SYMBOL)
    # the settled (realized) rate where given, else the rate
    assert [(r.funding_time, r.rate) for r in rows] == [
        (1717171200000, Decimal("-0.0000213")),
        (1717200000000, Decimal("0.0000890")),
    ]
    oi = okx.parse_open_interest(load("okx", "open_interest")["data"], symbol=SYMBOL)
    assert (oi.size, oi.value, oi.timestamp) == (
        Decimal("24100.125"),
        Decimal("1627310240.0625"),
        1717210830000,
    )
    hist = okx.parse_open_interest_history(
        load("okx", "open_interest_history")["data"],
        symbol=SYMBOL,
        native_symbol="BTC-USDT-SWAP",
        interval="1h",
    )
    assert [(o.timestamp, o.size, o.value) for o in hist] == [
        (1717207200000, Decimal("24000"), Decimal("1619000000.5")),
        (1717210800000, Decimal("24100.125"), Decimal("1627310240.0625")),
    ]


@pytest.mark.parametrize(
    "parse, payload, message",
    [
        (lambda p: okx.parse_current_funding(p, symbol=SYMBOL), [], "no funding-rate record"),
        (
            lambda p: okx.parse_funding_history(p, symbol=SYMBOL),
            [{"instId": "BTC-USDT-SWAP", "fundingRate": "abc", "realizedRate": "", "fundingTime": "1"}],
            "'abc', not a decimal",
        ),
        (
            lambda p: bitget.parse_open_interest(p, symbol=SYMBOL),
            {"openInterestList": [], "ts": "1"},
            "openInterestList is empty",
        ),
        (
            lambda p: binance.parse_funding_history(p, symbol=SYMBOL),
            [{"symbol": "BTCUSDT", "fundingTime": "1717200000000", "fundingRate": "0.0001"}],
            "fundingTime is '1717200000000', not a millisecond timestamp",
        ),
        (
            lambda p: bybit.parse_funding_history(p, symbol=SYMBOL),
            {"category": "linear"},
            "missing field 'list'",
        ),
        (
            lambda p: okx.parse_open_interest_history(p, symbol=SYMBOL, native_symbol="X", interval="1h"),
            [["1717207200000", "1"]],
            r"expected \[ts, oi, oiCcy, oiUsd\]",
        ),
        (
            lambda p: binance.parse_open_interest(p, symbol=SYMBOL),
            {"symbol": "BTCUSDT", "openInterest": "5x", "time": 1},
            "'5x', not a decimal",
        ),
    ],
)
def test_bad_payloads_are_payload_errors_naming_the_field(parse: Any, payload: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse(payload)


def test_a_negative_open_interest_is_left_to_the_value_checks() -> None:
    """The parse reads the sign as sent, so ``invalid="drop"`` can apply; the checks refuse it."""
    oi = binance.parse_open_interest({"symbol": "BTCUSDT", "openInterest": "-5", "time": 1}, symbol=SYMBOL)
    assert oi.size == Decimal("-5")
    [violation] = open_interest_violations([oi])
    assert (violation.row, violation.field) == (0, "size") and "-5" in violation.detail
