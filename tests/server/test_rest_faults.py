"""A venue that is down reads as 503 with Retry-After; what a gather got before failing is kept."""

from __future__ import annotations

import httpx

from tradeflood.testing import Simulator


async def test_venue_down_is_503_with_retry_after(client: httpx.AsyncClient, sim: Simulator) -> None:
    await client.get("/v1/instruments", params={"exchange": "bitget"})
    sim.venues["bitget"].faults.schedule("/api/v2/spot/market/tickers", "error_5xx", count=1000)
    reply = await client.get("/v1/ticker", params={"exchange": "bitget", "symbol": "BTC/USDT"})
    assert reply.status_code == 503
    assert int(reply.headers["Retry-After"]) >= 1
    assert reply.json()["error"] in ("VenueUnavailableError", "FetchError")


async def test_a_failed_gather_keeps_its_part(client: httpx.AsyncClient, sim: Simulator) -> None:
    await client.get("/v1/instruments", params={"exchange": "bitget"})
    sim.venues["bitget"].faults.schedule("/api/v2/spot/market/tickers", "error_5xx", count=1000)
    queries = [{"model": "candle", "exchange": "bitget", "symbol": "BTC/USDT", "interval": "1h",
                "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
               {"model": "ticker", "exchange": "bitget", "symbol": "BTC/USDT"}]
    reply = await client.post("/v1/gather", json=queries)
    assert reply.status_code == 503
    body = reply.json()
    assert body["error"] == "FetchError" and body["cause"] == "VenueUnavailableError"
    assert "partial" in body["message"]
    assert len(body["partial"]["0"]) == 24 and body["partial"]["0"][0]["open_time"] == 1767225600000
