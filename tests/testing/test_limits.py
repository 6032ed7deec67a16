"""Rate limits per client IP, answered the way each venue answers them."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tradeflood.clock import VirtualClock
from tradeflood.testing import CLIENT_IP_HEADER, BinanceVenue, BitgetVenue, SimulatorTransport

ClientFactory = Callable[..., httpx.AsyncClient]
BITGET = "https://api.bitget.com"
BINANCE = "https://api.binance.com"
FAPI = "https://fapi.binance.com"
TICKERS = "/api/v2/spot/market/tickers"


async def test_bitget_21_requests_in_a_second_get_one_429(
    bitget: BitgetVenue, client: ClientFactory
) -> None:
    c = client(BITGET)
    statuses = [(await c.get(TICKERS, params={"symbol": "BTCUSDT"})).status_code for _ in range(21)]
    assert statuses.count(429) == 1 and statuses[-1] == 429
    refused = await c.get(TICKERS, params={"symbol": "BTCUSDT"})
    body = refused.json()
    assert (body["code"], body["msg"], body["data"]) == ("429", "Too Many Requests", None)
    assert bitget.stats.rejected_429 == 2
    assert bitget.stats.by_path[TICKERS] == 22 and bitget.stats.served == 20


async def test_bitget_limit_is_per_ip_and_per_endpoint(
    bitget: BitgetVenue, client: ClientFactory
) -> None:
    c = client(BITGET)
    for i in range(21):
        ip = "10.0.0.1" if i % 2 else "10.0.0.2"
        r = await c.get(TICKERS, headers={CLIENT_IP_HEADER: ip})
        assert r.status_code == 200
    other = await c.get("/api/v2/spot/public/symbols", headers={CLIENT_IP_HEADER: "10.0.0.1"})
    assert other.status_code == 200
    assert bitget.stats.rejected_429 == 0 and bitget.stats.by_ip["10.0.0.2"] == 11


async def test_bitget_window_rolls(clock: VirtualClock, client: ClientFactory) -> None:
    c = client(BITGET)
    for _ in range(20):
        assert (await c.get(TICKERS)).status_code == 200
    assert (await c.get(TICKERS)).status_code == 429
    clock.advance(1.0)
    assert (await c.get(TICKERS)).status_code == 200


async def test_windows_reset_as_a_shared_virtual_clock_sleeps(
    clock: VirtualClock, client: ClientFactory
) -> None:
    """The venues' "now" is the caller's clock: sleeping on it is what rolls their windows."""
    c = client(BITGET)
    for _ in range(20):
        assert (await c.get(TICKERS)).status_code == 200
    assert (await c.get(TICKERS)).status_code == 429
    await clock.sleep(1)
    assert (await c.get(TICKERS)).status_code == 200

    venue = BinanceVenue(clock=clock, futures_weight_per_minute=4)
    transport = SimulatorTransport({"binance": venue})
    async with httpx.AsyncClient(transport=transport, base_url=FAPI) as f:
        book = {"symbol": "BTCUSDT"}
        statuses = [
            (await f.get("/fapi/v1/ticker/bookTicker", params=book)).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        await clock.sleep(60 - clock.time() % 60)  # to the next fixed minute
        assert (await f.get("/fapi/v1/ticker/bookTicker", params=book)).status_code == 200


async def test_binance_weight_headers(binance: BinanceVenue, client: ClientFactory) -> None:
    c = client(BINANCE)
    r1 = await c.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"})
    r2 = await c.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 500})
    r3 = await c.get("/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 5})
    assert [r.headers["x-mbx-used-weight-1m"] for r in (r1, r2, r3)] == ["2", "27", "52"]
    assert r3.headers["x-mbx-used-weight"] == "52"
    assert len(r2.json()["bids"]) == 500
    f = await client(FAPI).get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 1000})
    assert f.headers["x-mbx-used-weight-1m"] == "20"  # futures have their own budget
    assert set(f.json()) == {"lastUpdateId", "E", "T", "bids", "asks"}


async def test_binance_429_then_418(clock: VirtualClock) -> None:
    venue = BinanceVenue(clock=clock, spot_weight_per_minute=10, ban_after_429s=2)
    transport_client = httpx.AsyncClient(
        transport=SimulatorTransport({"binance": venue}),
        base_url=BINANCE,
    )
    async with transport_client as c:
        statuses = []
        for _ in range(8):
            r = await c.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["code"] == -1003
                assert "request weight per 1 MINUTE" in r.json()["msg"]
                assert 0 < int(r.headers["retry-after"]) <= 60
                assert r.headers["x-mbx-used-weight-1m"] == "10"
        assert statuses[:5] == [200] * 5
        assert statuses[5:] == [429, 429, 418]
        banned = await c.get("/api/v3/exchangeInfo")
        assert banned.status_code == 418 and "IP banned until" in banned.json()["msg"]
        assert int(banned.headers["retry-after"]) == 120
        assert venue.stats.rejected_429 == 2 and venue.stats.rejected_418 == 2
        clock.advance(121)
        again = await c.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"})
        assert again.status_code == 200 and again.headers["x-mbx-used-weight-1m"] == "2"


async def test_binance_fixed_minute_window(clock: VirtualClock) -> None:
    venue = BinanceVenue(clock=clock)
    for _ in range(3):
        venue.handle("GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m"}, "1.2.3.4")
    assert venue.spot.budget.used("1.2.3.4", clock.time()) == 6
    clock.advance(30)  # the clock started 30 s into a minute: this crosses into the next
    r = venue.handle("GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m"}, "1.2.3.4")
    assert r.headers["x-mbx-used-weight-1m"] == "2"


async def test_manual_ban(
    bitget: BitgetVenue, binance: BinanceVenue, client: ClientFactory
) -> None:
    binance.ban("127.0.0.1", 30)
    bitget.ban("127.0.0.1", 30)
    assert (await client(BINANCE).get("/api/v3/exchangeInfo")).status_code == 418
    assert (await client(BITGET).get(TICKERS)).status_code == 429
