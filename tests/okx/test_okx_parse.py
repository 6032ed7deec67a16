"""OKX parse functions and connector against documented-shape fixtures: exact values, order, errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tradeflood import Reply
from tradeflood.bindings.okx import (
    OkxBookSync,
    okx_symbol_map,
    parse_book_push,
    parse_candles,
    parse_instruments,
    parse_order_book,
    parse_ticker,
    parse_trades,
)
from tradeflood.connectors.okx import Okx, OkxStream
from tradeflood.errors import PayloadError, RateLimitedError, UnknownSymbolError
from tradeflood.streams import Applied, Buffered, Dropped, Frame, Resync, SequenceGap
from tradeflood.symbols import native_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "okx"
D = Decimal


def data(name: str) -> Any:
    return orjson.loads((FIXTURES / name).read_bytes())["data"]


def test_instruments_spot_and_linear_swap() -> None:
    spot = parse_instruments(data("instruments_spot.json"))
    assert [(i.symbol, i.native_symbol, i.active) for i in spot] == [
        ("BTC/USDT", "BTC-USDT", True), ("ETH/USDT", "ETH-USDT", False)]
    assert (spot[0].tick_size, spot[0].step_size, spot[0].min_amount, spot[0].listed_at) == (
        D("0.1"), D("0.00000001"), D("0.00001"), 1548133413000)
    assert spot[1].listed_at is None
    swaps = parse_instruments(data("instruments_swap.json"))
    btc, inverse = swaps
    assert (btc.symbol, btc.kind, btc.settle, btc.contract_size) == (
        "BTC/USDT:USDT", "linear", "USDT", D("0.01"))
    assert (btc.step_size, btc.min_amount) == (D("0.0001"), D("0.0001"))  # 0.01 contracts of 0.01 BTC
    assert (inverse.symbol, inverse.kind) == ("BTC/USD:BTC", "inverse")
    table = okx_symbol_map(data("instruments_swap.json"))
    assert native_id(table, "BTC/USDT:USDT") == "BTC-USDT-SWAP"
    with pytest.raises(UnknownSymbolError):
        native_id(table, "DOGE/USDT:USDT")


def test_swap_candles_oldest_first_base_volume_and_confirm() -> None:
    candles = parse_candles(data("candles_swap.json"), symbol="BTC/USDT:USDT", native_symbol="BTC-USDT-SWAP",
                            interval="1m", spot=False)
    assert [c.open_time for c in candles] == [1733270340000, 1733270400000]
    first, forming = candles
    assert (first.open, first.close, first.volume, first.quote_volume, first.closed) == (
        D("96120"), D("96150.1"), D("9.8"), D("942300.06"), True)
    assert (forming.volume, forming.closed) == (D("15.205"), False)


@pytest.mark.parametrize("row, field", [
    (["1", "2", "3", "1", "2", "5", "6", "7", "2"], "confirm"),
    (["1", "2", "3", "1", "NaN", "5", "6", "7", "1"], "close"),
    (["x", "2", "3", "1", "2", "5", "6", "7", "1"], "ts"),
    (["1", "2", "3"], "fields"),
])
def test_bad_candle_rows_name_the_field(row: list[str], field: str) -> None:
    with pytest.raises(PayloadError, match=field):
        parse_candles([row], symbol="BTC/USDT", native_symbol="BTC-USDT", interval="1m", spot=True)


def test_swap_book_in_base_with_seq_id() -> None:
    book = parse_order_book(data("books_swap.json"), symbol="BTC/USDT:USDT", native_symbol="BTC-USDT-SWAP",
                            contract_size=D("0.01"))
    assert book.bids == ((D("96190.2"), D("12.34")),)
    assert book.asks == ((D("96190.3"), D("1.5")), (D("96190.5"), D("0.02")))
    assert (book.timestamp, book.sequence) == (1733270401234, 123456789)


def test_swap_trades_oldest_first_in_base() -> None:
    trades = parse_trades(data("trades_swap.json"), symbol="BTC/USDT:USDT", native_symbol="BTC-USDT-SWAP",
                          contract_size=D("0.01"))
    assert [(t.id, t.side, t.price, t.amount) for t in trades] == [
        ("1200000001", "sell", D("96190.2"), D("0.005")), ("1200000002", "buy", D("96190.3"), D("0.25"))]


def test_swap_ticker_base_volume_from_vol_ccy() -> None:
    t = parse_ticker(data("ticker_swap.json"), symbol="BTC/USDT:USDT", native_symbol="BTC-USDT-SWAP")
    assert (t.last, t.bid, t.ask, t.high, t.low) == (D("96190.3"), D("96190.3"), D("96190.4"), D("97000.1"),
                                                     D("94500"))
    assert (t.base_volume, t.quote_volume, t.timestamp) == (D("81234.56"), None, 1733270401300)


def test_rate_limit_body_is_a_rate_limit_error() -> None:
    api = Okx()
    turn = api.ticker("BTC-USDT")
    body = (FIXTURES / "error_rate_limit.json").read_bytes()
    with pytest.raises(RateLimitedError, match="Too Many Requests"):
        api.unwrap(turn, Reply(429, {}, body))
    with pytest.raises(RateLimitedError):
        api.unwrap(turn, Reply(200, {}, body))


def test_stream_frames() -> None:
    proto = OkxStream()
    assert proto.decode("pong").kind == "pong"
    ack = proto.decode('{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a1"}')
    assert (ack.kind, ack.topic) == ("ack", "books:BTC-USDT")
    err = proto.decode('{"event":"error","code":"60018","msg":"Wrong URL or channel","connId":"a1"}')
    assert (err.kind, err.detail) == ("error", "60018: Wrong URL or channel")
    push = proto.decode('{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}')
    assert (push.kind, push.topic, push.payload) == ("data", "trades:BTC-USDT", [])
    with pytest.raises(ValueError):
        proto.decode("[1]")


def _push(action: str, seq: int, prev: int, bids: list[list[str]]) -> Frame:
    asks = [["101", "5", "0", "1"]] if action == "snapshot" else []
    return Frame("data", "books:BTC-USDT-SWAP", [{"asks": asks, "bids": bids, "ts": "1700000000000",
                                                  "checksum": 0, "seqId": seq, "prevSeqId": prev}],
                 action=action)


def test_book_sync_old_behaviour_snapshot_on_the_stream() -> None:
    sync = OkxBookSync()
    snap = parse_book_push(_push("snapshot", 10, -1, [["100", "3", "0", "1"]]), D("0.01"))
    outcome = sync.on_delta(snap[0])
    assert isinstance(outcome, Applied) and outcome.book.best_bid() == (D("100"), D("0.03"))
    step = sync.on_delta(parse_book_push(_push("update", 12, 10, [["100", "4", "0", "1"]]))[0])
    assert isinstance(step, Applied) and step.sequence == 12
    quiet = sync.on_delta(parse_book_push(_push("update", 12, 12, []))[0])  # no change: seqId == prevSeqId
    assert isinstance(quiet, Applied)
    reset = sync.on_delta(parse_book_push(_push("update", 3, 12, [["99", "1", "0", "1"]]))[0])
    assert isinstance(reset, Applied) and reset.sequence == 3  # documented reset: lower seqId continues
    gap = sync.on_delta(parse_book_push(_push("update", 9, 5, []))[0])
    assert isinstance(gap, Resync) and gap.reason == SequenceGap(3, 5) and gap.source == "rest"


def test_book_sync_new_behaviour_buffers_then_bridges_a_rest_snapshot() -> None:
    from tradeflood.streams import BookDelta

    sync = OkxBookSync()
    first = parse_book_push(_push("update", 20, 15, [["100", "1", "0", "1"]]))[0]
    second = parse_book_push(_push("update", 25, 20, [["100", "2", "0", "1"]]))[0]
    assert isinstance(sync.on_delta(first), Buffered)
    assert isinstance(sync.on_delta(second), Buffered)
    rest = BookDelta(last_id=22, bids=[("100", "7"), ("99", "1")], asks=[("101", "1")], is_snapshot=True)
    outcome = sync.on_snapshot(rest)  # seqId 20 is in the snapshot; 25 (prev 20 <= 22) bridges it
    assert isinstance(outcome, Applied) and outcome.sequence == 25
    assert outcome.book.best_bid() == (D("100"), D("2"))
    stale = parse_book_push(_push("update", 21, 19, []))[0]
    assert isinstance(sync.on_delta(stale), Dropped)


def test_candle_columns_equal_the_model_parse() -> None:
    pa = pytest.importorskip("pyarrow")
    from tradeflood.bindings.okx import candle_columns_okx
    from tradeflood.columnar import to_arrow

    rows = data("candles_swap.json")
    args: dict[str, Any] = {"symbol": "BTC/USDT:USDT", "native_symbol": "BTC-USDT-SWAP", "interval": "1m",
                            "spot": False}
    table = candle_columns_okx(rows, **args)
    assert isinstance(table, pa.Table) and table.num_rows == 2
    assert table.equals(to_arrow(parse_candles(rows, **args)))
    assert table.column("closed").to_pylist() == [True, False]
    shuffled = list(reversed(rows))  # oldest first: refused by the fast path, sorted by the model parse
    assert candle_columns_okx(shuffled, **args).equals(table)
    with pytest.raises(PayloadError, match="confirm"):
        candle_columns_okx([[*rows[0][:8], "x"]], **args)
