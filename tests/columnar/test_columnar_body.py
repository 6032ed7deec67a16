"""Bitget reply bodies straight into columns: equal to decoding first, and hostile bodies refused."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import orjson
import pytest

from tradeflood.bindings.bitget import candle_columns_bitget, candle_columns_bitget_body, parse_candles
from tradeflood.columnar import to_arrow
from tradeflood.errors import PayloadError

pa = pytest.importorskip("pyarrow", reason="columnar results need pyarrow (pip install pyarrow)")

NAMES = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": "1m"}


def body(rows: Any, **envelope: Any) -> bytes:
    return orjson.dumps({"code": "00000", "msg": "success", "requestTime": 1, **envelope, "data": rows})


@pytest.mark.parametrize("kind", ["spot", "mix"])
def test_a_body_gives_the_table_of_its_decoded_rows(bitget_payloads: dict[str, Any], kind: str) -> None:
    rows, now = bitget_payloads[kind], bitget_payloads["now"]
    args = {**NAMES, "received_ms": now, "spot": kind == "spot"}
    table = candle_columns_bitget_body(body(rows), **args)
    assert table.num_rows == 1000
    assert table.equals(candle_columns_bitget(rows, **args))
    assert table.equals(to_arrow(parse_candles(rows, **args)))
    assert table.column("open_time").cast(pa.int64()).to_pylist() == [int(r[0]) for r in rows]
    assert table.column("close").to_pylist() == [Decimal(r[4]) for r in rows]
    floats = candle_columns_bitget_body(body(rows), decimals="float", **args)
    assert floats.column("high").to_pylist() == [float(r[2]) for r in rows]


def test_unusual_but_valid_bodies_take_the_decoding_way(bitget_payloads: dict[str, Any]) -> None:
    rows, now = bitget_payloads["spot"][:30], bitget_payloads["now"]
    args = {**NAMES, "received_ms": now, "spot": True}
    expected = candle_columns_bitget(rows, **args)
    spaced = orjson.dumps({"code": "00000", "data": rows}, option=orjson.OPT_INDENT_2)
    escaped = body(rows).replace(b'"' + rows[3][1].encode() + b'"',
                                 b'"' + rows[3][1].encode().replace(b"1", b"\\u0031") + b'"', 1)
    data_first = orjson.dumps({"data": rows, "code": "00000"})
    for variant in (spaced, escaped, data_first):
        assert candle_columns_bitget_body(variant, **args).equals(expected)


@pytest.mark.parametrize(("change", "message"), [
    (lambda rows: rows[3].pop(), "candle row 3 has 7 fields, expected at least 8"),
    (lambda rows: rows[5].__setitem__(2, "NaN"), "candle row 5: high is 'NaN', not a finite number"),
    (lambda rows: rows[7].__setitem__(1, "12,5"), "candle row 7: open is '12,5'"),
    (lambda rows: rows[8].__setitem__(5, 1.5), "candle row 8: base volume is 1.5 \\(float\\)"),
    (lambda rows: rows[9].__setitem__(0, "17e11"), "candle row 9: open time is '17e11'"),
    (lambda rows: rows[2].__setitem__(6, "nan"), "candle row 2: USDT volume is 'nan'"),
    (lambda rows: rows[6].__setitem__(4, 'x","1'), "candle row 6: close is 'x\",\"1'"),
    (lambda rows: rows.__setitem__(4, None), "candle row 4 is NoneType, expected an array"),
    (lambda rows: rows[1].append("1"), None),  # a longer row is fine: the extra field is not read
])
def test_bad_rows_in_a_body_raise_the_payload_error_of_the_row(
        bitget_payloads: dict[str, Any], change: Any, message: str | None) -> None:
    rows = copy.deepcopy(bitget_payloads["spot"][:20])
    change(rows)
    args = {**NAMES, "received_ms": bitget_payloads["now"], "spot": True}
    if message is None:
        assert candle_columns_bitget_body(body(rows), **args).equals(candle_columns_bitget(rows, **args))
        return
    with pytest.raises(PayloadError, match=message) as err:
        candle_columns_bitget_body(body(rows), **args)
    assert err.value.venue == "bitget"


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"code":"00000","data":[["1","2"]', "not JSON"),
    (b"\xff\xfe garbage", "not JSON"),
    (b'{"code":"40034","msg":"bad symbol","data":null}', "success reply"),
    (b'{"code":"00000","msg":"no data here"}', "success reply"),
    (b'[["1700000000000","1","1","1","1","1","1","1"]]', "success reply"),
    (b'{"code":"00000","data":{"rows":[]}}', "expected a list of candle rows, got dict"),
    (b'{"code":"00000" "data":[["1700000000000","1","1","1","1","1","1","1"]]}', "not JSON"),
])
def test_bodies_that_are_not_candle_replies_are_payload_errors(raw: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        candle_columns_bitget_body(raw, **NAMES, received_ms=0, spot=True)


def test_a_decoy_data_key_in_the_envelope_is_not_taken_for_the_rows(bitget_payloads: dict[str, Any]) -> None:
    rows, now = bitget_payloads["spot"][:10], bitget_payloads["now"]
    decoy = b'{"code":"00000","note":{"data":[["1","2","3","4","5","6","7","8"]]},"data":' + \
        orjson.dumps(rows) + b"}"
    args = {**NAMES, "received_ms": now, "spot": True}
    assert candle_columns_bitget_body(decoy, **args).equals(candle_columns_bitget(rows, **args))
    empty = candle_columns_bitget_body(body([]), **args)
    assert empty.num_rows == 0
