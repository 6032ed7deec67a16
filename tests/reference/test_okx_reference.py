"""Cross-check against ccxt's recorded OKX v5 responses and request URLs.

Our parse of every candle, book, trade and ticker ``httpResponse`` must agree
with ccxt's ``parsedResponse``: timestamps and sides exactly, prices and sizes
numerically. ccxt keeps swap book sizes in contracts; our parse functions do
too (``contract_size`` defaults to 1) and the fetch binding scales them to base
amounts afterwards, which is checked here as well. Request URLs: ours are built
by the connector for the same page and must equal the recorded path and query
where the semantics agree (the cases that differ say why in their id).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from reference import load_recordings

import tradeflood.bindings.okx as okx
from tradeflood.connectors.okx import Okx
from tradeflood.symbols import split_symbol

DATA = load_recordings("okx")
METHODS = ("fetchOHLCV", "fetchOrderBook", "fetchTrades", "fetchTicker")


def num(x: Any) -> Decimal:
    return Decimal(str(x))


def _native(symbol: str) -> str:
    u = split_symbol(symbol)
    return f"{u.base}-{u.quote}" + ("-SWAP" if u.kind == "linear" else "")


def _cases() -> list[Any]:
    return [pytest.param(m, e, id=f"{m}[{i}]")
            for m in METHODS for i, e in enumerate(DATA["response"].get(m, []))]


def test_every_relevant_recording_is_covered() -> None:
    assert len(_cases()) == 5  # 1 candles, 2 books, 1 trades, 1 ticker


@pytest.mark.parametrize("method, entry", _cases())
def test_parse_agrees_with_ccxt(method: str, entry: dict[str, Any]) -> None:
    args = entry["input"]
    symbol = args[0]
    body = entry["httpResponse"]
    assert body["code"] == "0"
    payload, expected = body["data"], entry["parsedResponse"]
    native = _native(symbol)

    if method == "fetchOHLCV":
        candles = okx.parse_candles(payload, symbol=symbol, native_symbol=native, interval=args[1],
                                    spot=True)
        assert [c.open_time for c in candles] == [row[0] for row in expected]
        for c, (_, o, h, low, close, volume) in zip(candles, expected, strict=True):
            assert (c.open, c.high, c.low, c.close, c.volume) == tuple(map(num, (o, h, low, close, volume)))
            assert c.closed
    elif method == "fetchOrderBook":
        book = okx.parse_order_book(payload, symbol=symbol, native_symbol=native)
        assert book.timestamp == expected["timestamp"]
        assert [(p, s) for p, s in book.bids] == [(num(p), num(s)) for p, s, _ in expected["bids"]]
        assert [(p, s) for p, s in book.asks] == [(num(p), num(s)) for p, s, _ in expected["asks"]]
        if native.endswith("-SWAP"):  # 0.01 BTC a contract: what the fetch binding returns
            based = okx.parse_order_book(payload, symbol=symbol, native_symbol=native,
                                         contract_size=Decimal("0.01"))
            assert based.bids[0] == (num(expected["bids"][0][0]), num(expected["bids"][0][1]) / 100)
    elif method == "fetchTrades":
        trades = okx.parse_trades(payload, symbol=symbol, native_symbol=native)
        assert len(trades) == len(expected)
        for t, e in zip(trades, sorted(expected, key=lambda t: t["timestamp"]), strict=True):
            assert (t.id, t.timestamp, t.side) == (e["id"], e["timestamp"], e["side"])
            assert (t.price, t.amount) == (num(e["price"]), num(e["amount"]))
            assert t.cost == num(e["cost"])
    else:
        t = okx.parse_ticker(payload, symbol=symbol, native_symbol=native)
        assert t.timestamp == expected["timestamp"]
        for ours, key in ((t.last, "last"), (t.bid, "bid"), (t.ask, "ask"), (t.high, "high"),
                          (t.low, "low"), (t.base_volume, "baseVolume")):
            assert ours == num(expected[key]), key
        # ccxt's quoteVolume is a float of volCcy24h; compare at its precision.
        assert t.quote_volume is not None
        assert abs(t.quote_volume - num(expected["quoteVolume"])) < Decimal("0.001")


def _query(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def _turn_query(turn: Any) -> tuple[str, dict[str, str]]:
    return turn.path, dict(turn.params)


API = Okx()
HOUR = 3_600_000


def test_history_candle_url_matches_for_the_same_page() -> None:
    """ccxt asks [since, since + 300 bars) as before=since-1, after=since+300h; so do we."""
    entry = DATA["request"]["fetchOHLCV"][1]
    since = entry["input"][2]
    ours = API.history_candles("BTC-USDT", okx.BARS["1h"], after=since + 300 * HOUR, before=since - 1,
                               limit=300)
    assert _turn_query(ours) == _query(entry["url"])


def test_history_candle_url_without_range_matches() -> None:
    entry = DATA["request"]["fetchOHLCV"][0]
    ours = API.history_candles(_native(entry["input"][0]), okx.BARS["1h"], limit=300)
    assert _turn_query(ours) == _query(entry["url"])


def test_recent_candle_url_differs_only_by_the_range() -> None:
    """ccxt's bare call asks the latest 100 1m bars with no range; TradeFlood always pages on
    a grid, so it sends after/before (and up to 300 rows): same path, instId and bar."""
    entry = DATA["request"]["fetchOHLCV"][2]
    path, query = _query(entry["url"])
    ours = API.candles("BTC-USDT", okx.BARS["1m"], after=1_000, before=0, limit=300)
    our_path, our_query = _turn_query(ours)
    assert (our_path, our_query["instId"], our_query["bar"]) == (path, query["instId"], query["bar"])
    assert query == {"instId": "BTC-USDT", "bar": "1m", "limit": "100"}


@pytest.mark.parametrize("i", [0, 1])
def test_book_urls_match(i: int) -> None:
    entry = DATA["request"]["fetchOrderBook"][i]
    symbol, limit = entry["input"][0], entry["input"][1]
    assert _turn_query(API.books(_native(symbol), limit)) == _query(entry["url"])


def test_books_full_is_not_used() -> None:
    assert _query(DATA["request"]["fetchOrderBook"][2]["url"])[0] == "/api/v5/market/books-full"
    assert not hasattr(API, "books_full")  # depth > 400 is refused up front instead


def test_trade_url_matches_but_for_the_explicit_limit() -> None:
    """ccxt leaves limit out (the venue's default, 100); TradeFlood sends limit=100."""
    entry = DATA["request"]["fetchTrades"][0]
    path, query = _query(entry["url"])
    assert _turn_query(API.trades("BTC-USDT", 100)) == (path, {**query, "limit": "100"})


@pytest.mark.parametrize("i", [0, 1])
def test_ticker_urls_match(i: int) -> None:
    entry = DATA["request"]["fetchTicker"][i]
    assert _turn_query(API.ticker(_native(entry["input"][0]))) == _query(entry["url"])
