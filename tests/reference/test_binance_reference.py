"""Cross-check against ccxt's recorded Binance responses: our parse of every relevant
``httpResponse`` must agree with ccxt's ``parsedResponse`` (timestamps exactly, prices
and sizes numerically: ccxt floats against our Decimals).

The recordings live outside the project (``shared/reference/ccxt-static/binance.json``
next to the repository, or ``$TRADEFLOOD_REFERENCE_DIR/ccxt-static/binance.json``);
without them the module is skipped.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from reference import load_recordings

import tradeflood.bindings.binance as bb
from tradeflood.connectors.binance import Binance
from tradeflood.symbols import split_symbol

DATA = load_recordings("binance")
METHODS = ("fetchOHLCV", "fetchOrderBook", "fetchTrades", "fetchTicker")
RECEIVED_MS = 1_900_000_000_000  # after every recording: all bars closed


def _skip_reason(method: str, entry: dict[str, Any]) -> str | None:
    args = entry["input"]
    symbol = args[0]
    params = args[-1] if len(args) > 1 and isinstance(args[-1], dict) else {}
    if ":" in symbol and symbol.count("-") >= 2:
        return "option market (eapi) is out of scope"
    if split_symbol(symbol).kind == "inverse":
        return "inverse (COIN-M, dapi) market is out of scope"
    if params.get("price"):
        return f"{params['price']} price klines are not Binance klines"
    if method == "fetchTrades" and isinstance(entry["httpResponse"], list) and \
            entry["httpResponse"] and "a" in entry["httpResponse"][0]:
        return "aggTrades format; TradeFlood reads /api/v3/trades and /fapi/v1/trades"
    return None


def _cases() -> list[Any]:
    cases = []
    for method in METHODS:
        for i, entry in enumerate(DATA.get("response", {}).get(method, [])):
            label = f"{method}[{i}] {entry['input'][0]}"
            reason = _skip_reason(method, entry)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            cases.append(pytest.param(method, entry, id=label + (f" SKIP {reason}" if reason
                                                                 else ""), marks=marks))
    return cases


CASES = _cases()


def close(ours: Decimal | None, theirs: float | None) -> bool:
    if theirs is None:
        return ours is None
    return ours is not None and math.isclose(float(ours), theirs, rel_tol=1e-12, abs_tol=1e-12)


def _native(symbol: str) -> str:
    s = split_symbol(symbol)
    return s.base + s.quote


@pytest.mark.parametrize(("method", "entry"), CASES)
def test_matches_ccxt(method: str, entry: dict[str, Any]) -> None:
    symbol = entry["input"][0]
    native = _native(symbol)
    spot = split_symbol(symbol).kind == "spot"
    body, parsed = entry["httpResponse"], entry["parsedResponse"]

    if method == "fetchOHLCV":
        interval = entry["input"][1] if len(entry["input"]) > 1 and entry["input"][1] else "1m"
        candles = bb.parse_klines(body, symbol=symbol, native_symbol=native, interval=interval,
                                  received_ms=RECEIVED_MS,
                                  endpoint="/api/v3/klines" if spot else "/fapi/v1/klines")
        assert len(candles) == len(parsed)
        for c, (t, o, h, lo, cl, v) in zip(candles, parsed, strict=True):
            assert c.open_time == t
            assert all(close(a, b) for a, b in ((c.open, o), (c.high, h), (c.low, lo),
                                                (c.close, cl), (c.volume, v)))
            assert c.closed

    elif method == "fetchOrderBook":
        book = bb.parse_depth(body, symbol=symbol, native_symbol=native, received_ms=RECEIVED_MS)
        if parsed["timestamp"] is not None:
            assert book.timestamp == parsed["timestamp"]
        else:
            assert book.timestamp == RECEIVED_MS  # spot depth carries no time
        assert book.sequence == parsed["nonce"]
        for ours, theirs in ((book.bids, parsed["bids"]), (book.asks, parsed["asks"])):
            assert len(ours) == len(theirs)
            assert all(close(p, tp) and close(q, tq) for (p, q), (tp, tq) in zip(ours, theirs,
                                                                                 strict=True))

    elif method == "fetchTrades":
        trades = bb.parse_trades(body, symbol=symbol, native_symbol=native)
        assert len(trades) == len(parsed)
        for t, r in zip(trades, parsed, strict=True):
            assert (t.id, t.timestamp, t.side) == (str(r["id"]), r["timestamp"], r["side"])
            assert close(t.price, r["price"]) and close(t.amount, r["amount"])

    elif method == "fetchTicker":
        t = bb.parse_ticker(body, symbol=symbol, native_symbol=native)
        assert t.timestamp == parsed["timestamp"]
        for ours, key in ((t.last, "last"), (t.bid, "bid"), (t.ask, "ask"), (t.high, "high"),
                          (t.low, "low"), (t.base_volume, "baseVolume"),
                          (t.quote_volume, "quoteVolume")):
            assert close(ours, parsed[key]), key


def test_some_entries_were_compared() -> None:
    compared = [c for c in CASES if not c.marks]
    assert len(compared) >= 5


def test_taker_side_convention_agrees_on_agg_trades() -> None:
    """The recorded trades are aggTrades (``m`` = buyer is maker); mapped onto the
    trades shape, our side convention must give ccxt's side."""
    checked = 0
    for entry in DATA.get("response", {}).get("fetchTrades", []):
        for raw, r in zip(entry["httpResponse"], entry["parsedResponse"], strict=True):
            if "m" not in raw:
                continue
            row = {"id": raw["a"], "price": raw["p"], "qty": raw["q"], "time": raw["T"],
                   "isBuyerMaker": raw["m"]}
            (t,) = bb.parse_trades([row], symbol=r["symbol"], native_symbol="X")
            assert (t.side, t.timestamp, t.id) == (r["side"], r["timestamp"], r["id"])
            checked += 1
    assert checked


def _request_cases() -> list[Any]:
    out = []
    for method in ("fetchOrderBook", "fetchOHLCV"):
        for i, entry in enumerate(DATA.get("request", {}).get(method, [])):
            args = entry["input"]
            if len(args) < 2 or args[1] is None or (len(args) > 2 and isinstance(args[-1], dict)):
                continue
            if split_symbol(args[0]).kind == "inverse" or "-" in args[0]:
                continue
            out.append(pytest.param(method, entry, id=f"{method}[{i}] {args[0]}"))
    return out


@pytest.mark.parametrize(("method", "entry"), _request_cases())
def test_request_urls_match(method: str, entry: dict[str, Any]) -> None:
    """Our turns hit the same host, path and (where comparable) parameters as ccxt."""
    from urllib.parse import parse_qs, urlsplit

    api = Binance()
    args = entry["input"]
    spot = split_symbol(args[0]).kind == "spot"
    native = _native(args[0])
    if method == "fetchOrderBook":
        turn = (api.spot_depth if spot else api.futures_depth)(native, args[1])
    else:
        turn = (api.spot_klines if spot else api.futures_klines)(
            native, args[1], args[2] if len(args) > 2 else None, None,
            args[3] if len(args) > 3 else None)
    url = urlsplit(entry["url"])
    assert api.url(turn) == f"{url.scheme}://{url.netloc}{url.path}"
    theirs = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert theirs == dict(turn.params)
