"""The simulator over real sockets on 127.0.0.1, with keep-alive connections."""

from __future__ import annotations

import httpx

from tradeflood.clock import VirtualClock
from tradeflood.testing import BinanceVenue, BitgetVenue, Simulator

TICKERS = "/api/v2/spot/market/tickers"


def test_candles_over_a_socket_with_keep_alive() -> None:
    bitget = BitgetVenue()
    with Simulator({"bitget": bitget, "binance": BinanceVenue()}) as sim:
        base = sim.url("bitget")
        assert base.startswith("http://127.0.0.1:")
        params = {"symbol": "BTCUSDT", "granularity": "1h", "limit": "24"}
        with httpx.Client(base_url=base) as client:
            first = client.get("/api/v2/spot/market/candles", params=params)
            second = client.get("/api/v2/spot/market/candles", params=params)
        assert first.status_code == second.status_code == 200
        rows = first.json()["data"]
        assert len(rows) == 24 and first.json()["code"] == "00000"
        assert rows[:-1] == second.json()["data"][:-1]  # closed candles never change
        assert bitget.stats.by_ip["127.0.0.1"] == 2
        assert sim.connections_accepted == 1  # both requests rode one kept-alive connection
        with httpx.Client(base_url=sim.url("binance")) as client:
            r = client.get("/fapi/v1/klines", params={"symbol": "ETHUSDT", "interval": "1m"})
        assert r.status_code == 200 and len(r.json()) == 500
        assert r.headers["x-mbx-used-weight-1m"] == "5"


async def test_async_context_serves_in_the_running_loop() -> None:
    async with Simulator() as sim:
        async with httpx.AsyncClient(base_url=sim.url("binance")) as client:
            r = await client.get("/api/v3/ticker/24hr", params={"symbol": "SOLUSDT"})
        assert r.status_code == 200 and r.json()["symbol"] == "SOLUSDT"


async def test_loopback_source_addresses_are_separate_clients() -> None:
    """Clients bound to 127.0.0.1 and 127.0.0.2 reach the 127.0.0.1 server as two IPs."""
    clock = VirtualClock(start=1_717_200_030.0)  # frozen: the one-second window never rolls
    bitget = BitgetVenue(clock=clock)
    async with Simulator({"bitget": bitget}) as sim:
        base = sim.url("bitget")
        one = httpx.AsyncClient(base_url=base)
        two = httpx.AsyncClient(
            base_url=base, transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        )
        async with one, two:
            statuses = [(await one.get(TICKERS)).status_code for _ in range(21)]
            assert statuses == [200] * 20 + [429]
            assert (await two.get(TICKERS)).status_code == 200
            assert bitget.stats.by_ip == {"127.0.0.1": 21, "127.0.0.2": 1}

            bitget.ban("127.0.0.2")
            clock.advance(1.0)  # 127.0.0.1's window rolls; the ban lasts 60 s
            assert (await one.get(TICKERS)).status_code == 200
            refused = await two.get(TICKERS)
            assert refused.status_code == 429 and refused.json()["code"] == "429"
    assert sim.connections_accepted == 2
