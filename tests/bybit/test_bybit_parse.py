"""Bybit parse functions, stream frames and book rules against documented-shape fixtures."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tradeflood.bindings.bybit import (
    BybitBookSync,
    bybit_symbol_map,
    parse_book_push,
    parse_candles,
    parse_instruments,
    parse_trade_push,
)
from tradeflood.connectors.bybit import BybitStream
from tradeflood.errors import PayloadError
from tradeflood.streams import Applied, Frame, Resync, SequenceGap
from tradeflood.symbols import native_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bybit"
D = Decimal


def result(name: str) -> Any:
    body = orjson.loads((FIXTURES / name).read_bytes())
    return {**body["result"], "time": body["time"]}


def test_instruments_skip_delivery_futures() -> None:
    linear = parse_instruments([result("instruments_linear.json")])  # the pages of a cursor-paged list
    assert [(i.symbol, i.kind, i.tick_size, i.step_size, i.listed_at) for i in linear] == [
        ("BTC/USDT:USDT", "linear", D("0.10"), D("0.001"), 1585526400000)]
    [spot] = parse_instruments(result("instruments_spot.json"))
    assert (spot.symbol, spot.step_size, spot.min_amount, spot.active) == (
        "BTC/USDT", D("0.000001"), D("0.000048"), True)
    assert native_id(bybit_symbol_map(result("instruments_spot.json")), "BTC/USDT") == "BTCUSDT"


def test_kline_closed_by_the_reply_time_and_bad_rows_named() -> None:
    rows = {"list": [["1733270460000", "2", "3", "1", "2.5", "10", "25"],
                     ["1733270400000", "1", "2", "1", "2", "5", "9"]]}
    candles = parse_candles(rows, symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
                            received_ms=1733270470000)
    assert [(c.open_time, c.closed, c.quote_volume) for c in candles] == [
        (1733270400000, True, D("9")), (1733270460000, False, D("25"))]
    with pytest.raises(PayloadError, match="turnover"):
        parse_candles({"list": [["1", "1", "1", "1", "1", "1", "x"]]}, symbol="BTC/USDT",
                      native_symbol="BTCUSDT", interval="1m", received_ms=0)


def test_stream_frames_and_request_ids() -> None:
    proto = BybitStream()
    sub = orjson.loads(proto.subscribe([], 7))
    assert sub == {"op": "subscribe", "args": [], "req_id": "7"}
    ack = proto.decode('{"success":true,"ret_msg":"","conn_id":"c","req_id":"7","op":"subscribe"}')
    assert (ack.kind, ack.extra) == ("ack", {"id": 7})
    err = proto.decode('{"success":false,"ret_msg":"Invalid symbol :[x]","conn_id":"c","req_id":"8",'
                       '"op":"subscribe"}')
    assert (err.kind, err.detail, err.extra) == ("error", "Invalid symbol :[x]", {"id": 8})
    assert proto.decode('{"success":true,"ret_msg":"pong","op":"ping"}').kind == "pong"
    assert proto.decode('{"op":"pong","args":["1"],"conn_id":"c"}').kind == "pong"
    push = proto.decode('{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":5,"data":[{"T":4,'
                        '"s":"BTCUSDT","S":"Sell","v":"0.5","p":"100.1","L":"MinusTick","i":"abc","BT":false}]}')
    [trade] = parse_trade_push(push, "BTC/USDT", "BTCUSDT")
    assert (trade.id, trade.side, trade.amount, trade.price, trade.timestamp) == ("abc", "sell", D("0.5"),
                                                                                  D("100.1"), 4)


def _book(kind: str, u: int, bids: list[list[str]]) -> Frame:
    return Frame("data", "orderbook.200.BTCUSDT", {"s": "BTCUSDT", "b": bids, "a": [["101", "1"]] if kind ==
                                                    "snapshot" else [], "u": u, "seq": 1}, action=kind,
                 extra={"ts": 1700000000000})


def test_books_reset_on_snapshots_and_on_u_1_and_continue_by_one() -> None:
    sync = BybitBookSync()
    assert isinstance(sync.on_delta(parse_book_push(_book("snapshot", 50, [["100", "2"]]))), Applied)
    step = sync.on_delta(parse_book_push(_book("delta", 51, [["100", "3"]])))
    assert isinstance(step, Applied) and step.book.best_bid() == (D("100"), D("3"))
    restart = sync.on_delta(parse_book_push(_book("delta", 1, [["99", "1"]])))  # u=1: a full book
    assert isinstance(restart, Applied) and restart.book.best_bid() == (D("99"), D("1"))
    gap = sync.on_delta(parse_book_push(_book("delta", 3, [])))
    assert isinstance(gap, Resync) and gap.reason == SequenceGap(2, 3) and gap.source == "stream"


@pytest.mark.parametrize("interval, received_ms", [("1m", 1733270470000), ("1M", 1733270470000)])
def test_kline_columns_equal_the_model_parse(interval: str, received_ms: int) -> None:
    pa = pytest.importorskip("pyarrow")
    from tradeflood.bindings.bybit import candle_columns_bybit
    from tradeflood.columnar import to_arrow

    rows = {"list": [["1733270460000", "2", "3", "1", "2.5", "10", "25.50"],
                     ["1733270400000", "1", "2", "1", "2", "5", "9"]]}
    args: dict[str, Any] = {"symbol": "BTC/USDT", "native_symbol": "BTCUSDT", "interval": interval,
                            "received_ms": received_ms}
    table = candle_columns_bybit(rows, **args)
    assert isinstance(table, pa.Table) and table.equals(to_arrow(parse_candles(rows, **args)))
    with pytest.raises(PayloadError, match="turnover"):
        candle_columns_bybit({"list": [["1", "1", "1", "1", "1", "1", "x"]]}, **args)
