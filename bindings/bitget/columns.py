"""Bitget candle rows straight into Arrow columns, without one Candle per row.

:func:`candle_columns_bitget` takes decoded rows; :func:`candle_columns_bitget_body`
takes a reply's raw bytes and never decodes its JSON in Python. Both hand every
value to Arrow's checked casts; anything the fast path refuses goes to
:func:`~.parse.parse_candles`, so a bad payload raises exactly that parser's
:class:`~tradeflood.errors.PayloadError` and the table always equals
``to_arrow(parse_candles(...))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from tradeflood.columnar import (
    CandleRows,
    Decimals,
    Refused,
    candle_rows_table,
    candle_table,
    check_decimals,
    closed_by_end,
    decimal_columns,
    require,
    string_rows_in_body,
)
from tradeflood.errors import PayloadError
from tradeflood.models import Candle

from .parse import EXCHANGE, parse_candles

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["candle_columns_bitget", "candle_columns_bitget_body"]

_DATA = b'"data":[['


#: Spot rows: open time, open..base volume, the USDT volume (checked, not kept), quote volume.
_SPOT_ROWS = CandleRows(width=8, values=(1, 2, 3, 4, 5, 7), checked=(6,))
#: Mix (futures) rows: open time, open..base volume, quote volume.
_MIX_ROWS = CandleRows(width=7, values=(1, 2, 3, 4, 5, 6))


def candle_columns_bitget(
    rows: Any, *, symbol: str, native_symbol: str, interval: str, received_ms: int, spot: bool,
    exchange: str = EXCHANGE, endpoint: str = "candles", decimals: Decimals = "exact",
) -> pa.Table:
    """Bitget candle rows (spot or mix, as :func:`~.parse.parse_candles` takes them) as a
    Candle table, in the order sent, every value checked. Spot column 6 (the USDT volume)
    is not kept but is checked like the rest.

    >>> table = candle_columns_bitget(rows, symbol="BTC/USDT", native_symbol="BTCUSDT",
    ...                               interval="1m", received_ms=now_ms, spot=True)  # doctest: +SKIP
    """
    def models() -> list[Candle]:
        return parse_candles(rows, symbol=symbol, native_symbol=native_symbol, interval=interval,
                             received_ms=received_ms, spot=spot, endpoint=endpoint)

    return candle_rows_table(rows, _SPOT_ROWS if spot else _MIX_ROWS, models, exchange=exchange,
                             symbol=symbol, native_symbol=native_symbol, interval=interval,
                             received_ms=received_ms, endpoint=endpoint, decimals=decimals)


def candle_columns_bitget_body(
    body: bytes, *, symbol: str, native_symbol: str, interval: str, received_ms: int, spot: bool,
    exchange: str = EXCHANGE, endpoint: str = "candles", decimals: Decimals = "exact",
) -> pa.Table:
    """A Bitget candle reply's body (``{"code":"00000",...,"data":[[...]]}`` as sent) as a
    Candle table, equal to ``candle_columns_bitget(orjson.loads(body)["data"], ...)``.

    The envelope before ``data`` is decoded (a few bytes); the rows are split by
    :func:`tradeflood.columnar.string_rows_in_body`. A string with an escape, a
    number where a string belongs, an envelope other than ``{"code":"00000",...}``
    with ``data`` last: anything else is decoded with orjson and handed to
    :func:`candle_columns_bitget`.

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
        start, end = _data_array(body)
        n, strings = string_rows_in_body(body, start, end, q + 1, order)
        try:
            open_ms = pc.cast(strings.slice(0, n), pa.int64())
        except pa.ArrowInvalid:
            raise Refused from None
        values = strings.slice(n)
        if spot and values.slice(5 * n, n).equals(values.slice(6 * n, n)):
            values = values.slice(0, 6 * n)  # the USDT volume repeats the quote volume: checked with it
        prices = decimal_columns(values, n, len(values) // n, decimals)[:6]
    except Refused:
        return candle_columns_bitget(_data(body, endpoint), **args)
    return candle_table(open_ms, prices, closed_by_end(open_ms, interval, received_ms), exchange=exchange,
                        symbol=symbol, native_symbol=native_symbol, interval=interval)


def _data_array(body: bytes) -> tuple[int, int]:
    """Where the ``data`` array of a success reply starts and ends (``[[`` to ``]]``), or Refused."""
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
    return at + len(_DATA) - 2, len(body) - 1


def _data(body: bytes, endpoint: str) -> Any:
    """The reply's ``data``, decoded; a PayloadError when the body is not a Bitget success reply."""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PayloadError(EXCHANGE, endpoint, "the reply is not JSON", body[:200]) from None
    if type(decoded) is not dict or decoded.get("code") != "00000" or "data" not in decoded:
        raise PayloadError(EXCHANGE, endpoint, "expected a success reply ({\"code\": \"00000\", "
                           "\"data\": [...]})", body[:200])
    return decoded["data"]
