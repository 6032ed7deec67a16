"""tradeflood.parsing: each checked conversion, its policy, and the error naming venue, endpoint and field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradeflood.errors import PayloadError
from tradeflood.models import Trade
from tradeflood.parsing import Reader

READ = Reader("example", "/v1/things", {"whole": "payload"})


def fails(call: Any, detail: str) -> PayloadError:
    with pytest.raises(PayloadError) as err:
        call()
    assert (err.value.venue, err.value.endpoint) == ("example", "/v1/things")
    assert detail in err.value.detail, err.value.detail
    return err.value


def test_decimals_are_strings_only_unless_numbers_are_allowed() -> None:
    assert READ.decimal("1.50", "price") == Decimal("1.50") and str(READ.decimal("1.50", "price")) == "1.50"
    fails(lambda: READ.decimal(1.5, "price"), "price is 1.5, not a decimal string")
    assert READ.decimal(1.5, "price", numbers=True) == Decimal("1.5")
    assert READ.decimal(0.1, "price", numbers=True) == Decimal("0.1")  # the shortest spelling
    assert READ.decimal(3, "size", numbers=True) == Decimal(3)
    fails(lambda: READ.decimal(True, "size", numbers=True), "size is True, not a decimal number")
    fails(lambda: READ.decimal("abc", "price"), "price is 'abc', not a decimal number")
    fails(lambda: READ.decimal("NaN", "price"), "price is 'NaN', not a finite number")
    fails(lambda: READ.decimal("-Infinity", "price", negative=True), "not a finite number")


def test_negatives_only_when_allowed() -> None:
    fails(lambda: READ.decimal("-0.5", "size"), "size is '-0.5', not a non-negative number")
    assert READ.decimal("-0.5", "funding", negative=True) == Decimal("-0.5")


def test_optional_values_and_their_absent_spellings() -> None:
    assert READ.optional_decimal(None, "bid") is None and READ.optional_decimal("", "bid") is None
    assert READ.optional_decimal("2", "bid") == Decimal(2)
    assert READ.optional_ms("0", "listed", absent={None, "", "0"}) is None
    assert READ.optional_ms("1700000000000", "listed") == 1_700_000_000_000
    fails(lambda: READ.optional_decimal([1], "bid"), "bid is [1], not a decimal string")  # no TypeError


def test_timestamps_and_integers() -> None:
    assert READ.ms(1_700_000_000_000, "ts") == READ.ms("1700000000000", "ts") == 1_700_000_000_000
    fails(lambda: READ.ms("1700000000000", "ts", strings=False), "ts is '1700000000000', not a millisecond")
    fails(lambda: READ.ms(-5, "ts"), "ts is -5, not a millisecond timestamp")
    fails(lambda: READ.ms(1.7e12, "ts"), "not a millisecond timestamp")
    assert READ.integer(7, "seq") == 7 and READ.integer("7", "seq", strings=True) == 7
    fails(lambda: READ.integer("7", "seq"), "seq is '7', not a non-negative integer")


def test_text_fields_flags_shapes_and_steps() -> None:
    record = {"id": "BTC-USD", "empty": "", "maker": True}
    assert READ.text(record, "id") == "BTC-USD"
    fails(lambda: READ.text(record, "empty"), "field 'empty' is '', expected a non-empty string")
    assert READ.field(record, "maker") is True
    fails(lambda: READ.field(record, "missing"), "missing field 'missing'")
    fails(lambda: READ.flag("true", "maker"), "maker is 'true', not a boolean")
    assert READ.records([{"a": 1}]) == [{"a": 1}]
    fails(lambda: READ.records([{"a": 1}, [2]], "trades"), "expected a list of trades")
    fails(lambda: READ.record([], "an event object"), "expected an event object, got list")
    fails(lambda: READ.rows({}, "candle rows"), "expected a list of candle rows, got dict")
    assert READ.step("2", "pricePrecision") == Decimal("0.01") and READ.step(0, "p") == Decimal(1)
    fails(lambda: READ.step("two", "places"), "places is 'two', not a number of decimal places")


def test_errors_quote_the_record_and_say_where() -> None:
    row = READ.at({"px": "x"}, "trade 3")
    err = fails(lambda: row.decimal("x", "px"), "trade 3: px is 'x'")
    assert "{'px': 'x'}" in str(err)


def test_models_are_built_with_pydantic_errors_turned_into_payload_errors() -> None:
    fields = dict(exchange="example", symbol="BTC/USD", native_symbol="BTC-USD", id="1",
                  timestamp=1_700_000_000_000, price=Decimal(1), amount=Decimal(2), side="buy")
    assert READ.model(Trade, **fields).amount == Decimal(2)
    fails(lambda: READ.model(Trade, **{**fields, "side": "long"}), "cannot build Trade: side:")
