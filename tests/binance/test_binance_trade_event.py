"""Binance live trade events: reused price texts give the same values; a bad value is refused every time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradeflood.bindings.binance import parse_trade_event
from tradeflood.errors import PayloadError
from tradeflood.streams import Frame


def event(**change: Any) -> Frame:
    data = {"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": 7, "p": "67321.45000000", "q": "0.01200000",
            "f": 7, "l": 7, "T": 1_700_000_000_000, "m": True, "M": True}
    data.update(change)
    return Frame("data", "btcusdt@aggTrade", data)


def test_repeated_texts_give_the_exact_values() -> None:
    for _ in range(3):
        t = parse_trade_event(event(), "BTC/USDT")
        assert (t.id, t.price, t.amount) == ("7", Decimal("67321.45000000"), Decimal("0.01200000"))
        assert t.side == "sell"
        assert str(t.price) == "67321.45000000"


@pytest.mark.parametrize("change", [{"p": "-67321.45"}, {"p": "0"}, {"p": "NaN"}, {"p": 67321.45},
                                    {"q": "-1"}, {"p": ["1"]}, {"a": "7"}, {"m": "true"}, {"T": "1"}])
def test_a_bad_value_is_refused_even_after_good_ones(change: dict[str, Any]) -> None:
    parse_trade_event(event(), "BTC/USDT")
    with pytest.raises(PayloadError):
        parse_trade_event(event(**change), "BTC/USDT")


def test_a_missing_symbol_is_a_payload_error() -> None:
    frame = event()
    del frame.payload["s"]
    with pytest.raises(PayloadError):
        parse_trade_event(frame, "BTC/USDT")


def test_the_trade_built_in_line_is_the_validated_model() -> None:
    from tradeflood.models import Trade

    made = parse_trade_event(event(m=False, t=123, p="100.5", q="2"), "BTC/USDT")
    validated = Trade(exchange="binance", symbol="BTC/USDT", native_symbol="BTCUSDT", id="123",
                      timestamp=1_700_000_000_000, price=Decimal("100.5"), amount=Decimal("2"), side="buy")
    assert made == validated and repr(made) == repr(validated)
    assert made.model_dump() == validated.model_dump() and made.model_fields_set == validated.model_fields_set
    assert made.model_copy(update={"id": "124"}).id == "124" and made.id == "123"  # a copy leaves it whole
    with pytest.raises(ValueError):
        made.price = Decimal("1")  # type: ignore[misc]  # frozen, like every model
