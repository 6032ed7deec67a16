"""Blocks: up to BLOCK_BARS consecutive candles of one series, stored column by column.

One SQLite row per block instead of one per candle is what makes reads fast:
Python's sqlite3 builds a tuple per row, which alone costs more than 1 s for a
million rows, while a block's columns are read as a few byte strings and
turned into Arrow arrays without touching each value.

A column of decimals is stored exactly as ``kind`` byte + payload:

- ``I``: integer mantissas at the block's scale ``s`` (value = m * 10**-s), as
  little-endian int64, then, when the values did not all have exponent ``-s``,
  each value's own exponent as int8, so ``str()`` of a value read back is what
  was written (``42000.1`` stays ``42000.1`` next to ``42000.15``);
- ``T``: the values as text, separated by ``\\x1f`` (``""`` is None): for
  values that do not fit the above (more than 18 decimals, 19+ digits);
- ``N``: every value is None.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from decimal import Decimal

__all__ = ["BLOCK_BARS", "MAX_SCALE", "block_of", "decode_column", "decode_times", "encode_column",
           "encode_times", "int64_mantissas"]

#: Candles per block. A 1000-bar grid page of 1m candles touches one or two blocks.
BLOCK_BARS = 1024
#: The finest scale kept as integers (and so the largest scale of ``read_arrow``'s decimal columns).
MAX_SCALE = 18
_INT64 = 1 << 63
_SEP = "\x1f"
_SWAP = sys.byteorder != "little"


def block_of(open_time: int, bar_ms: int) -> int:
    """The key of the block holding ``open_time`` for bars of ``bar_ms`` (1M uses 31 days)."""
    span = BLOCK_BARS * bar_ms
    return open_time // span * span


def _ints(code: str, raw: bytes) -> array[int]:
    out = array(code)
    out.frombytes(raw)
    if _SWAP and code == "q":
        out.byteswap()
    return out


def _le(values: array[int]) -> bytes:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def encode_times(times: Sequence[int]) -> bytes:
    return _le(array("q", times))


def decode_times(raw: bytes) -> array[int]:
    return _ints("q", raw)


def _split(value: Decimal) -> tuple[int, int] | None:
    """(mantissa, exponent) of a decimal; None for what int64 mantissas cannot keep (NaN, -0)."""
    text = str(value)
    if text[0] == "-" and not value:
        return None
    if "E" in text or not value.is_finite():
        if not value.is_finite():
            return None
        sign, digits, exp = value.as_tuple()
        mantissa = int("".join(map(str, digits)) or "0")
        assert isinstance(exp, int)
        return (-mantissa if sign else mantissa), exp
    whole, _, frac = text.partition(".")
    return int(whole + frac), -len(frac)


def encode_column(values: Sequence[Decimal | None]) -> bytes:
    """One column of a block (see the module docstring for the layout)."""
    if all(v is None for v in values):
        return b"N"
    if any(v is None for v in values):
        return _text(values)
    parts = [_split(v) for v in values if v is not None]
    if any(p is None for p in parts):
        return _text(values)
    pairs: list[tuple[int, int]] = parts  # type: ignore[assignment]
    exps = [e for _, e in pairs]
    scale = max(0, -min(exps))
    if scale > MAX_SCALE or max(exps) > 127:
        return _text(values)
    mantissas = [m * 10 ** (e + scale) for m, e in pairs]
    if any(not -_INT64 <= m < _INT64 for m in mantissas):
        return _text(values)
    head = b"I" + bytes((scale,))
    if all(e == -scale for e in exps):
        return head + b"\x00" + _le(array("q", mantissas))
    return head + b"\x01" + _le(array("q", mantissas)) + array("b", exps).tobytes()


def _text(values: Sequence[Decimal | None]) -> bytes:
    return b"T" + _SEP.join("" if v is None else str(v) for v in values).encode()


def int64_mantissas(raw: bytes, n: int) -> tuple[int, bytes] | None:
    """(scale, the little-endian int64 mantissa bytes) of an ``I`` column, else None."""
    if raw[:1] != b"I":
        return None
    return raw[1], raw[3 : 3 + 8 * n]


def decode_column(raw: bytes, n: int) -> list[Decimal | None]:
    """The ``n`` values of a column, each with the exponent it was written with."""
    kind = raw[:1]
    if kind == b"N":
        return [None] * n
    if kind == b"T":
        return [Decimal(v) if v else None for v in raw[1:].decode().split(_SEP)]
    if kind != b"I" or len(raw) not in (3 + 8 * n, 3 + 9 * n):
        raise ValueError(f"bad column block (kind {kind!r}, {len(raw)} bytes for {n} values)")
    scale, mixed = raw[1], raw[2]
    mantissas = _ints("q", raw[3 : 3 + 8 * n])
    if not mixed:
        return [Decimal(m).scaleb(-scale) for m in mantissas]
    exps = _ints("b", raw[3 + 8 * n :])
    return [Decimal(m // 10 ** (scale + e)).scaleb(e) for m, e in zip(mantissas, exps, strict=True)]
