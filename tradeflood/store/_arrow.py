"""Stored blocks as an Arrow table, built from the blocks' bytes without a Python object per value."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import _blocks as blocks

if TYPE_CHECKING:
    import pyarrow

__all__ = ["COLUMNS", "to_table"]

COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume")


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as exc:
        raise ImportError("CandleStore.read_arrow needs pyarrow: pip install pyarrow") from exc
    return pyarrow


def to_table(rows: Sequence[tuple[Any, ...]], start: int, end: int) -> pyarrow.Table:
    """Rows of ``(block, count, open_time, open, ..., quote_volume)`` as a table of ``[start, end)``."""
    pa = _pyarrow()
    counts = [row[1] for row in rows]
    total = sum(counts)
    times = pa.Array.from_buffers(pa.int64(), total, [None, pa.py_buffer(b"".join(r[2] for r in rows))])
    arrays = [times] + [_column(pa, [row[3 + k] for row in rows], counts) for k in range(6)]
    table = pa.Table.from_arrays(arrays, names=list(COLUMNS))
    if total and (times[0].as_py() < start or times[total - 1].as_py() >= end):
        import pyarrow.compute as pc

        table = table.filter(pc.and_(pc.greater_equal(times, start), pc.less(times, end)))
    return table


def _column(pa: Any, raws: Sequence[bytes], counts: Sequence[int]) -> Any:
    """One value column as decimal128(38, 18), or as strings when that type cannot hold a value."""
    dec = pa.decimal128(38, blocks.MAX_SCALE)
    pieces: list[Any] = []
    run: list[bytes] = []
    run_scale, run_n = -1, 0

    def flush() -> None:
        nonlocal run, run_n
        if run:
            ints = pa.Array.from_buffers(pa.int64(), run_n, [None, pa.py_buffer(b"".join(run))])
            unscaled = ints.cast(pa.decimal128(38, 0))
            scaled = pa.Array.from_buffers(pa.decimal128(38, run_scale), run_n, unscaled.buffers())
            pieces.append(scaled.cast(dec))
        run, run_n = [], 0

    try:
        for raw, n in zip(raws, counts, strict=True):
            found = blocks.int64_mantissas(raw, n)
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
    return pa.chunked_array(pieces, type=dec).combine_chunks() if pieces else pa.array([], type=dec)
