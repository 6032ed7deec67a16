"""CheckedDecimals: a cache of checked decimal texts gives exactly what Decimal(text) gives, or None."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeflood.parsing import CheckedDecimals


@given(st.decimals(min_value=Decimal("1e-12"), max_value=Decimal("1e20"), places=8))
def test_a_cached_value_is_exactly_the_parsed_one(value: Decimal) -> None:
    cache = CheckedDecimals()
    text = str(value)
    first = cache.read(text)
    again = cache.known.get(text)
    assert first is not None and again is first
    assert first.as_tuple() == Decimal(text).as_tuple()  # digits and exponent alike


@pytest.mark.parametrize("text", ["0", "-1", "-0.5", "NaN", "sNaN", "Infinity", "1e30", "abc", "", 5, 1.5,
                                  None])
def test_invalid_prices_are_never_cached(text: Any) -> None:
    cache = CheckedDecimals()
    assert cache.read(text) is None
    assert cache.known == {}


def test_zero_is_allowed_when_asked_and_the_cache_stays_bounded() -> None:
    sizes = CheckedDecimals(size=4, zero=True)
    assert sizes.read("0") == 0 and sizes.read("-0.1") is None
    for i in range(10):
        assert sizes.read(f"{i}.5") == Decimal(f"{i}.5")
        assert len(sizes.known) <= 4
