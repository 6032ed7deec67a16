"""Stored blocks as an Arrow table, built from the blocks' bytes without a Python object per value."""

from __future__ import annotations

import sys
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
    counts = [row[1] for row in rows]
    total = sum(counts)
    times = pa.Array.from_buffers(pa.int64(), total, [None, pa.py_buffer(b"".join(r[2] for r in rows))])
    arrays = [times] + [_column(pa, [row[3 + k] for row in rows], counts, fit) for k in range(6)]
    table = pa.Table.from_arrays(arrays, names=list(COLUMNS))
    if total and (times[0].as_py() < start or times[total - 1].as_py() >= end):
        import pyarrow.compute as pc

        table = table.filter(pc.and_(pc.greater_equal(times, start), pc.less(times, end)))
    return table


def candle_table(rows: Sequence[tuple[Any, ...]], start: int, end: int, *, exchange: str, symbol: str,
                 native_symbol: str, interval: str) -> pyarrow.Table | None:
    """The stored candles of ``[start, end)`` as a Candle table (as the bulk parsers make),
    every candle closed; None when a column holds a value ``decimal128(38, s)`` cannot keep."""
    from tradeflood.columnar._bulk import candle_table as build

    pa = _pyarrow()
    table = to_table(rows, start, end, fit=True)
    columns = table.columns
    if any(not pa.types.is_decimal(c.type) for c in columns[1:]):
        return None
    n = table.num_rows
    closed = pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(b"\xff" * (n // 8 + 1))])
    return build(columns[0].combine_chunks(), [c.combine_chunks() for c in columns[1:]], closed,
                 exchange=exchange, symbol=symbol, native_symbol=native_symbol, interval=interval)


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
            ints = pa.Array.from_buffers(pa.int64(), run_n, [None, pa.py_buffer(b"".join(run))])
            unscaled = ints.cast(pa.decimal128(38, 0))
            scaled = pa.Array.from_buffers(pa.decimal128(38, run_scale), run_n, unscaled.buffers())
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
