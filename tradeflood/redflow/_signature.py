"""Canonical, process-independent signatures of nested data, used as cluster ids.

The form is JSON-like and never uses hash(), so equal data gives the same
string in every process and Python version:

- ``None`` -> ``null``; ``True``/``False`` -> ``true``/``false`` (never ``1``/``0``).
- Numbers (int, float, Decimal) are canonicalised by decimal value, so
  ``1``, ``1.0``, ``Decimal("1.000")`` all give ``1`` and ``0.1`` (float) gives
  the same as ``Decimal("0.1")``; a float counts as its shortest repr. The
  coefficient loses trailing zeros; numbers print positionally when the
  decimal exponent lies in -20..20 (``100``, ``0.25``, ``-3.5``) and as
  ``<digits>e<exp>`` otherwise (``1e21``, ``15e-22``). ``-0`` is ``0``;
  infinities are ``inf``/``-inf``; every NaN is ``nan``.
- Strings are JSON string literals with non-ASCII escaped: ``"BTC/USDT"``.
- Lists and tuples are both sequences: ``[1,"a"]``.
- Mappings print as ``{key:value,...}`` sorted by the key's signature; two
  distinct keys with one signature (``0.1`` and ``Decimal("0.1")``) are a
  ValueError.
- Sets and frozensets print as ``<a,b>``, sorted, equal signatures merged.

Anything else is a TypeError naming the type and where it sits (``$['a'][0]``);
a container that contains itself is a ValueError.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

__all__ = ["signature"]

_INT_PLAIN_LIMIT = 10**21  # ints below this never have more than 20 trailing zeros
_FLOAT_EXACT_LIMIT = 2.0**53  # integral floats below this equal their shortest repr
_MAX_PLAIN_EXPONENT = 20


def signature(obj: object) -> str:
    """Return the canonical signature of `obj`, a stable string fit for a cluster id.

    >>> signature({"symbol": "BTC/USDT", "interval": "1h", "depth": 5.0})
    '{"depth":5,"interval":"1h","symbol":"BTC/USDT"}'
    """
    return _encode(obj, [], set())


def _encode(obj: Any, path: list[Hashable], active: set[int]) -> str:
    kind = type(obj)
    if kind is str:
        return encode_basestring_ascii(obj)
    if kind is int:
        return str(obj) if -_INT_PLAIN_LIMIT < obj < _INT_PLAIN_LIMIT else _decimal(Decimal(obj))
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if kind is float:
        return _float(obj)
    if isinstance(obj, Decimal):
        return _decimal(obj)
    if isinstance(obj, str):
        return encode_basestring_ascii(obj)
    if isinstance(obj, bool):  # pragma: no cover - bool cannot be subclassed
        return "true" if obj else "false"
    if isinstance(obj, int):
        return _encode(int(obj), path, active)
    if isinstance(obj, float):
        return _float(float(obj))
    if isinstance(obj, (list, tuple, Mapping, set, frozenset)):
        return _container(obj, path, active)
    raise TypeError(
        f"signature() cannot encode {kind.__qualname__!r} at {_where(path)}; "
        "supported: None, bool, int, float, Decimal, str, list, tuple, dict, set, frozenset"
    )


def _container(obj: Any, path: list[Hashable], active: set[int]) -> str:
    marker = id(obj)
    if marker in active:
        raise ValueError(f"signature() found a container that contains itself at {_where(path)}")
    active.add(marker)
    try:
        if isinstance(obj, Mapping):
            return _mapping(obj, path, active)
        if isinstance(obj, (set, frozenset)):
            parts = sorted({_encode(item, [*path, _SetItem()], active) for item in obj})
            return "<" + ",".join(parts) + ">"
        items = []
        for index, item in enumerate(obj):
            path.append(index)
            items.append(_encode(item, path, active))
            path.pop()
        return "[" + ",".join(items) + "]"
    finally:
        active.discard(marker)


def _mapping(obj: Mapping[Any, Any], path: list[Hashable], active: set[int]) -> str:
    entries: dict[str, str] = {}
    for key, value in obj.items():
        path.append(key)
        key_sig = _encode(key, [*path[:-1], _Key(key)], active)
        if key_sig in entries:
            raise ValueError(
                f"signature() found two keys with signature {key_sig} at {_where(path[:-1])}; "
                "use keys that differ by value"
            )
        entries[key_sig] = _encode(value, path, active)
        path.pop()
    return "{" + ",".join(k + ":" + entries[k] for k in sorted(entries)) + "}"


def _float(value: float) -> str:
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and -_FLOAT_EXACT_LIMIT < value < _FLOAT_EXACT_LIMIT:
        return str(int(value))
    return _decimal(Decimal(repr(value)))


def _decimal(value: Decimal) -> str:
    if value.is_nan():
        return "nan"
    if value.is_infinite():
        return "-inf" if value.is_signed() else "inf"
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return "0"
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    prefix = "-" if sign else ""
    if exponent > _MAX_PLAIN_EXPONENT or exponent < -_MAX_PLAIN_EXPONENT:
        return f"{prefix}{stripped}e{exponent}"
    if exponent >= 0:
        return prefix + stripped + "0" * exponent
    if len(stripped) <= -exponent:
        return prefix + "0." + "0" * (-exponent - len(stripped)) + stripped
    return prefix + stripped[:exponent] + "." + stripped[exponent:]


class _Key:
    """A path step standing for a mapping key itself, rather than its value."""

    def __init__(self, key: object) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"<key {self.key!r}>"


class _SetItem:
    """A path step standing for some element of a set."""

    def __repr__(self) -> str:
        return "<set item>"


def _where(path: list[Hashable]) -> str:
    return "$" + "".join(f"[{step!r}]" for step in path)
