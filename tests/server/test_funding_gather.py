"""Funding rates and open interest through the server's gather: a history and a current value."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tradeflood.testing import Simulator


async def test_gather_funding_history_and_current_open_interest(client: httpx.AsyncClient,
                                                                 sim: Simulator) -> None:
    queries = [{"model": "funding-rate", "exchange": "okx", "symbol": "BTC/USDT:USDT", "start": "-3d"},
               {"model": "open-interest", "exchange": "bybit", "symbol": "BTC/USDT:USDT"}]
    reply = await client.post("/v1/gather", json=queries)
    assert reply.status_code == 200, reply.text
    rates, oi = reply.json()["results"]
    assert len(rates["data"]) == 9 and all(int(r["funding_time"]) % 28_800_000 == 0 for r in rates["data"])
    assert oi["exchange"] == "bybit" and Decimal(oi["size"]) > 0 and Decimal(oi["value"]) > 0
    spot = await client.post("/v1/gather", json=[{"model": "funding-rate", "exchange": "okx",
                                                    "symbol": "BTC/USDT"}])
    assert spot.status_code == 400 and "only for perpetual swaps" in spot.json()["message"]
