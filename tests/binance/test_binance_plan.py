"""Binance plans: turn paths, params, weights, APIs, symbol derivation, grid pages, checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tradeflood.bindings.binance as bb
from tradeflood import registry
from tradeflood.binding import ParseContext, Part
from tradeflood.connectors.binance import Binance
from tradeflood.errors import InvalidIntervalError, QueryError, UnknownSymbolError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.query import Query
from tradeflood.turns import Derived, Turn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binance"
NOW = 1_717_200_000_000  # 2024-06-01T00:00:00Z
HOUR = 3_600_000


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def query(model: Any, **kw: Any) -> Query:
    return registry.resolve(Query(model, exchange="binance", **kw), NOW)  # checked as a session plans it


def resolve(value: Derived, listing: Any) -> Any:
    """What the executor does for a derived parameter, given the source turn's payload."""
    source = listing if isinstance(value.source, Turn) else resolve(value.source, listing)
    return value.fn(source, *value.args)


def params(turn: Turn) -> dict[str, Any]:
    return {k: v for k, v in turn.params if not isinstance(v, Derived)}


@pytest.fixture
def api() -> Binance:
    return Binance()


# -- candles ------------------------------------------------------------------------


def test_spot_candle_pages(api: Binance) -> None:
    q = query(Candle, symbol="BTC/USDT", interval="1h", start="2024-01-01T00:00:00Z",
              end="2024-03-01T00:00:00Z")
    turns = bb.BinanceCandles(api).plan(q, NOW)
    size = 1000 * HOUR
    assert len(turns) == 2
    for t in turns:
        assert (t.method, t.path, t.api, t.group, t.weight) == ("GET", "/api/v3/klines", "rest",
                                                                 "spot", 2)
        p = params(t)
        assert p["interval"] == "1h" and p["limit"] == "1000"
        start, end = int(p["startTime"]), int(p["endTime"])
        assert start % size == 0 and end == start + size - 1
        assert api.url(t) == "https://api.binance.com/api/v3/klines"
    assert int(params(turns[0])["startTime"]) <= q.start < int(params(turns[0])["endTime"])
    # The symbol is derived from the session-cached spot listing: one edge, one dependency.
    listing = turns[0].deps
    assert len(listing) == 1 and listing[0].path == "/api/v3/exchangeInfo"
    assert listing[0].cache == "session" and listing[0].weight == 20
    assert resolve(turns[0].param("symbol"), load("spot_exchange_info.json")) == "BTCUSDT"
    assert len({t.param("symbol") for t in turns}) == 1


def test_futures_candle_pages_use_fapi_with_1000_bar_pages(api: Binance) -> None:
    q = query(Candle, symbol="BTC/USDT:USDT", interval="1m", start="2024-05-31T00:00:00Z",
              end="2024-05-31T12:00:00Z")
    turns = bb.BinanceCandles(api).plan(q, NOW)
    assert {(t.path, t.api, t.group, t.weight) for t in turns} == {
        ("/fapi/v1/klines", "rest.futures", "futures", 5)}
    assert {params(t)["limit"] for t in turns} == {"1000"}
    assert api.url(turns[0]).startswith("https://fapi.binance.com/fapi/v1/klines")
    (listing,) = turns[0].deps
    assert listing.path == "/fapi/v1/exchangeInfo" and listing.api == "rest.futures"
    assert resolve(turns[0].param("symbol"), load("futures_exchange_info.json")) == "BTCUSDT"


def test_overlapping_queries_share_identical_pages(api: Binance) -> None:
    binding = bb.BinanceCandles(api)
    a = binding.plan(query(Candle, symbol="BTC/USDT", interval="1h",
                           start="2024-01-01T00:00:00Z", end="2024-03-01T00:00:00Z"), NOW)
    b = bb.BinanceCandles(Binance()).plan(query(Candle, symbol="BTC/USDT", interval="1h",
                                                start="2024-02-01T00:00:00Z",
                                                end="2024-04-15T00:00:00Z"), NOW)
    shared = {t.key for t in a} & {t.key for t in b}
    assert len(shared) == 1
    assert a[-1] == b[0] and hash(a[-1]) == hash(b[0])
    assert a[0].deps[0] == b[0].deps[0]  # one listing for both


