"""Bitget connector: declared turns (paths, params, groups) and the envelope/error mapping."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tradeflood.connector import Reply
from tradeflood.connectors.bitget import Bitget
from tradeflood.errors import (
    PayloadError,
    RateLimitedError,
    VenueRejectedError,
    VenueUnavailableError,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitget"


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def api() -> Bitget:
    return Bitget()


def test_urls_and_limits(api: Bitget) -> None:
    assert api.base_urls["rest"] == "https://api.bitget.com"
    assert api.base_urls["ws"] == "wss://ws.bitget.com/v2/ws/public"
    assert api.limits["spot-candles"].count == 20 and api.limits["spot-candles"].per == 1.0
    assert api.limits["spot-fills"].count == 10  # Get Recent Trades: 10 times/1s
    assert "*" not in api.limits


def test_every_turn_is_charged_to_a_declared_group(api: Bitget) -> None:
    turns = [
        api.spot_symbols(), api.contracts(), api.spot_candles("BTCUSDT", "1min"),
        api.spot_history_candles("BTCUSDT", "1min", 1), api.mix_candles("BTCUSDT", "1m"),
        api.mix_history_candles("BTCUSDT", "1m"), api.spot_orderbook("BTCUSDT"),
        api.mix_merge_depth("BTCUSDT"), api.spot_trades("BTCUSDT"), api.mix_trades("BTCUSDT"),
        api.spot_tickers("BTCUSDT"), api.mix_ticker("BTCUSDT"),
    ]
    assert len({t.group for t in turns}) == len(turns)
    for t in turns:
        assert api.groups(t) == (t.group,)


def test_listing_turns_are_session_cached(api: Bitget) -> None:
    spot, perps = api.spot_symbols(), api.contracts()
    assert (spot.path, spot.params, spot.cache) == ("/api/v2/spot/public/symbols", (), "session")
    assert perps.path == "/api/v2/mix/market/contracts"
    assert perps.params == (("productType", "USDT-FUTURES"),)
    assert perps.cache == "session"


def test_candle_turn_params_are_canonical(api: Bitget) -> None:
    t = api.mix_candles("BTCUSDT", "1H", 1704067200000, 1707667199999, 1000)
    assert t.path == "/api/v2/mix/market/candles"
    assert dict(t.params) == {
        "symbol": "BTCUSDT", "productType": "USDT-FUTURES", "granularity": "1H",
        "startTime": "1704067200000", "endTime": "1707667199999", "limit": "1000",
    }
    history = api.spot_history_candles("BTCUSDT", "1Dutc", 1690000000000, 200)
    assert dict(history.params) == {"symbol": "BTCUSDT", "granularity": "1Dutc",
                                    "endTime": "1690000000000", "limit": "200"}
    # None values are dropped, so a default request is keyed like one without them.
    assert api.mix_merge_depth("BTCUSDT").key == api.mix_merge_depth("BTCUSDT", None).key


def test_unwrap_returns_data(api: Bitget) -> None:
    t = api.spot_tickers("BTCUSDT")
    data = api.unwrap(t, Reply(200, {}, body("spot_tickers.json")))
    assert data[0]["lastPr"] == "73369.13"


def test_error_code_becomes_venue_rejected(api: Bitget) -> None:
    t = api.spot_candles("BTCXXX", "1min")
    with pytest.raises(VenueRejectedError) as err:
        api.unwrap(t, Reply(400, {}, body("error_unknown_symbol.json")))
    e = err.value
    assert (e.venue, e.endpoint, e.status, e.code) == ("bitget", t.path, 400, "40034")
    assert "Parameter BTCXXX does not exist" in str(e)
    assert "instrument list" in str(e)  # what to do


def test_error_code_on_http_200_is_still_a_refusal(api: Bitget) -> None:
    t = api.mix_ticker("BTCUSDT")
    raw = orjson.dumps({"code": "40020", "msg": "Parameter productType error", "data": None})
    with pytest.raises(VenueRejectedError) as err:
        api.unwrap(t, Reply(200, {}, raw))
    assert err.value.code == "40020" and err.value.status == 200


def test_http_429_is_rate_limited_with_retry_after(api: Bitget) -> None:
    raw = b'{"code":"429","msg":"Too Many Requests","requestTime":1,"data":null}'
    with pytest.raises(RateLimitedError) as err:
        api.unwrap(api.spot_symbols(), Reply(429, {"Retry-After": "2"}, raw))
    assert err.value.status == 429 and err.value.retry_after == 2.0


def test_code_429_in_body_is_rate_limited(api: Bitget) -> None:
    raw = b'{"code":"429","msg":"Too Many Requests","requestTime":1,"data":null}'
    with pytest.raises(RateLimitedError) as err:
        api.unwrap(api.spot_symbols(), Reply(200, {}, raw))
    assert err.value.code == "429"


def test_http_503_is_unavailable(api: Bitget) -> None:
    with pytest.raises(VenueUnavailableError) as err:
        api.unwrap(api.spot_symbols(), Reply(503, {}, b"<html>maintenance</html>"))
    assert err.value.status == 503


def test_non_json_body_is_a_payload_error(api: Bitget) -> None:
    with pytest.raises(PayloadError, match="not JSON"):
        api.unwrap(api.spot_symbols(), Reply(200, {}, b"<html>hello</html>"))


@pytest.mark.parametrize("raw, detail", [
    (b'[1, 2, 3]', "envelope"),
    (b'{"msg": "success", "data": []}', "envelope"),
    (b'{"code": "00000", "msg": "success"}', "no 'data'"),
])
def test_missing_envelope_fields_are_payload_errors(api: Bitget, raw: bytes, detail: str) -> None:
    with pytest.raises(PayloadError, match=detail) as err:
        api.unwrap(api.spot_symbols(), Reply(200, {}, raw))
    assert err.value.endpoint == "/api/v2/spot/public/symbols"
