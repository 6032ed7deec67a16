"""Cross-check against ccxt's recorded Bybit v5 responses and request URLs.

Our parse of every kline, orderbook, recent-trade and ticker ``httpResponse``
for spot and linear must agree with ccxt's ``parsedResponse``. The option
tickers entry (``fetchTickers``) is out of scope (options are not served) and
is skipped with its reason. ccxt leaves the ticker's timestamp empty (Bybit's
ticker has no time of its own); TradeFlood uses the reply's ``time``.
Request URLs: ours are built by the connector and compared where the
semantics agree; the differences are asserted and explained.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from reference import load_recordings

import tradeflood.bindings.bybit as bybit
from tradeflood.connectors.bybit import Bybit

DATA = load_recordings("bybit")
METHODS = ("fetchOHLCV", "fetchOrderBook", "fetchTrades", "fetchTicker", "fetchTickers")
RECEIVED_MS = 1_900_000_000_000


def num(x: Any) -> Decimal:
    return Decimal(str(x))


def _native(symbol: str) -> str:
    return symbol.split(":")[0].replace("/", "")


def _cases() -> list[Any]:
    out = []
    for m in METHODS:
        for i, e in enumerate(DATA["response"].get(m, [])):
            reason = "options are not served" if m == "fetchTickers" else None
            out.append(pytest.param(m, e, id=f"{m}[{i}]" + (f" skipped: {reason}" if reason else ""),
                                    marks=[pytest.mark.skip(reason=reason)] if reason else []))
    return out


def test_every_relevant_recording_is_covered() -> None:
    assert len([c for c in _cases() if not c.marks]) == 5  # 1 kline, 2 books, 1 trades, 1 ticker


@pytest.mark.parametrize("method, entry", _cases())
def test_parse_agrees_with_ccxt(method: str, entry: dict[str, Any]) -> None:
    args = entry["input"]
    symbol = args[0]
    body = entry["httpResponse"]
    assert str(body["retCode"]) == "0"
    payload, expected = {**body["result"], "time": body["time"]}, entry["parsedResponse"]
    native = _native(symbol)
    if method == "fetchOHLCV":
        candles = bybit.parse_candles(payload, symbol=symbol, native_symbol=native, interval=args[1],
                                      received_ms=RECEIVED_MS)
        assert [c.open_time for c in candles] == [row[0] for row in expected]
        for c, (_, o, h, low, close, volume) in zip(candles, expected, strict=True):
            assert (c.open, c.high, c.low, c.close, c.volume) == tuple(map(num, (o, h, low, close, volume)))
            assert c.closed
    elif method == "fetchOrderBook":
        book = bybit.parse_order_book(payload, symbol=symbol, native_symbol=native)
        assert book.timestamp == expected["timestamp"]
        assert [(p, s) for p, s in book.bids] == [(num(p), num(s)) for p, s in expected["bids"]]
        assert [(p, s) for p, s in book.asks] == [(num(p), num(s)) for p, s in expected["asks"]]
        assert book.sequence == int(body["result"]["u"])
    elif method == "fetchTrades":
        trades = bybit.parse_trades(payload, symbol=symbol, native_symbol=native)
        assert len(trades) == len(expected)
        for t, e in zip(trades, expected, strict=True):
            assert (t.id, t.timestamp, t.side) == (e["id"], e["timestamp"], e["side"])
            assert (t.price, t.amount, t.cost) == (num(e["price"]), num(e["amount"]), num(e["cost"]))
    else:
        record = bybit.find_ticker(payload, native)
        t = bybit.parse_ticker(record, symbol=symbol, native_symbol=native, timestamp=payload["time"])
        assert expected["timestamp"] is None and t.timestamp == int(body["time"])
        for ours, key in ((t.last, "last"), (t.bid, "bid"), (t.ask, "ask"), (t.high, "high"),
                          (t.low, "low"), (t.base_volume, "baseVolume"), (t.quote_volume, "quoteVolume")):
            assert ours == num(expected[key]), key


def _query(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


API = Bybit()


def test_kline_range_url_matches() -> None:
    """ccxt's since/until are both inclusive, as Bybit's start/end: our page [since, until + 1)
    is sent as start=since, end=until."""
    entry = DATA["request"]["fetchOHLCV"][2]
    since, until = entry["input"][2], entry["input"][4]["until"]
    ours = API.kline("spot", "BTCUSDT", bybit.INTERVALS["1m"], start=since, end=until, limit=200)
    assert (ours.path, dict(ours.params)) == _query(entry["url"])


@pytest.mark.parametrize("i", [0, 1])
def test_latest_kline_urls_differ_only_by_the_range(i: int) -> None:
    """ccxt asks the latest bars with no range; TradeFlood pages on a grid and always sends one."""
    entry = DATA["request"]["fetchOHLCV"][i]
    path, query = _query(entry["url"])
    timeframe = entry["input"][1] if len(entry["input"]) > 1 else "1m"
    ours = API.kline("spot", "BTCUSDT", bybit.INTERVALS[timeframe], start=0, end=1, limit=int(query["limit"]))
    params = dict(ours.params)
    assert ours.path == path
    assert {k: params[k] for k in query} == query
    assert set(params) - set(query) == {"start", "end"}
