"""Candle tables: the candle columns of a history, and ``Candle`` models built from them
only when someone asks for models.

A candle table has the columns of ``arrow_schema(Candle)`` (see :mod:`._tables`):
the bulk parsers and the candle store make them, and a
:class:`~tradeflood.candles.CandleSeries` may be backed by one. The generic
operations (cut, merge, check a progression) live in :mod:`._series`.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from tradeflood.models import Candle, trusted_builder

from ._arrow import require
from ._schema import columns_of
from ._series import _values, arrow_available, ascending, merge_tables, times_of

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_available", "candle_models", "merge_candle_tables", "open_times", "series_of",
           "strictly_increasing"]

_FIELDS = [c.name for c in columns_of(Candle) if not c.computed]
_CANDLE_FIELDS = ["exchange", "symbol", "native_symbol", "interval", "open_time", "open", "high", "low",
                  "close", "volume", "quote_volume", "closed"]


def open_times(table: pa.Table) -> list[int]:
    """The table's open times, UTC milliseconds, in row order."""
    return times_of(table, "open_time")


def series_of(table: pa.Table) -> tuple[str, str, str, str] | None:
    """(exchange, symbol, native_symbol, interval) when every row of the table has the same, else None."""
    pc = require("pyarrow.compute")
    out = []
    for name in ("exchange", "symbol", "native_symbol", "interval"):
        column = table.column(name)
        unique = pc.unique(column)
        if len(unique) != 1 or column.null_count:
            return None
        out.append(unique[0].as_py())
    return out[0], out[1], out[2], out[3]


def strictly_increasing(table: pa.Table) -> bool:
    """True when the table's open times strictly increase (sorted, each once)."""
    return ascending(table, "open_time") is not None or not table.num_rows


def merge_candle_tables(tables: Sequence[pa.Table], start: int, end: int) -> pa.Table:
    """Pages of one candle series as one table of ``[start, end)`` (see :func:`._series.merge_tables`)."""
    return merge_tables(tables, start, end, "open_time", Candle)


@cache
def _build() -> Any:
    return trusted_builder(Candle)


def candle_models(table: pa.Table) -> list[Candle]:
    """The ``Candle`` models of a candle table, in row order, built without re-validation
    (the table's values were checked when it was made).

    Decimals carry their column's scale (``42000.10`` in a two-place column):
    equal, as numbers, to what the venue sent.
    """
    n = table.num_rows
    if not n:
        return []
    # Building many dicts that hold no cycles: the cyclic collector would only rescan them
    # again and again as they pile up (about 40% of the time for a million candles).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _models(table, n)
    finally:
        if collecting:
            gc.enable()


def _models(table: pa.Table, n: int) -> list[Candle]:
    columns = [_values(table.column(name), n) for name in _FIELDS]
    build = _build()
    if _FIELDS != _CANDLE_FIELDS:  # a Candle with other fields: the general way
        return [build(dict(zip(_FIELDS, row, strict=True))) for row in zip(*columns, strict=True)]
    # A dict display per row is about twice as fast as dict(zip(names, row)).
    return [build({"exchange": e, "symbol": s, "native_symbol": ns, "interval": iv, "open_time": t,
                   "open": o, "high": h, "low": lo, "close": c, "volume": v, "quote_volume": q,
                   "closed": x})
            for e, s, ns, iv, t, o, h, lo, c, v, q, x in zip(*columns, strict=True)]
