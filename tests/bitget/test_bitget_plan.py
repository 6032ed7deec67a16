"""Bitget bindings: query checks, planned turns (paths, params, paging grid), symbol resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

import tradeflood.bindings.bitget  # noqa: F401 - registers the Bitget bindings
from tradeflood import registry
from tradeflood.binding import ParseContext, Part
from tradeflood.bindings.bitget import (
    BitgetCandles,
    BitgetInstruments,
    BitgetOrderBook,
    BitgetTicker,
    BitgetTrades,
    contract_symbol_map,
    spot_symbol_map,
)
from tradeflood.connectors.bitget import Bitget
from tradeflood.errors import InvalidIntervalError, QueryError, UnknownSymbolError
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade
from tradeflood.query import Query
from tradeflood.turns import Derived, Turn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitget"
NOW = 1_717_200_030_000  # 2024-06-01T00:00:30Z
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000


def data(name: str) -> Any:
    return orjson.loads((FIXTURES / name).read_bytes())["data"]


LISTINGS = {"/api/v2/spot/public/symbols": "spot_symbols.json",
            "/api/v2/mix/market/contracts": "contracts.json"}


def resolve(value: Derived) -> Any:
    """What the executor does for a derived parameter: run the chain on the source payload."""
    chain = []
    node: Any = value
    while isinstance(node, Derived):
        chain.append(node)
        node = node.source
    result = data(LISTINGS[node.path])
    for d in reversed(chain):
        result = d.fn(result, *d.args)
    return result


def q(model: type, **kw: Any) -> Query:
    return registry.resolve(Query(model, exchange="bitget", **kw), NOW)  # checked as a session plans it


def plan(query: Query, now_ms: int = NOW) -> list[Turn]:
    from tradeflood import registry

    binding = registry.lookup(query.model, "bitget")(Bitget())
    return list(binding.plan(query, now_ms))


def p(turn: Turn) -> dict[str, Any]:
    return dict(turn.params)


# -- registration and checks ---------------------------------------------------------

def test_bindings_are_registered() -> None:
    from tradeflood import registry

    assert registry.lookup(Candle, "bitget") is BitgetCandles
    assert registry.lookup(OrderBook, "bitget") is BitgetOrderBook
    assert issubclass(registry.lookup(Trade, "bitget"), BitgetTrades)  # with trade histories
    assert registry.lookup(Ticker, "bitget") is BitgetTicker
    assert registry.lookup(Instrument, "bitget") is BitgetInstruments


@pytest.mark.parametrize("kw, error, text", [
    ({"symbol": "BTC/USDT", "interval": "2h"}, InvalidIntervalError, "on bitget spot"),
    ({"symbol": "BTC/USDT", "interval": "7m"}, InvalidIntervalError, "1m, 3m, 5m"),
    ({"symbol": "BTC/USD:BTC", "interval": "1h"}, QueryError, "inverse"),
    ({"symbol": "BTC/USDC:USDC", "interval": "1h"}, QueryError, "USDC-margined"),
    ({"interval": "1h"}, QueryError, "need a symbol"),
    ({"symbol": "BTCUSDT", "interval": "1h"}, QueryError, "not a unified symbol"),
])
def test_candle_checks(kw: dict[str, Any], error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        q(Candle, **kw)


def test_two_hour_candles_are_served_for_perpetuals_only() -> None:
    assert q(Candle, symbol="BTC/USDT:USDT", interval="2h").interval == "2h"


@pytest.mark.parametrize("kw, text", [
    ({"symbol": "BTC/USDT", "depth": 151}, "choose 1 to 150"),
    ({"symbol": "BTC/USDT:USDT", "depth": 120}, "1, 5, 15, 50, 100"),
    ({"symbol": "ETH/USD:ETH"}, "inverse"),
])
def test_order_book_checks(kw: dict[str, Any], text: str) -> None:
    with pytest.raises(QueryError, match=text):
        q(OrderBook, **kw)


def test_trade_limit_checks() -> None:
    with pytest.raises(QueryError, match="choose 1 to 500"):
        q(Trade, symbol="BTC/USDT", limit=501)
    with pytest.raises(QueryError, match="choose 1 to 100"):
        q(Trade, symbol="BTC/USDT:USDT", limit=101)
    assert q(Trade, symbol="BTC/USDT", limit=500).limit == 500


# -- symbol resolution ---------------------------------------------------------------

def test_data_turns_take_the_native_symbol_from_the_listing() -> None:
    [turn] = plan(q(Ticker, symbol="BTC/USDT:USDT"))
    assert turn.path == "/api/v2/mix/market/ticker"
    symbol = turn.param("symbol")
    assert isinstance(symbol, Derived)
    [listing] = turn.deps
    assert listing.path == "/api/v2/mix/market/contracts" and listing.cache == "session"
    assert symbol.source.fn is contract_symbol_map  # type: ignore[union-attr]
    assert resolve(symbol) == "BTCUSDT"
    assert p(turn)["productType"] == "USDT-FUTURES"


def test_every_query_shares_one_listing_turn_per_market() -> None:
    turns = [*plan(q(Ticker, symbol="BTC/USDT")), *plan(q(Trade, symbol="ETH/BTC")),
             *plan(q(OrderBook, symbol="BTC/USDT")),
             *plan(q(Candle, symbol="BTC/USDT", interval="1h", limit=10))]
    assert len({t.deps[0].key for t in turns}) == 1
    assert turns[0].deps[0].path == "/api/v2/spot/public/symbols"
    # the same derivation is the same node, so it is computed once per run
    assert turns[0].param("symbol") == turns[2].param("symbol")


def test_unknown_symbol_fails_while_resolving_before_any_data_request() -> None:
    [turn] = plan(q(Ticker, symbol="DOGE/USDT"))
    with pytest.raises(UnknownSymbolError, match="bitget lists no symbol 'DOGE/USDT'"):
        resolve(turn.param("symbol"))  # type: ignore[arg-type]


def test_spot_map_is_a_module_level_derivation() -> None:
    [turn] = plan(q(Trade, symbol="BTC/USDT"))
    derived = turn.param("symbol")
    assert isinstance(derived, Derived) and derived.source.fn is spot_symbol_map  # type: ignore[union-attr]
    assert "tradeflood.bindings.bitget.parse.spot_symbol_map" in repr(derived.key)


# -- candles: pages ------------------------------------------------------------------

def test_recent_minutes_use_1000_row_pages_on_the_grid() -> None:
    start, end = NOW - 2000 * MINUTE, NOW - 100 * MINUTE
    turns = plan(q(Candle, symbol="BTC/USDT", interval="1m", start=start, end=end))
    size = 1000 * MINUTE
    assert {t.path for t in turns} == {"/api/v2/spot/market/candles"}
    assert [p(t)["startTime"] for t in turns] == [
        str(s) for s in range(start // size * size, end, size)]
    for t in turns:
        params = p(t)
        assert params["granularity"] == "1min" and params["limit"] == "1000"
        assert int(params["endTime"]) == int(params["startTime"]) + size - 1


def test_pages_beyond_the_look_back_window_use_the_history_endpoint() -> None:
    # 15m bars: the recent endpoint reaches back 52 days.
    start, end = NOW - 80 * DAY, NOW - 10 * DAY
    turns = plan(q(Candle, symbol="BTC/USDT", interval="15m", start=start, end=end))
    recent = [t for t in turns if t.path.endswith("/candles")]
    history = [t for t in turns if t.path.endswith("/history-candles")]
    assert recent and history
    for t in history:
        params = p(t)
        assert params["limit"] == "200" and params["granularity"] == "15min"
        assert "startTime" not in params  # spot history takes endTime only
        # on the shared grid, or (a lone query, when that saves a page) on its own start
        assert any((int(params["endTime"]) + 1 - origin) % (200 * 15 * MINUTE) == 0 for origin in (0, start))
    assert all(int(p(t)["startTime"]) >= NOW - 52 * DAY for t in recent)
    first_recent = min(int(p(t)["startTime"]) for t in recent)
    assert all(int(p(t)["endTime"]) < first_recent for t in history)  # they tile, no overlap


def shared_pages(query: Query) -> list[Turn]:
    """Pages as planned when other queries of the plan ask for the same series (on the shared grid)."""
    from tradeflood import registry

    binding = registry.lookup(query.model, "bitget")(Bitget())
    return [page.turn() for page in binding.pages(query, NOW, shared=True)]


def test_overlapping_queries_produce_identical_pages() -> None:
    a = shared_pages(q(Candle, symbol="ETH/BTC", interval="1h", start=NOW - 60 * DAY, end=NOW - 20 * DAY))
    b = shared_pages(q(Candle, symbol="ETH/BTC", interval="1h", start=NOW - 40 * DAY, end=NOW - DAY))
    shared = {t.key for t in a} & {t.key for t in b}
    assert len(shared) >= 1
    overlap_pages = [t for t in b if int(p(t)["startTime"]) < NOW - 20 * DAY]
    assert {t.key for t in overlap_pages} <= {t.key for t in a}


def test_perpetual_daily_pages_stay_within_90_days() -> None:
    turns = plan(q(Candle, symbol="BTC/USDT:USDT", interval="1d", start=NOW - 400 * DAY))
    assert {t.path for t in turns} == {"/api/v2/mix/market/candles"}
    for t in turns:
        params = p(t)
        assert params["granularity"] == "1Dutc" and params["limit"] == "90"
        assert params["productType"] == "USDT-FUTURES"
        assert int(params["endTime"]) - int(params["startTime"]) < 90 * DAY


def test_perpetual_history_pages() -> None:
    turns = plan(q(Candle, symbol="BTC/USDT:USDT", interval="1h", start=NOW - 100 * DAY,
                   end=NOW - 90 * DAY))
    assert {t.path for t in turns} == {"/api/v2/mix/market/history-candles"}
    assert {p(t)["limit"] for t in turns} == {"200"}
    assert {p(t)["granularity"] for t in turns} == {"1H"}


def test_monthly_pages_ask_for_one_more_bar() -> None:
    turns = plan(q(Candle, symbol="BTC/USDT:USDT", interval="1M", start=NOW - 200 * DAY))
    assert {p(t)["limit"] for t in turns} == {"3"}  # two 31-day grid months may hold three starts
    assert {p(t)["granularity"] for t in turns} == {"1Mutc"}


def test_latest_bars_without_a_start() -> None:
    turns = plan(q(Candle, symbol="BTC/USDT", interval="1h", limit=5))
    assert len(turns) in (1, 2) and turns[-1].path == "/api/v2/spot/market/candles"


def test_candle_parse_and_assemble_through_the_binding() -> None:
    query = q(Candle, symbol="BTC/USDT", interval="1m", start=1704067200000, end=1704067380000)
    binding = BitgetCandles(Bitget())
    [turn] = binding.plan(query, 1704067335000)
    ctx = ParseContext({"symbol": "BTCUSDT"}, 1704067335000)
    items = binding.parse(query, turn, data("spot_candles.json"), ctx)
    series = binding.assemble(query, [Part(turn, items)], 1704067335000)
    assert [c.open_time for c in series] == [1704067200000, 1704067260000, 1704067320000]
    assert series.gaps == [] and [c.closed for c in series] == [True, True, False]
    assert series[0].native_symbol == "BTCUSDT"


# -- order books, trades, tickers, instruments -----------------------------------------

def test_order_book_plans() -> None:
    [spot] = plan(q(OrderBook, symbol="BTC/USDT"))
    assert spot.path == "/api/v2/spot/market/orderbook" and p(spot)["limit"] == "100"
    [perp] = plan(q(OrderBook, symbol="BTC/USDT:USDT", depth=20))
    assert perp.path == "/api/v2/mix/market/merge-depth" and p(perp)["limit"] == "50"
    [default] = plan(q(OrderBook, symbol="BTC/USDT:USDT"))
    assert "limit" not in p(default)  # the venue's default level is 100


def test_order_book_binding_cuts_to_depth_and_assembles_one_book() -> None:
    query = q(OrderBook, symbol="BTC/USDT:USDT", depth=2)
    binding = BitgetOrderBook(Bitget())
    [turn] = binding.plan(query, NOW)
    items = binding.parse(query, turn, data("mix_merge_depth.json"),
                          ParseContext({"symbol": "BTCUSDT"}, NOW))
    book = binding.assemble(query, [Part(turn, items)], NOW)
    assert isinstance(book, OrderBook) and len(book.bids) == len(book.asks) == 2
    assert book.symbol == "BTC/USDT:USDT" and book.native_symbol == "BTCUSDT"


def test_trade_plans() -> None:
    [spot] = plan(q(Trade, symbol="BTC/USDT"))
    assert (spot.path, p(spot)["limit"]) == ("/api/v2/spot/market/fills", "100")
    [perp] = plan(q(Trade, symbol="BTC/USDT:USDT", limit=30))
    assert (perp.path, p(perp)["limit"]) == ("/api/v2/mix/market/fills", "30")


def test_ticker_plans_and_assembly() -> None:
    [spot] = plan(q(Ticker, symbol="BTC/USDT"))
    assert spot.path == "/api/v2/spot/market/tickers"
    query = q(Ticker, symbol="BTC/USDT")
    binding = BitgetTicker(Bitget())
    items = binding.parse(query, spot, data("spot_tickers.json"),
                          ParseContext({"symbol": "BTCUSDT"}, NOW))
    ticker = binding.assemble(query, [Part(spot, items)], NOW)
    assert isinstance(ticker, Ticker) and str(ticker.last) == "73369.13"


def test_instrument_plans() -> None:
    assert [t.path for t in plan(q(Instrument))] == [
        "/api/v2/spot/public/symbols", "/api/v2/mix/market/contracts"]
    assert [t.path for t in plan(q(Instrument, symbol="BTC/USDT:USDT"))] == [
        "/api/v2/mix/market/contracts"]


def test_instrument_assembly_filters_by_symbol() -> None:
    query = q(Instrument, symbol="BTC/USDT:USDT")
    binding = BitgetInstruments(Bitget())
    [turn] = binding.plan(query, NOW)
    items = binding.parse(query, turn, data("contracts.json"), ParseContext({}, NOW))
    [btc] = binding.assemble(query, [Part(turn, items)], NOW)
    assert btc.native_symbol == "BTCUSDT"
    missing = q(Instrument, symbol="XRP/USDT:USDT")
    with pytest.raises(UnknownSymbolError):
        binding.assemble(missing, [Part(turn, items)], NOW)
