"""Key names, entries and configurations: the contract other languages read."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from tradeflood.bus import BusConfigError, Topic, parse_config
from tradeflood.bus._book import BusBook
from tradeflood.bus._codec import (
    book_delta,
    book_fields,
    decode_event,
    decode_item,
    encode_event,
    encode_item,
)
from tradeflood.errors import QueryError, UnknownExchangeError, UnknownSymbolError
from tradeflood.models import Candle, OrderBook, Trade
from tradeflood.streams import TradeGap


def test_keys_are_the_designs() -> None:
    t = Topic("t1", "bitget", "trades", "BTC/USDT")
    assert t.stream == "stream.t1.bitget.trades.BTC/USDT"
    assert t.snapshot == "stream.snapshot.t1.bitget.trades.BTC/USDT"
    assert Topic.parse("stream.t1.binance.orderbook.BTC/USDT:USDT") == Topic("t1", "binance", "orderbook",
                                                                              "BTC/USDT:USDT")
    assert Topic("t1", "bitget", "ohlcv-1m", "ETH/USDT").model is Candle
    assert Topic("t1", "bitget", "ohlcv-1m", "ETH/USDT").interval == "1m"
    with pytest.raises(BusConfigError, match="unknown action 'ohlcv-7m'"):
        Topic("t1", "bitget", "ohlcv-7m", "ETH/USDT")
    with pytest.raises(BusConfigError, match="not a topic key"):
        Topic.parse("stream.snapshot.t1.bitget.trades.BTC/USDT")
    with pytest.raises(BusConfigError, match="without dots"):
        Topic("t.1", "bitget", "trades", "BTC/USDT")


def test_an_item_entry_carries_the_model_and_three_times() -> None:
    trade = Trade(exchange="bitget", symbol="BTC/USDT", native_symbol="BTCUSDT", id="42",
                  timestamp=1_700_000_000_123, price="42000.10", amount="0.5", side="buy")
    entry = encode_item(trade, recv_ts=1_700_000_000_200)
    assert entry["type"] == "item" and entry["venue_ts"] == "1700000000123"
    assert entry["recv_ts"] == "1700000000200"
    data = orjson.loads(entry["data"])
    assert data["price"] == "42000.10" and data["amount"] == "0.5"  # decimals as strings, exact
    topic = Topic("t1", "bitget", "trades", "BTC/USDT")
    assert decode_item(topic, entry["data"]) == trade
    gap = TradeGap("bitget", "BTC/USDT", 5, start_ms=1, end_ms=4, last_id="41")
    event = encode_event(gap, "takeover")
    assert event["type"] == "event" and event["note"] == "takeover"
    assert decode_event(topic, event["data"]) == gap


def _book(seq: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> OrderBook:
    return OrderBook(exchange="binance", symbol="BTC/USDT", native_symbol="BTCUSDT", timestamp=1000 + seq,
                     bids=tuple(bids), asks=tuple(asks), sequence=seq)


def test_book_deltas_rebuild_the_book_and_a_gap_is_refused() -> None:
    a = _book(1, [("100", "1"), ("99", "2")], [("101", "1"), ("102", "3")])
    b = _book(2, [("100", "1.5"), ("98", "4")], [("101", "1"), ("103", "2")])
    c = _book(3, [("100", "1.5")], [("101", "0.5")])
    book = BusBook("binance", "BTC/USDT")
    book.load(orjson.loads(orjson.dumps(book_fields(a), default=str)))
    for prev, nxt in ((a, b), (b, c)):
        delta = orjson.loads(orjson.dumps(book_delta(prev, nxt), default=str))
        assert book.apply(delta)
        got = book.model(None)
        assert (got.bids, got.asks, got.sequence) == (nxt.bids, nxt.asks, nxt.sequence)
    assert book.model(1).bids == ((Decimal("100"), Decimal("1.5")),)
    stale = orjson.loads(orjson.dumps(book_delta(a, b), default=str))  # applies to seq 1, book is at 3
    assert not book.apply(stale) and not book.ready


async def _symbols(exchange: str) -> list[str]:
    return ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"]


async def test_configuration_is_checked() -> None:
    raw = ('{"tenant": "t1", "subscriptions": ['
           '{"exchange": "bitget", "action": "trades", "symbol": "BTC/USDT"},'
           '{"exchange": "binance", "action": "orderbook", "symbol": "BTC/USDT:USDT", "depth": 50},'
           '{"exchange": "bitget", "action": "ohlcv-1m", "symbol": "ETH/USDT"}],'
           '"retention": {"trades": 5000, "orderbook": "1h"}}')
    config = await parse_config(raw, _symbols)
    assert [str(s.topic) for s in config.subscriptions] == [
        "stream.t1.bitget.trades.BTC/USDT", "stream.t1.binance.orderbook.BTC/USDT:USDT",
        "stream.t1.bitget.ohlcv-1m.ETH/USDT"]
    assert config.subscriptions[1].depth == 50
    assert config.trim(config.subscriptions[0].topic).count == 5000
    assert config.trim(config.subscriptions[1].topic).age_ms == 3_600_000
    with pytest.raises(BusConfigError, match="not valid JSON"):
        await parse_config("{nope", _symbols)
    with pytest.raises(UnknownExchangeError):
        await parse_config('{"subscriptions": [{"exchange": "krakken", "action": "trades", '
                           '"symbol": "BTC/USDT"}]}', _symbols)
    with pytest.raises(UnknownSymbolError, match="DOGE/USDT"):
        await parse_config('{"subscriptions": [{"exchange": "bitget", "action": "trades", '
                           '"symbol": "DOGE/USDT"}]}', _symbols)
    with pytest.raises(BusConfigError, match="unknown action 'candles'"):
        await parse_config('{"subscriptions": [{"exchange": "bitget", "action": "candles", '
                           '"symbol": "BTC/USDT"}]}', _symbols)
    with pytest.raises(QueryError):
        await parse_config('{"subscriptions": [{"exchange": "bitget", "action": "orderbook", '
                           '"symbol": "BTC/USDT", "depth": -1}]}', _symbols)
    with pytest.raises(BusConfigError, match="configured twice"):
        await parse_config('{"subscriptions": ['
                           '{"exchange": "bitget", "action": "trades", "symbol": "BTC/USDT"},'
                           '{"exchange": "bitget", "action": "trades", "symbol": "btc/usdt"}]}', _symbols)


async def test_the_example_configurations_are_valid() -> None:
    from pathlib import Path

    from tradeflood.testing import default_instruments

    spot = [f"{i.base}/{i.quote}" for i in default_instruments() if i.kind == "spot"]
    perps = [f"{i.base}/{i.quote}:{i.quote}" for i in default_instruments() if i.kind == "perp"]

    async def listed(exchange: str) -> list[str]:
        return spot + perps

    examples = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))
    assert len(examples) >= 3
    for path in examples:
        config = await parse_config(path.read_text(), listed)
        assert config.subscriptions, path
