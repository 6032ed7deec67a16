"""Candles through the in-process transport: grid, OHLC, consistency, limits and windows."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from itertools import pairwise

import httpx
import pytest

from tradeflood.testing import BitgetVenue

ClientFactory = Callable[..., httpx.AsyncClient]
NOW = 1_717_200_030.0  # the conftest clock's start
BITGET = "https://api.bitget.com"
BINANCE = "https://api.binance.com"
FAPI = "https://fapi.binance.com"

HOUR_MS = 3_600_000
NOW_MS = int(NOW * 1000)
SPOT = "/api/v2/spot/market/candles"
HISTORY = "/api/v2/spot/market/history-candles"


def _check_ohlc(rows: list[list[object]]) -> None:
    for row in rows:
        o, h, lo, c = (Decimal(str(v)) for v in row[1:5])
        assert lo <= min(o, c) <= max(o, c) <= h


async def test_bitget_range_count_grid_ohlc_and_envelope(client: ClientFactory) -> None:
    start = NOW_MS - NOW_MS % HOUR_MS - 48 * HOUR_MS
    params = {"symbol": "BTCUSDT", "granularity": "1h", "startTime": str(start)}
    params |= {"endTime": str(start + 24 * HOUR_MS), "limit": "1000"}
    r = await client(BITGET).get(SPOT, params=params)
    body = r.json()
    assert r.status_code == 200
    assert (body["code"], body["msg"], body["requestTime"]) == ("00000", "success", NOW_MS)
    rows = body["data"]
    assert len(rows) == 24
    opens = [int(row[0]) for row in rows]
    assert opens == [start + i * HOUR_MS for i in range(24)]
    assert all(isinstance(v, str) for row in rows for v in row) and len(rows[0]) == 8
    _check_ohlc(rows)
    # consecutive candles chain: each opens where the previous one closed
    assert all(a[4] == b[1] for a, b in pairwise(rows))


async def test_overlapping_pages_agree(client: ClientFactory) -> None:
    c = client(BINANCE)
    start = NOW_MS - NOW_MS % HOUR_MS - 100 * HOUR_MS
    a = (
        await c.get(
            "/api/v3/klines",
            params={"symbol": "ETHUSDT", "interval": "1h", "startTime": start, "limit": 60},
        )
    ).json()
    b = (
        await c.get(
            "/api/v3/klines",
            params={
                "symbol": "ETHUSDT",
                "interval": "1h",
                "startTime": start + 30 * HOUR_MS,
                "limit": 60,
            },
        )
    ).json()
    assert len(a) == len(b) == 60
    assert a[30:] == b[:30]
    assert a[0][0] == start and a[0][6] == start + HOUR_MS - 1
    _check_ohlc(a)
    assert a[0][1].endswith("000000") and len(a[0]) == 12


async def test_bitget_recent_and_history_agree(client: ClientFactory) -> None:
    c = client(BITGET)
    end = NOW_MS - NOW_MS % HOUR_MS
    recent = (
        await c.get(
            SPOT, params={"symbol": "SOLUSDT", "granularity": "1h", "endTime": end, "limit": 50}
        )
    ).json()["data"]
    history = (
        await c.get(
            HISTORY, params={"symbol": "SOLUSDT", "granularity": "1h", "endTime": end, "limit": 50}
        )
    ).json()["data"]
    assert recent == history and len(recent) == 50
    assert int(recent[-1][0]) == end - HOUR_MS  # endTime is exclusive


async def test_open_candle_is_served_and_future_is_not(client: ClientFactory) -> None:
    rows = (
        await client(FAPI).get(
            "/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 3}
        )
    ).json()
    assert [r[0] for r in rows][-1] == NOW_MS - NOW_MS % 60_000
    assert len(rows) == 3 and rows[0][1].count(".") == 1 and len(rows[0][1].split(".")[1]) == 1


async def test_before_listing_is_empty_and_listing_starts_pages(client: ClientFactory) -> None:
    c = client(BINANCE)
    listed = 1_609_459_200_000  # SOL listing in the default instruments
    before = (
        await c.get(
            "/api/v3/klines", params={"symbol": "SOLUSDT", "interval": "1d", "endTime": listed - 1}
        )
    ).json()
    assert before == []
    first = (
        await c.get(
            "/api/v3/klines",
            params={"symbol": "SOLUSDT", "interval": "1d", "startTime": 0, "limit": 2},
        )
    ).json()
    assert first[0][0] == listed
    hist = (
        await client(BITGET).get(
            HISTORY, params={"symbol": "SOLUSDT", "granularity": "1Dutc", "endTime": listed}
        )
    ).json()
    assert hist["data"] == []


async def test_bitget_limits(client: ClientFactory) -> None:
    c = client(BITGET)
    recent = (
        await c.get(SPOT, params={"symbol": "BTCUSDT", "granularity": "1min", "limit": 1001})
    ).json()["data"]
    assert len(recent) == 1000  # clamped to the documented maximum
    default = (await c.get(SPOT, params={"symbol": "BTCUSDT", "granularity": "1min"})).json()
    assert len(default["data"]) == 100
    hist = (
        await c.get(
            HISTORY,
            params={"symbol": "BTCUSDT", "granularity": "1min", "endTime": NOW_MS, "limit": 500},
        )
    ).json()["data"]
    assert len(hist) == 200
    missing = await c.get(HISTORY, params={"symbol": "BTCUSDT", "granularity": "1min"})
    assert missing.status_code == 400
    assert missing.json()["code"] == "40019"


async def test_bitget_lookback_window(client: ClientFactory) -> None:
    c = client(BITGET)
    old_end = NOW_MS - 40 * 86_400_000  # beyond the one-month reach of 1min candles
    recent = (
        await c.get(SPOT, params={"symbol": "BTCUSDT", "granularity": "1min", "endTime": old_end})
    ).json()
    assert recent["code"] == "00000" and recent["data"] == []
    history = (
        await c.get(
            HISTORY, params={"symbol": "BTCUSDT", "granularity": "1min", "endTime": old_end}
        )
    ).json()
    assert len(history["data"]) == 100
    mix = (
        await c.get(
            "/api/v2/mix/market/candles",
            params={
                "symbol": "BTCUSDT",
                "productType": "USDT-FUTURES",
                "granularity": "1H",
                "startTime": NOW_MS - 100 * 86_400_000,
                "endTime": NOW_MS - 80 * 86_400_000,
                "limit": 1000,
            },
        )
    ).json()["data"]
    assert len(mix) == 3 * 24  # only the last 3 of those 20 days are within the 83-day reach
    assert int(mix[0][0]) >= NOW_MS - 83 * 86_400_000
    assert len(mix[0]) == 7


async def test_bitget_day_candles_follow_utc_plus_8(client: ClientFactory) -> None:
    c = client(BITGET)
    local = (
        await c.get(SPOT, params={"symbol": "BTCUSDT", "granularity": "1day", "limit": 2})
    ).json()["data"]
    utc = (
        await c.get(SPOT, params={"symbol": "BTCUSDT", "granularity": "1Dutc", "limit": 2})
    ).json()["data"]
    assert int(local[0][0]) % 86_400_000 == 16 * HOUR_MS
    assert int(utc[0][0]) % 86_400_000 == 0


async def test_gap_removes_candles(bitget: BitgetVenue, client: ClientFactory) -> None:
    start = NOW_MS - NOW_MS % HOUR_MS - 10 * HOUR_MS
    bitget.gaps.add("BTC/USDT", start + 2 * HOUR_MS, start + 5 * HOUR_MS)
    rows = (
        await client(BITGET).get(
            SPOT,
            params={
                "symbol": "BTCUSDT",
                "granularity": "1h",
                "startTime": start,
                "endTime": start + 10 * HOUR_MS,
            },
        )
    ).json()["data"]
    opens = [int(r[0]) for r in rows]
    assert len(opens) == 7
    assert start + 3 * HOUR_MS not in opens and start + 5 * HOUR_MS in opens


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"granularity": "1h"}, "40019"),
        ({"symbol": "NOPEUSDT", "granularity": "1h"}, "40034"),
        ({"symbol": "BTCUSDT", "granularity": "7h"}, "40020"),
    ],
)
async def test_bitget_parameter_errors(
    client: ClientFactory, params: dict[str, str], code: str
) -> None:
    r = await client(BITGET).get(SPOT, params=params)
    assert r.status_code == 400
    assert r.json()["code"] == code and r.json()["data"] is None


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v3/klines", {"symbol": "NOPE", "interval": "1h"}, -1121),
        ("/api/v3/klines", {"interval": "1h"}, -1102),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "7h"}, -1120),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "1001"}, -1130),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h", "startTime": "x"}, -1100),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "1501"}, -1130),
        ("/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "7"}, -4021),
    ],
)
async def test_binance_parameter_errors(
    client: ClientFactory, path: str, params: dict[str, str], code: int
) -> None:
    r = await client(BINANCE).get(path, params=params)
    assert r.status_code == 400
    assert r.json()["code"] == code and isinstance(r.json()["msg"], str)
    assert r.headers["x-mbx-used-weight-1m"]


async def test_futures_kline_limit_1500_allowed(client: ClientFactory) -> None:
    r = await client(FAPI).get(
        "/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 1500}
    )
    assert len(r.json()) == 1500
    assert r.headers["x-mbx-used-weight-1m"] == "10"
