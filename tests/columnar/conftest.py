"""Payloads for the columnar tests: real candle replies from the in-process venue simulator."""

from __future__ import annotations

from typing import Any

import pytest

from tradeflood.testing import BinanceVenue, BitgetVenue

pytest.importorskip("pyarrow", reason="columnar results need pyarrow (pip install pyarrow)")

MINUTE = 60_000


@pytest.fixture(scope="session")
def bitget_payloads() -> dict[str, Any]:
    """1000 spot and 1000 mix Bitget 1m candle rows, and the time the venue made them."""
    venue = BitgetVenue()
    now = venue.now_ms()
    spot = venue.handle("GET", "/api/v2/spot/market/candles",
                        {"symbol": "BTCUSDT", "granularity": "1min", "limit": "1000",
                         "endTime": str(now)}, "127.0.0.1")
    mix = venue.handle("GET", "/api/v2/mix/market/candles",
                       {"symbol": "BTCUSDT", "granularity": "1m", "limit": "1000", "endTime": str(now),
                        "productType": "USDT-FUTURES"}, "127.0.0.1")
    assert spot.status == mix.status == 200
    return {"now": now, "spot": spot.json()["data"], "mix": mix.json()["data"]}


@pytest.fixture(scope="session")
def binance_payload() -> dict[str, Any]:
    """1000 Binance spot 1m kline rows, and the time the venue made them."""
    venue = BinanceVenue()
    now = venue.now_ms()
    reply = venue.handle("GET", "/api/v3/klines",
                         {"symbol": "BTCUSDT", "interval": "1m", "limit": "1000",
                          "startTime": str((now // MINUTE - 999) * MINUTE)}, "127.0.0.1")
    assert reply.status == 200
    return {"now": now, "rows": reply.json()}