def test_unknown_symbol_fails_at_the_listing(api: Binance) -> None:
    turns = bb.BinanceCandles(api).plan(query(Candle, symbol="DOGE/EUR", interval="1h",
                                              start="2024-05-01T00:00:00Z"), NOW)
    with pytest.raises(UnknownSymbolError, match="DOGE/EUR"):
        resolve(turns[0].param("symbol"), load("spot_exchange_info.json"))


def test_candle_checks() -> None:
    with pytest.raises(InvalidIntervalError, match="valid choices: 1m, 3m"):
        query(Candle, symbol="BTC/USDT", interval="7m")
    with pytest.raises(QueryError, match="inverse"):
        query(Candle, symbol="BTC/USD:BTC", interval="1h")
    with pytest.raises(QueryError, match="not a unified symbol"):
        query(Candle, symbol="BTCUSDT", interval="1h")
    assert set(bb.BinanceCandles.intervals) == {"1m", "3m", "5m", "15m", "30m", "1h", "2h",
                                                "4h", "6h", "12h", "1d", "1w", "1M"}


def test_candle_parse_uses_the_native_symbol_sent(api: Binance) -> None:
    q = query(Candle, symbol="BTC/USDT:USDT", interval="1m", start="2024-04-10T08:41:00Z")
    binding = bb.BinanceCandles(api)
    turn = binding.plan(q, NOW)[0]
    ctx = ParseContext({"symbol": "BTCUSDT"}, 1712738640000)
    candles = binding.parse(q, turn, load("futures_klines_1m.json"), ctx)
    assert {(c.symbol, c.native_symbol) for c in candles} == {("BTC/USDT:USDT", "BTCUSDT")}


# -- order book ---------------------------------------------------------------------


def test_depth_plans(api: Binance) -> None:
    binding = bb.BinanceOrderBook(api)
    (spot,) = binding.plan(query(OrderBook, symbol="BTC/USDT"), NOW)
    assert (spot.path, spot.weight, params(spot)["limit"]) == ("/api/v3/depth", 5, "100")
    (big,) = binding.plan(query(OrderBook, symbol="BTC/USDT", depth=5000), NOW)
    assert big.weight == 250
    (fut,) = binding.plan(query(OrderBook, symbol="ETH/USDT:USDT", depth=1000), NOW)
    assert (fut.path, fut.api, fut.group, fut.weight) == ("/fapi/v1/depth", "rest.futures",
                                                          "futures", 20)


def test_depth_checks() -> None:
    with pytest.raises(QueryError, match="valid choices: 5, 10, 20, 50, 100, 500, 1000, 5000"):
        query(OrderBook, symbol="BTC/USDT", depth=7)
    with pytest.raises(QueryError, match=r"futures; valid choices: 5, 10, 20, 50, 100, 500, 1000$"):
        query(OrderBook, symbol="BTC/USDT:USDT", depth=5000)
    with pytest.raises(QueryError, match="inverse"):
        query(OrderBook, symbol="BTC/USD:BTC")
    with pytest.raises(QueryError, match="needs a symbol"):
        query(OrderBook)


def test_order_book_assembles_one_book(api: Binance) -> None:
    q = query(OrderBook, symbol="BTC/USDT:USDT", depth=5)
    binding = bb.BinanceOrderBook(api)
    (turn,) = binding.plan(q, NOW)
    items = binding.parse(q, turn, load("futures_depth.json"), ParseContext({"symbol": "BTCUSDT"}, 9))
    book = binding.assemble(q, [Part(turn, items)], NOW)
    assert isinstance(book, OrderBook) and book.timestamp == 1706803917258


