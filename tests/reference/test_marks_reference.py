"""Cross-check of issue 16's marks half against ccxt's recordings: mark/index candle rows, aggregate
trades and the request URLs of mark/index candles and trade histories (where the semantics agree).

Entries compared (see the report of each test): Binance aggTrades parse; Binance index-price
rows (recorded on COIN-M, the same row format as USDⓈ-M ``indexPriceKlines``); Bitget mark and
index rows (recorded on the v3 endpoint, the same row format as v2 mix candles); the request
URLs of Binance ``markPriceKlines``/``indexPriceKlines`` and Bitget mix ``candles`` with
``kLineType``. Without the recordings the module is skipped.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from reference import load_recordings

from tradeflood.bindings.binance import parse_agg_trades
from tradeflood.connectors.binance import Binance
from tradeflood.connectors.bitget import Bitget
from tradeflood.models import IndexCandle, MarkCandle
from tradeflood.parsing import Reader, parse_price_candles

BINANCE = load_recordings("binance")
BITGET = load_recordings("bitget")


def close(ours: Decimal, theirs: float) -> bool:
    return math.isclose(float(ours), theirs, rel_tol=1e-12, abs_tol=1e-12)


def _closed(row: list[Any], open_ms: int) -> bool:
    return True


def test_binance_agg_trades_parse_as_ccxt() -> None:
    compared = 0
    for entry in BINANCE["response"]["fetchTrades"]:
        body, parsed = entry["httpResponse"], entry["parsedResponse"]
        if not body or "a" not in body[0]:
            continue
        ours = parse_agg_trades(body, symbol=entry["input"][0], native_symbol="BTCUSDT")
        for t, r in zip(ours, parsed, strict=True):
            assert (t.id, t.timestamp, t.side) == (r["id"], r["timestamp"], r["side"])
            assert close(t.price, r["price"]) and close(t.amount, r["amount"])
            compared += 1
    assert compared == 1


@pytest.mark.parametrize(("data", "venue"), [(BINANCE, "binance"), (BITGET, "bitget")])
def test_mark_and_index_rows_parse_as_ccxt(data: dict[str, Any], venue: str) -> None:
    compared = 0
    for entry in data["response"]["fetchOHLCV"]:
        params = entry["input"][-1] if isinstance(entry["input"][-1], dict) else {}
        if params.get("price") not in ("mark", "index"):
            continue
        body = entry["httpResponse"]
        rows = body["data"] if isinstance(body, dict) else body
        model = MarkCandle if params["price"] == "mark" else IndexCandle
        bars = parse_price_candles(Reader(venue, "candles", rows), rows, model, symbol=entry["input"][0],
                                   native_symbol="X", interval=entry["input"][1], closed=_closed)
        for b, (t, o, h, lo, c, _) in zip(bars, entry["parsedResponse"], strict=True):
            assert b.open_time == t and type(b) is model
            assert all(close(x, y) for x, y in ((b.open, o), (b.high, h), (b.low, lo), (b.close, c)))
        compared += 1
    assert compared == (1 if venue == "binance" else 2)  # entries


def _query(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_binance_mark_and_index_kline_urls() -> None:
    api, compared = Binance(), 0
    for entry in BINANCE["request"]["fetchOHLCV"]:
        symbol, interval, since, limit, params = [*entry["input"], None, None, None, None][:5]
        price = params.get("price") if isinstance(params, dict) else None
        if price not in ("mark", "index") or not symbol.endswith(":USDT"):
            continue  # COIN-M (dapi) is out of scope
        klines = api.mark_price_klines if price == "mark" else api.index_price_klines
        turn = klines("BTCUSDT", interval, since, None, limit)
        where, theirs = _query(entry["url"])
        assert api.url(turn) == where and theirs == dict(turn.params)
        compared += 1
    assert compared == 2


def test_bitget_mark_and_index_candle_urls() -> None:
    """Same host, path and parameters; ccxt spells ``kLineType`` in lower case, the v2 docs in
    upper case (MARK, INDEX), which TradeFlood sends."""
    api, compared = Bitget(), 0
    for entry in BITGET["request"]["fetchOHLCV"]:
        _symbol, _interval, _since, _limit, params = [*entry["input"], None, None, None, None][:5]
        price = params.get("price") if isinstance(params, dict) else None
        if price not in ("mark", "index") or params.get("uta"):
            continue  # the v3 (UTA) endpoints are not what TradeFlood reads
        turn = api.mix_price_candles("BTCUSDT", "1H", price.upper(), None, None, 1000)
        where, theirs = _query(entry["url"])
        assert api.url(turn) == where
        ours = dict(turn.params)
        assert ours.pop("kLineType") == theirs.pop("kLineType").upper() and ours == theirs
        compared += 1
    assert compared == 2


def test_trade_history_hosts_and_paths() -> None:
    """Binance: ccxt asks aggTrades from ``since`` to ``since`` + 1 h; TradeFlood's windows sit on
    the hour grid and send ``endTime`` as the window's last millisecond, so only the host, path,
    symbol and limit are compared. Bitget: the same ``fills-history`` paths."""
    binance, bitget, compared = Binance(), Bitget(), 0
    for entry in BINANCE["request"]["fetchTrades"]:
        symbol, *_ = entry["input"]
        if "-" in symbol or symbol.endswith(":BTC") or "USDBRL" in symbol:
            continue
        agg = binance.spot_agg_trades if ":" not in symbol else binance.futures_agg_trades
        turn = agg("BTCUSDT", None, None, None, None)
        where, _ = _query(entry["url"])
        assert binance.url(turn) == where
        compared += 1
    for entry in BITGET["request"]["fetchTrades"]:
        symbol, *rest = entry["input"]
        if rest and isinstance(rest[-1], dict) and rest[-1].get("uta"):
            continue
        fills = bitget.spot_fills_history if ":" not in symbol else bitget.mix_fills_history
        where, theirs = _query(entry["url"])
        turn = fills("BTCUSDT", None, None, None, int(theirs["limit"]) if "limit" in theirs else None)
        assert bitget.url(turn) == where and dict(turn.params) == theirs
        compared += 1
    assert compared == 4 + 4
