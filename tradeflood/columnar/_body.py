"""Rows of JSON strings read from a reply's raw bytes into one Arrow string array, without
decoding the JSON in Python.

For bodies kept as bytes (a recorded history, a cache of replies): decoding the
JSON first costs more than the columnar parse itself, since it makes a Python
string of every value. Here Arrow splits the rows' array at its quote marks; the
pieces between values must be exactly the punctuation of ``n`` rows of ``w``
JSON strings (``[["``, ``","``, ``"],["``, ``"]]``), which proves the shape. A
string with an escape, a space, a number where a string belongs, a null:
anything else raises :class:`~._bulk.Refused`, and the venue's parser decodes
the body the ordinary way.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from ._arrow import require
from ._bulk import Refused

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["string_rows_in_body"]


@lru_cache(maxsize=16)
def _layout(n: int, width: int, order: tuple[int, ...]) -> tuple[pa.Array, pa.Array, pa.Array]:
    """For ``n`` rows of ``width`` strings split at quotes: the positions of the separators,
    the separators a well-formed array has there, and the positions of the values of the
    ``order`` columns, column after column."""
    pa = require("pyarrow")
    gaps = pa.array(range(0, 2 * n * width + 1, 2), pa.int32())
    row = ["],["] + [","] * (width - 1)
    expected = pa.array(["[["] + [","] * (width - 1) + row * (n - 1) + ["]]"], pa.string())
    values = pa.array([1 + 2 * (r * width + j) for j in order for r in range(n)], pa.int32())
    return gaps, expected, values


def string_rows_in_body(body: bytes, start: int, end: int, width: int,
                        order: tuple[int, ...]) -> tuple[int, pa.Array]:
    """``(rows, strings)``: the array of rows of ``width`` JSON strings at ``body[start:end]``
    (from its ``[[`` to its ``]]``), as the ``order`` columns' values end to end, column
    after column; :class:`Refused` unless it is exactly that.

    >>> n, strings = string_rows_in_body(b'[["1","2"],["3","4"]]', 0, 21, 2, (1, 0))  # doctest: +SKIP
    >>> strings.to_pylist()  # doctest: +SKIP
    ['2', '4', '1', '3']
    """
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    one = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(
        start.to_bytes(4, "little") + end.to_bytes(4, "little")), pa.py_buffer(body)])
    try:
        one.validate(full=True)  # valid UTF-8, so the string kernels may read it
    except pa.ArrowInvalid:
        raise Refused from None
    pieces = pc.split_pattern(one, '"').flatten()
    rows, extra = divmod(len(pieces) - 1, 2 * width)
    if extra or not rows:
        raise Refused
    gaps, expected, values = _layout(rows, width, order)
    if not pc.take(pieces, gaps).equals(expected):
        raise Refused  # not exactly rows of `width` plain strings
    return rows, pc.take(pieces, values)