# -- trades and tickers -----------------------------------------------------------


def test_trade_plans_and_checks(api: Binance) -> None:
    binding = bb.BinanceTrades(api)
    (spot,) = binding.plan(query(Trade, symbol="BTC/USDT"), NOW)
    assert (spot.path, spot.weight, params(spot)["limit"]) == ("/api/v3/trades", 25, "500")
    (fut,) = binding.plan(query(Trade, symbol="BTC/USDT:USDT", limit=1000), NOW)
    assert (fut.path, fut.weight, params(fut)["limit"]) == ("/fapi/v1/trades", 5, "1000")
    with pytest.raises(QueryError, match="at most 1000"):
        query(Trade, symbol="BTC/USDT", limit=1001)


def test_spot_ticker_plan(api: Binance) -> None:
    binding = bb.BinanceTicker(api)
    q = query(Ticker, symbol="BTC/USDT")
    (turn,) = binding.plan(q, NOW)
    assert (turn.path, turn.weight, turn.group) == ("/api/v3/ticker/24hr", 2, "spot")
    items = binding.parse(q, turn, load("spot_ticker_24hr.json"), ParseContext({"symbol": "BTCUSDT"}, 0))
    ticker = binding.assemble(q, [Part(turn, items)], NOW)
    assert str(ticker.bid) == "73369.83000000"


def test_futures_ticker_takes_bid_ask_from_the_book_ticker(api: Binance) -> None:
    binding = bb.BinanceTicker(api)
    q = query(Ticker, symbol="BTC/USDT:USDT")
    day, book = binding.plan(q, NOW)
    assert (day.path, day.weight, book.path, book.weight) == (
        "/fapi/v1/ticker/24hr", 1, "/fapi/v1/ticker/bookTicker", 2)
    assert day.deps == book.deps and day.param("symbol") == book.param("symbol")
    ctx = ParseContext({"symbol": "BTCUSDT"}, 0)
    parts = [Part(day, binding.parse(q, day, load("futures_ticker_24hr.json"), ctx)),
             Part(book, binding.parse(q, book, load("futures_book_ticker.json"), ctx))]
    ticker = binding.assemble(q, parts, NOW)
    assert isinstance(ticker, Ticker)
    assert (str(ticker.bid), str(ticker.ask), str(ticker.last)) == ("71410.00", "71410.10",
                                                                    "71410.10")
    assert ticker.timestamp == 1712738468522 and ticker.symbol == "BTC/USDT:USDT"


# -- instruments --------------------------------------------------------------------


def test_instrument_plans(api: Binance) -> None:
    binding = bb.BinanceInstruments(api)
    assert [t.path for t in binding.plan(query(Instrument), NOW)] == [
        "/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo"]
    assert [t.path for t in binding.plan(query(Instrument, kind="linear"), NOW)] == [
        "/fapi/v1/exchangeInfo"]
    q = query(Instrument, symbol="BTC/USDT:USDT")
    (turn,) = binding.plan(q, NOW)
    items = binding.parse(q, turn, load("futures_exchange_info.json"), ParseContext({}, 0))
    (btc,) = binding.assemble(q, [Part(turn, items)], NOW)
    assert btc.native_symbol == "BTCUSDT" and btc.kind == "linear"
    with pytest.raises(QueryError, match="kind='option'"):
        query(Instrument, kind="option")


def test_futures_ticker_without_bid_ask(api: Binance) -> None:
    (turn,) = bb.BinanceTicker(api).plan(query(Ticker, symbol="BTC/USDT:USDT", bid_ask=False), NOW)
    assert turn.path == "/fapi/v1/ticker/24hr"
    with pytest.raises(QueryError, match="bid_ask='no'"):
        query(Ticker, symbol="BTC/USDT:USDT", bid_ask="no")
