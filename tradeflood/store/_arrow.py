"""Stored blocks as an Arrow table, built from the blocks' bytes without a Python object per value."""

from __future__ import annotations

import sys
from bisect import bisect_left
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import _blocks as blocks

if TYPE_CHECKING:
    import pyarrow

__all__ = ["COLUMNS", "candle_table", "encode_decimals", "to_table"]

COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume")


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as exc:
        raise ImportError("CandleStore.read_arrow needs pyarrow: pip install pyarrow") from exc
    return pyarrow


def to_table(rows: Sequence[tuple[Any, ...]], start: int, end: int, *, fit: bool = False) -> pyarrow.Table:
    """Rows of ``(block, count, open_time, open, ..., quote_volume)`` as a table of ``[start, end)``.

    Value columns are ``decimal128(38, 18)``, or with ``fit`` ``decimal128(38, s)``, ``s``
    the most decimal places stored in the column; strings where that cannot hold a value.
    """
    pa = _pyarrow()
    arrays = _arrays(pa, rows, start, end, fit)
    return pa.Table.from_arrays(arrays, names=list(COLUMNS))


def _arrays(pa: Any, rows: Sequence[tuple[Any, ...]], start: int, end: int, fit: bool) -> list[Any]:
    """The open-time column and the six value columns of ``[start, end)``."""
    counts = [row[1] for row in rows]
    total = sum(counts)
    raw_times = b"".join(r[2] for r in rows)
    times = pa.Array.from_buffers(pa.int64(), total, [None, pa.py_buffer(raw_times)])
    arrays = [times] + [_column(pa, [row[3 + k] for row in rows], counts, fit) for k in range(6)]
    # Blocks come in order and each holds its open times in order: the range is one slice.
    ordered = memoryview(raw_times).cast("q")
    lo, hi = bisect_left(ordered, start), bisect_left(ordered, end)
    if (lo, hi) != (0, total):
        arrays = [a.slice(lo, hi - lo) for a in arrays]
    return arrays


def candle_table(rows: Sequence[tuple[Any, ...]], start: int, end: int, *, exchange: str, symbol: str,
                 native_symbol: str, interval: str) -> pyarrow.Table | None:
    """The stored candles of ``[start, end)`` as a Candle table (as the bulk parsers make),
    every candle closed; None when a column holds a value ``decimal128(38, s)`` cannot keep."""
    from tradeflood.columnar._bulk import candle_table as build

    pa = _pyarrow()
    times, *values = _arrays(pa, rows, start, end, True)
    if any(not pa.types.is_decimal(c.type) for c in values):
        return None
    n = len(times)
    closed = pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(b"\xff" * (n // 8 + 1))])
    return build(times, values, closed, exchange=exchange, symbol=symbol, native_symbol=native_symbol,
                 interval=interval)


def _column(pa: Any, raws: Sequence[bytes], counts: Sequence[int], fit: bool = False) -> Any:
    """One value column as decimal128(38, 18) (or, with ``fit``, the column's own scale),
    or as strings when that type cannot hold a value."""
    found_all = [blocks.int64_mantissas(raw, n) for raw, n in zip(raws, counts, strict=True)]
    scale = max((f[0] for f in found_all if f is not None), default=0) if fit else blocks.MAX_SCALE
    if fit and any(f is None and raw[:1] != b"N" for f, raw in zip(found_all, raws, strict=True)):
        scale = blocks.MAX_SCALE  # text blocks: values of any scale up to the finest kept
    dec = pa.decimal128(38, scale)
    pieces: list[Any] = []
    run: list[bytes] = []
    run_scale, run_n = -1, 0

    def flush() -> None:
        nonlocal run, run_n
        if run:
            wide = pa.py_buffer(_widen(b"".join(run), run_n))
            scaled = pa.Array.from_buffers(pa.decimal128(38, run_scale), run_n, [None, wide])
            pieces.append(scaled if run_scale == scale else scaled.cast(dec))
        run, run_n = [], 0

    try:
        for raw, n, found in zip(raws, counts, found_all, strict=True):
            if found is not None and found[0] == run_scale:
                run.append(found[1])
                run_n += n
                continue
            flush()
            if found is not None:
                run_scale, run, run_n = found[0], [found[1]], n
            else:
                run_scale = -1
                pieces.append(pa.array(blocks.decode_column(raw, n), type=dec))
        flush()
    except (pa.ArrowInvalid, ArithmeticError):
        values: list[Decimal | None] = []
        for raw, n in zip(raws, counts, strict=True):
            values += blocks.decode_column(raw, n)
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if not pieces:
        return pa.array([], type=dec)
    return pieces[0] if len(pieces) == 1 else pa.chunked_array(pieces, type=dec).combine_chunks()


_SIGN = bytes(0 if b < 0x80 else 0xFF for b in range(256))
_NON_NEGATIVE = bytes(range(0x80))


def _widen(raw: bytes, n: int) -> bytearray:
    """Little-endian int64 mantissas as decimal128 words (each sign-extended to 16 bytes).

    Arrow's int64-to-decimal cast checks every value against the precision, about
    100 ns a value; this is a strided copy.
    """
    out = bytearray(16 * n)
    words = memoryview(out).cast("q")
    words[0::2] = memoryview(raw).cast("q")
    tops = raw[7::8]  # each mantissa's most significant byte
    if tops.translate(None, _NON_NEGATIVE):  # some mantissa is negative: fill its high word
        high = bytearray(8 * n)
        signs = tops.translate(_SIGN)
        for k in range(8):
            high[k::8] = signs
        words[1::2] = memoryview(high).cast("q")
    return out


def encode_decimals(column: Any) -> bytes | None:
    """A decimal128 column as a stored ``I`` column (see :mod:`._blocks`), or None when it
    does not fit one (nulls, a scale past MAX_SCALE, a mantissa past int64)."""
    pa = _pyarrow()
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = array.type
    if not pa.types.is_decimal128(kind) or array.null_count or kind.scale > blocks.MAX_SCALE \
            or sys.byteorder != "little":
        return None
    n = len(array)
    unscaled = pa.Array.from_buffers(pa.decimal128(38, 0), n, [None, array.buffers()[1]], offset=array.offset)
    try:
        mantissas = unscaled.cast(pa.int64())
    except pa.ArrowInvalid:
        return None
    raw: bytes = mantissas.buffers()[1].to_pybytes()[: 8 * n]
    return b"I" + bytes((kind.scale,)) + b"\x00" + raw
