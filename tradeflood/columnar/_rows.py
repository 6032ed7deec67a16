"""Decoded candle rows into a Candle table, for any venue: the venue says where each field is.

Most venues send a candle page as a list of arrays, one a bar, and differ only
in where each field sits, how open times are written, how a bar is known to be
final and which end of the page is newest. :class:`CandleRows` says that much;
:func:`candle_rows_table` does the rest, column by column (see
:mod:`tradeflood.columnar._bulk`), and hands anything unusual to the venue's
model parser, so a bad page raises exactly that parser's PayloadError::

    ROWS = CandleRows(width=8, values=(1, 2, 3, 4, 5, 7))

    def candle_columns(rows, *, symbol, native_symbol, interval, received_ms, decimals="exact"):
        return candle_rows_table(
            rows, ROWS, lambda: parse_candles(rows, ...), exchange="example", symbol=symbol,
            native_symbol=native_symbol, interval=interval, received_ms=received_ms, decimals=decimals)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

from tradeflood.intervals import interval_end, interval_ms
from tradeflood.models import Candle

from ._arrow import Decimals, check_decimals, require
from ._bulk import Refused, candle_table, columns_or_models, decimal_columns, row_columns
from ._tables import arrow_schema

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["CandleRows", "candle_rows_table", "closed_by_end"]


@dataclass(frozen=True, slots=True)
class CandleRows:
    """Where a venue's candle row holds each field (positions from 0).

    ``values`` are the open, high, low, close, volume and quote volume, decimal
    strings; ``width`` how many fields every row has at least. ``checked`` are
    fields read and checked like the values but not kept (skipped when equal to a
    kept column, whose check covers them). Open times are strings of digits, or
    JSON integers with ``int_times``. A bar is final when ``confirm`` (a field of
    "0" or "1") is "1", else when ``close_time`` (a field: the bar's last
    millisecond) is before the reply arrived, else when the bar's end is at or
    before it (:func:`closed_by_end`). With ``newest_first`` the table is
    turned oldest first, and a page out of order goes to the model parser (which sorts).
    """

    values: tuple[int, int, int, int, int, int]
    width: int
    time: int = 0
    checked: tuple[int, ...] = ()
    int_times: bool = False
    close_time: int | None = None
    confirm: int | None = None
    newest_first: bool = False


def closed_by_end(open_ms: pa.Array, interval: str, received_ms: int) -> pa.Array:
    """Closed flags of bars opened at ``open_ms``: a bar has closed once its end is at or before
    ``received_ms`` (calendar months one by one)."""
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    if interval == "1M":
        return pa.array([interval_end(t, interval) <= received_ms for t in open_ms.to_pylist()])
    return pc.less_equal(open_ms, received_ms - interval_ms(interval))


def candle_rows_table(
    rows: Any, layout: CandleRows, models: Callable[[], Sequence[Candle]], *, exchange: str, symbol: str,
    native_symbol: str, interval: str, received_ms: int | None = None, endpoint: str = "candles",
    decimals: Decimals = "exact",
) -> pa.Table:
    """Decoded candle rows laid out as ``layout`` says, as a Candle table, oldest first, every value
    read checked by Arrow's casts; a page the columns do not take (a bad or unusual value, rows
    out of order) is the table of ``models()``, the venue's model parse of the same rows, which
    raises its PayloadError for a bad page. ``received_ms`` is needed unless ``layout.confirm``
    says which bars are final.

    >>> candle_rows_table(rows, CandleRows(width=7, values=(1, 2, 3, 4, 5, 6)), parse,
    ...                   exchange="example", symbol="BTC/USDT", native_symbol="BTCUSDT",
    ...                   interval="1m", received_ms=now_ms)  # doctest: +SKIP
    """
    check_decimals(decimals)
    if received_ms is None and layout.confirm is None:
        raise TypeError("candle_rows_table: received_ms is needed to tell which bars are closed")

    def fast() -> pa.Table:
        if type(rows) is not list:
            raise Refused
        if not rows:
            return arrow_schema(Candle, decimals).empty_table()
        return _table(rows, layout, exchange=exchange, symbol=symbol, native_symbol=native_symbol,
                      interval=interval, received_ms=received_ms, decimals=decimals)

    return columns_or_models(fast, models, exchange=exchange, decimals=decimals, endpoint=endpoint)


def _table(rows: list[Any], layout: CandleRows, *, exchange: str, symbol: str, native_symbol: str,
           interval: str, received_ms: int | None, decimals: Decimals) -> pa.Table:
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    cols = row_columns(rows[::-1] if layout.newest_first else rows, layout.width)
    n = len(rows)
    flags = cols[layout.confirm] if layout.confirm is not None else None
    if flags is not None and any(flag not in ("0", "1") for flag in flags):
        raise Refused
    kept = [cols[i] for i in layout.values]
    picked = kept + [cols[i] for i in layout.checked if all(cols[i] != k for k in kept)]
    times = [cols[layout.time]] + ([cols[layout.close_time]] if layout.close_time is not None else [])
    k = len(times) * n
    try:
        if layout.int_times:
            # Inferred, not cast: only an all-int column infers as int64 (floats and strings
            # do not; bools are refused).
            ms = pa.array(list(chain(*times)))
            strings = pa.array(list(chain(*picked)), pa.string())
            if ms.type != pa.int64() or pc.min(ms.slice(0, n)).as_py() < 0:
                raise Refused
        else:
            strings = pa.array(list(chain(*times, *picked)), pa.string())
            ms = pc.cast(strings.slice(0, k), pa.int64())
            strings = strings.slice(k)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        raise Refused from None
    open_ms = ms.slice(0, n)
    if (layout.newest_first and n > 1
            and not pc.all(pc.greater(open_ms.slice(1), open_ms.slice(0, n - 1))).as_py()):
        raise Refused  # out of order: the model parse sorts
    prices = decimal_columns(strings, n, len(picked), decimals)[:6]
    if flags is not None:
        closed = pa.array([flag == "1" for flag in flags])
    elif layout.close_time is not None:
        closed = pc.less(ms.slice(n, n), received_ms)
    else:
        assert received_ms is not None  # candle_rows_table says so
        closed = closed_by_end(open_ms, interval, received_ms)
    return candle_table(open_ms, prices, closed, exchange=exchange, symbol=symbol,
                        native_symbol=native_symbol, interval=interval)
