"""Cross-check against ccxt's recorded Bitget responses and request URLs.

Our parse of every v2 ``httpResponse`` we support must agree with ccxt's
``parsedResponse``: timestamps and sides exactly, prices and sizes numerically
(ccxt's floats against our exact Decimals). Entries for markets or APIs we do
not serve (Bitget's "uta" v3 API, inverse contracts) are skipped with the
reason in their test id. The recorded request URLs must use our paths and our
granularity spellings. The recordings live outside the project
(``shared/reference/ccxt-static/bitget.json`` next to the repository, or under
``$TRADEFLOOD_REFERENCE_DIR``); without them this module is skipped.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from reference import load_recordings

import tradeflood.bindings.bitget as bg
from tradeflood.connectors.bitget import Bitget
from tradeflood.symbols import split_symbol

DATA = load_recordings("bitget")
METHODS = ("fetchOHLCV", "fetchOrderBook", "fetchTrades", "fetchTicker")
RECEIVED_MS = 1_900_000_000_000  # after every recording: every bar has closed


def _params(args: list[Any]) -> dict[str, Any]:
    return args[-1] if len(args) > 1 and isinstance(args[-1], dict) else {}


def _skip_reason(args: list[Any]) -> str | None:
    if _params(args).get("uta"):
        return "uta (v3 unified-account API) is not served; TradeFlood reads the v2 API"
    kind = split_symbol(args[0]).kind
    if kind == "inverse":
        return "inverse (COIN-FUTURES) markets are not served yet"
    if _params(args).get("price"):
        return "mark/index price candles are not market candles"
    return None


def _cases(section: str) -> list[Any]:
    out = []
    for method in METHODS:
        for i, entry in enumerate(DATA[section].get(method, [])):
            reason = _skip_reason(entry["input"])
            case_id = f"{method}[{i}]" + (f" skipped: {reason}" if reason else "")
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            out.append(pytest.param(method, entry, id=case_id, marks=marks))
    return out


def num(x: Any) -> Decimal:
    """ccxt's float as the decimal it stands for."""
    return Decimal(str(x))


def same(ours: Decimal | None, theirs: Any) -> bool:
    if theirs is None:
        return ours is None
    return ours is not None and ours == num(theirs)


def _native(symbol: str) -> str:
    u = split_symbol(symbol)
    return f"{u.base}{u.quote}"


@pytest.mark.parametrize("method, entry", _cases("response"))
def test_parse_agrees_with_ccxt(method: str, entry: dict[str, Any]) -> None:
    args = entry["input"]
    symbol = args[0]
    spot = split_symbol(symbol).kind == "spot"
    body = entry["httpResponse"]
    assert body["code"] == "00000"
    payload, expected = body["data"], entry["parsedResponse"]
    native = _native(symbol)

    if method == "fetchOHLCV":
        candles = bg.parse_candles(payload, symbol=symbol, native_symbol=native,
                                   interval=args[1], received_ms=RECEIVED_MS, spot=spot)
        assert len(candles) == len(expected)
        for c, (ts, o, h, low, close, volume) in zip(candles, expected, strict=True):
            assert c.open_time == ts
            assert (c.open, c.high, c.low, c.close) == (num(o), num(h), num(low), num(close))
            assert c.volume == num(volume)
            assert c.closed

    elif method == "fetchOrderBook":
        book = bg.parse_order_book(payload, symbol=symbol, native_symbol=native)
        assert book.timestamp == expected["timestamp"]
        assert [(p, s) for p, s in book.bids] == [(num(p), num(s)) for p, s in expected["bids"]]
        assert [(p, s) for p, s in book.asks] == [(num(p), num(s)) for p, s in expected["asks"]]

    elif method == "fetchTrades":
        trades = bg.parse_trades(payload, symbol=symbol, native_symbol=native)
        theirs = sorted(expected, key=lambda t: (t["timestamp"], len(t["id"]), t["id"]))
        assert len(trades) == len(theirs)
        for t, e in zip(trades, theirs, strict=True):
            assert (t.id, t.timestamp, t.side) == (e["id"], e["timestamp"], e["side"])
            assert t.price == num(e["price"]) and t.amount == num(e["amount"])

    elif method == "fetchTicker":
        t = bg.parse_ticker(payload, symbol=symbol, native_symbol=native)
        assert t.timestamp == expected["timestamp"]
        for ours, key in ((t.last, "last"), (t.bid, "bid"), (t.ask, "ask"), (t.high, "high"),
                          (t.low, "low"), (t.base_volume, "baseVolume"),
                          (t.quote_volume, "quoteVolume")):
            assert same(ours, expected[key]), key


def _request_cases() -> list[Any]:
    out = []
    for method in ("fetchOHLCV", "fetchOrderBook", "fetchTrades", "fetchTicker"):
        for i, entry in enumerate(DATA["request"].get(method, [])):
            args = entry["input"]
            path = urlsplit(entry["url"]).path
            reason = _skip_reason(args)
            if reason is None and method == "fetchTrades" and path.endswith("fills-history"):
                reason = "fills-history serves trade histories: compared in test_marks_reference.py"
            case_id = f"{method}[{i}]" + (f" skipped: {reason}" if reason else "")
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            out.append(pytest.param(method, entry, id=case_id, marks=marks))
    return out


_PATHS = {
    (m, kind): paths for m, kind, paths in (
        ("fetchOHLCV", "spot", {"spot_candles", "spot_history_candles"}),
        ("fetchOHLCV", "linear", {"mix_candles", "mix_history_candles"}),
        ("fetchOrderBook", "spot", {"spot_orderbook"}),
        ("fetchOrderBook", "linear", {"mix_merge_depth"}),
        ("fetchTrades", "spot", {"spot_trades"}),
        ("fetchTrades", "linear", {"mix_trades"}),
        ("fetchTicker", "spot", {"spot_tickers"}),
        ("fetchTicker", "linear", {"mix_ticker"}),
    )
}


@pytest.mark.parametrize("method, entry", _request_cases())
def test_requests_use_our_paths_and_spellings(method: str, entry: dict[str, Any]) -> None:
    args = entry["input"]
    kind = bg.market_kind(args[0], "reference")
    url = urlsplit(entry["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    declared = {getattr(Bitget, name).__turn__["path"] for name in _PATHS[(method, kind)]}
    assert url.path in declared
    assert query["symbol"] == _native(args[0])
    if kind == "linear":
        assert query["productType"] == "USDT-FUTURES"
    if method == "fetchOHLCV" and len(args) > 1:
        granularity = (bg.SPOT_GRANULARITY if kind == "spot" else bg.MIX_GRANULARITY)[args[1]]
        assert query["granularity"] == granularity
