"""Injected faults, scheduled or drawn from a seed, through the in-process transport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tradeflood.clock import VirtualClock
from tradeflood.testing import BinanceVenue, BitgetVenue, Faults, SimulatorTransport

ClientFactory = Callable[..., httpx.AsyncClient]
BITGET = "https://api.bitget.com"
BINANCE = "https://api.binance.com"
KLINES: dict[str, str | int] = {"symbol": "BTCUSDT", "interval": "1h", "limit": 10}


async def test_scheduled_5xx_then_normal(binance: BinanceVenue, client: ClientFactory) -> None:
    binance.faults.schedule("/api/v3/klines", "error_5xx", 2)
    c = client(BINANCE)
    first, second, third = [await c.get("/api/v3/klines", params=KLINES) for _ in range(3)]
    assert {first.status_code, second.status_code} <= {502, 503}
    assert b"<html>" in first.content
    assert third.status_code == 200 and len(third.json()) == 10
    assert binance.stats.faults["error_5xx"] == 2


async def test_injected_429_uses_venue_body(bitget: BitgetVenue, client: ClientFactory) -> None:
    bitget.faults.schedule("/api/v2/", "rate_429")
    r = await client(BITGET).get("/api/v2/spot/market/tickers")
    assert r.status_code == 429 and r.json()["code"] == "429"
    assert bitget.stats.rejected_429 == 1


async def test_malformed_and_non_json(binance: BinanceVenue, client: ClientFactory) -> None:
    binance.faults.schedule("/api/v3/klines", "malformed")
    binance.faults.schedule("/api/v3/klines", "non_json")
    c = client(BINANCE)
    cut = await c.get("/api/v3/klines", params=KLINES)
    assert cut.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    page = await c.get("/api/v3/klines", params=KLINES)
    assert page.status_code == 200 and page.headers["content-type"] == "text/html"


async def test_short_page(bitget: BitgetVenue, client: ClientFactory) -> None:
    params: dict[str, str | int] = {"symbol": "BTCUSDT", "granularity": "1h", "limit": 10}
    bitget.faults.schedule("/api/v2/spot/market/candles", "short_page")
    c = client(BITGET)
    short = (await c.get("/api/v2/spot/market/candles", params=params)).json()["data"]
    full = (await c.get("/api/v2/spot/market/candles", params=params)).json()["data"]
    assert len(short) == 5 and len(full) == 10
    assert short == full[5:]  # the half nearest the endTime anchor


async def test_timeout_raises_after_client_timeout_on_virtual_clock(clock: VirtualClock) -> None:
    venue = BinanceVenue(clock=clock)
    venue.faults.schedule("/api/v3/klines", "timeout")  # timeout_seconds=None: never answers
    transport = SimulatorTransport({"binance": venue})
    async with httpx.AsyncClient(transport=transport, base_url=BINANCE, timeout=7.5) as c:
        before = clock.time()
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/api/v3/klines", params=KLINES)
        assert clock.time() - before == pytest.approx(7.5)
        assert (await c.get("/api/v3/klines", params=KLINES)).status_code == 200


async def test_slow_answer_and_latency(clock: VirtualClock) -> None:
    venue = BitgetVenue(clock=clock, faults=Faults(latency=(0.5, 0.5), timeout_seconds=3.0))
    venue.faults.schedule("/api/v2/spot/market/tickers", "timeout")
    transport = SimulatorTransport({"bitget": venue})
    async with httpx.AsyncClient(transport=transport, base_url=BITGET, timeout=10) as c:
        before = clock.time()
        assert (await c.get("/api/v2/spot/market/tickers")).status_code == 200
        assert clock.time() - before == pytest.approx(3.5)


def test_seeded_faults_repeat() -> None:
    def run(seed: int) -> list[int]:
        venue = BitgetVenue(faults=Faults(error_5xx=0.3, rate_429=0.2, seed=seed))
        path = "/api/v2/spot/public/symbols"
        return [venue.handle("GET", path, {}, f"10.0.0.{i}").status for i in range(40)]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert {502, 503, 429, 200} >= set(run(1)) and 200 in run(1)
