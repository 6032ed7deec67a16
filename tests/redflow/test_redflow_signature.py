"""signature(): one canonical string per value, the same in every process."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeflood.redflow import signature

PINNED = [
    (
        {"symbol": "BTC/USDT", "interval": "1h", "depth": 5.0},
        '{"depth":5,"interval":"1h","symbol":"BTC/USDT"}',
    ),
    ([None, True, False, 0, -1.5, Decimal("2.50")], "[null,true,false,0,-1.5,2.5]"),
    (("a", ["b", ("c",)]), '["a",["b",["c"]]]'),
    ({"é": {3, 1, 2.0}}, '{"\\u00e9":<1,2,3>}'),
    ({1: "x", "1": "y", None: "z"}, '{"1":"y",1:"x",null:"z"}'),
    (10**21, "1e21"),
    (12 * 10**30, "12e30"),
    (2**70, "1180591620717411303424"),
    (1e16, "10000000000000000"),
    (1.5e-22, "15e-23"),
    (0.000125, "0.000125"),
    (Decimal("-0.00"), "0"),
    (-0.0, "0"),
    (float("-inf"), "-inf"),
    (Decimal("NaN"), "nan"),
    ({}, "{}"),
    (frozenset(), "<>"),
    ('line\n"quoted"', '"line\\n\\"quoted\\""'),
]


@pytest.mark.parametrize(("value", "expected"), PINNED)
def test_pinned_canonical_forms(value: object, expected: str) -> None:
    assert signature(value) == expected


def test_numbers_are_equal_by_decimal_value_and_bools_are_not_numbers() -> None:
    one = {signature(1), signature(1.0), signature(Decimal("1")), signature(Decimal("1.000"))}
    assert one == {"1"}
    assert signature(0.1) == signature(Decimal("0.1")) == "0.1"
    assert signature(True) != signature(1) and signature(False) != signature(0)
    assert signature([True]) != signature([1])
    assert signature("1") != signature(1)
    assert signature([1, 2]) == signature((1, 2))
    assert signature(1.2345678901234567e19) == signature(Decimal("12345678901234567000"))


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=6), json_like, max_size=6), st.randoms())
def test_key_order_never_matters(mapping: dict[str, object], rng: object) -> None:
    items = list(mapping.items())
    rng.shuffle(items)  # type: ignore[attr-defined]
    assert signature(dict(items)) == signature(mapping)


@given(json_like, json_like)
def test_different_json_values_have_different_signatures(a: object, b: object) -> None:
    def plain(value: object) -> object:  # compare as data, floats and ints alike
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return (type(value).__name__, value)
        if isinstance(value, (int, float)):
            return ("number", Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value))
        if isinstance(value, list):
            return ("list", tuple(plain(item) for item in value))
        assert isinstance(value, dict)
        return ("dict", frozenset((key, plain(item)) for key, item in value.items()))

    assert (signature(a) == signature(b)) == (plain(a) == plain(b))


def test_the_same_in_another_process_with_another_hash_seed() -> None:
    value = {"tags": {"b", "a", "c", "d"}, "ratio": 0.1, "n": [1, 2.0, Decimal("3.10")]}
    code = (
        "from decimal import Decimal\nfrom tradeflood.redflow._signature import signature\n"
        "print(signature({'tags': {'b', 'a', 'c', 'd'}, 'ratio': 0.1,"
        " 'n': [1, 2.0, Decimal('3.10')]}))"
    )
    root = Path(__file__).resolve().parents[2]
    outputs = set()
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout.strip())
    assert outputs == {signature(value)} == {'{"n":[1,2,3.1],"ratio":0.1,"tags":<"a","b","c","d">}'}


@pytest.mark.parametrize(
    ("value", "type_name", "where"),
    [
        (object(), "object", "$"),
        ({"a": [1, {"b": b"raw"}]}, "bytes", "$['a'][1]['b']"),
        ({"when": datetime.date(2024, 1, 1)}, "date", "$['when']"),
        ([1, 2, 1j], "complex", "$[2]"),
    ],
)
def test_unsupported_types_name_the_type_and_the_path(value: object, type_name: str, where: str) -> None:
    with pytest.raises(TypeError) as caught:
        signature(value)
    message = str(caught.value)
    assert f"cannot encode {type_name!r} at {where};" in message


def test_self_containing_values_and_colliding_keys_are_value_errors() -> None:
    loop: list[object] = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match=r"contains itself at \$\[1\]"):
        signature(loop)
    with pytest.raises(ValueError, match=r"two keys with signature 0\.1"):
        signature({0.1: "float", Decimal("0.1"): "decimal"})
    shared = [1]
    assert signature([shared, shared]) == "[[1],[1]]"  # shared, not cyclic
