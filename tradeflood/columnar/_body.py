"""A Bitget candle reply's raw body straight into Arrow columns, without decoding it in Python.

For bodies kept as bytes (a recorded history, a cache of replies): decoding
the JSON first costs more than the columnar parse itself, since it makes a
Python string of every value. Here Arrow splits the reply's ``data`` array at
its quote marks; the pieces between values must be exactly the punctuation of
``n`` rows of ``w`` JSON strings (``[["``, ``","``, ``"],["``, ``"]]``), which
proves the shape; every value then goes through the same checked casts as
:func:`candle_columns_bitget`. A string with an escape, a space, a number where
a string belongs, a null, an envelope other than ``{"code":"00000",...,"data":[...]}``
as the last key: anything else is decoded with orjson and handed to
:func:`candle_columns_bitget`, so a bad reply raises the same
:class:`~tradeflood.errors.PayloadError`, naming the row and the field.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from tradeflood.errors import PayloadError
from tradeflood.intervals import interval_end, interval_ms

from ._arrow import Decimals, check_decimals, require
from ._bulk import Refused, candle_columns_bitget, candle_table, decimals_of

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["candle_columns_bitget_body"]

_DATA = b'"data":[['


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


def _fast(body: bytes, width: int, order: tuple[int, ...]) -> tuple[int, pa.Array]:
    """(rows, the ``order`` columns' strings end to end), or Refused."""
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    at = body.find(_DATA)
    if at < 0 or not body.endswith(b"]]}"):
        raise Refused
    head = body[:at].rstrip()
    if not head.endswith(b","):
        raise Refused
    try:  # the envelope before "data", closed: one small decode
        envelope = orjson.loads(head[:-1] + b"}")
    except orjson.JSONDecodeError:
        raise Refused from None
    if type(envelope) is not dict or envelope.get("code") != "00000" or "data" in envelope:
        raise Refused
    start, end = at + len(_DATA) - 2, len(body) - 1  # the data array, "[[" to "]]"
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


def candle_columns_bitget_body(
    body: bytes, *, symbol: str, native_symbol: str, interval: str, received_ms: int, spot: bool,
    exchange: str = "bitget", endpoint: str = "candles", decimals: Decimals = "exact",
) -> pa.Table:
    """A Bitget candle reply's body (``{"code":"00000",...,"data":[[...]]}`` as sent) as a
    Candle table, equal to ``candle_columns_bitget(orjson.loads(body)["data"], ...)``.

    >>> table = candle_columns_bitget_body(reply_bytes, symbol="BTC/USDT", native_symbol="BTCUSDT",
    ...                                    interval="1m", received_ms=now_ms, spot=True)  # doctest: +SKIP
    """
    check_decimals(decimals)
    args: dict[str, Any] = {"symbol": symbol, "native_symbol": native_symbol, "interval": interval,
                            "received_ms": received_ms, "spot": spot, "exchange": exchange,
                            "endpoint": endpoint, "decimals": decimals}
    q = 7 if spot else 6
    # open time, open..base volume, quote volume, and (spot) the USDT volume, checked but not kept
    order = (0, 1, 2, 3, 4, 5, 7, 6) if spot else (0, 1, 2, 3, 4, 5, 6)
    try:
        pa, pc = require("pyarrow"), require("pyarrow.compute")
        n, strings = _fast(body, q + 1, order)
        try:
            open_ms = pc.cast(strings.slice(0, n), pa.int64())
        except pa.ArrowInvalid:
            raise Refused from None
        values = strings.slice(n)
        if spot and values.slice(5 * n, n).equals(values.slice(6 * n, n)):
            values = values.slice(0, 6 * n)  # the USDT volume repeats the quote volume: checked with it
        prices = decimals_of(values, n, len(values) // n, decimals)[:6]
    except Refused:
        return candle_columns_bitget(_data(body, endpoint), **args)
    if interval == "1M":
        closed = pa.array([interval_end(t, interval) <= received_ms for t in open_ms.to_pylist()])
    else:
        closed = pc.less_equal(open_ms, received_ms - interval_ms(interval))
    return candle_table(open_ms, prices, closed, exchange=exchange, symbol=symbol,
                        native_symbol=native_symbol, interval=interval)


def _data(body: bytes, endpoint: str) -> Any:
    """The reply's ``data``, decoded; a PayloadError when the body is not a Bitget success reply."""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PayloadError("bitget", endpoint, "the reply is not JSON", body[:200]) from None
    if type(decoded) is not dict or decoded.get("code") != "00000" or "data" not in decoded:
        raise PayloadError("bitget", endpoint, "expected a success reply ({\"code\": \"00000\", "
                           "\"data\": [...]})", body[:200])
    return decoded["data"]
