"""Derivatives data through the server: REST funding, open interest, mark and index bars; live topics
(streamed where the venue streams, polled where it does not), against a real uvicorn and the simulator."""

from __future__ import annotations

import itertools
from decimal import Decimal

import httpx

from tradeflood.models import FundingRate, IndexCandle, MarkCandle, OpenInterest
from tradeflood.testing import Simulator
from tradeflood.testing._derived import LIQUIDATION_SPACING_MS, liquidation
from tradeflood.testing._funding_market import FUNDING_STEP_MS, funding_rate

from .conftest import Running
from .wsclient import data, frames, open_socket, subscribe

PERP = "BTC/USDT:USDT"
MINUTE = 60_000


def _now_ms(server: Running) -> int:
    return int(server.session.clock.time() * 1000)


async def test_funding_rate_current_and_history(client: httpx.AsyncClient, server: Running,
                                                sim: Simulator) -> None:
    now = await client.get("/v1/funding-rate", params={"exchange": "binance", "symbol": PERP})
    assert now.status_code == 200, now.text
    current = now.json()
    assert current["exchange"] == "binance" and current["native_symbol"] == "BTCUSDT"
    assert current["funding_time"] % FUNDING_STEP_MS == 0 and current["funding_time"] > _now_ms(server) - 1000
    assert Decimal(current["mark_price"]) > 0 and Decimal(current["index_price"]) > 0

    end = _now_ms(server) // FUNDING_STEP_MS * FUNDING_STEP_MS
    start = end - 5 * FUNDING_STEP_MS
    reply = await client.get("/v1/funding-rate", params={"exchange": "okx", "symbol": PERP,
                                                         "start": str(start), "end": str(end)})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["gaps"] == []
    times = [row["funding_time"] for row in body["data"]]
    assert times == list(range(start, end, FUNDING_STEP_MS))
    inst = sim.venues["okx"].market.find("BTCUSDT", "perp")
    assert inst is not None
    assert [Decimal(r["rate"]) for r in body["data"]] == [funding_rate(sim.venues["okx"].market, inst, t)
                                                          for t in times]
    direct = await server.session.afetch(FundingRate, exchange="okx", symbol=PERP, start=start, end=end)
    assert [(r.funding_time, r.rate) for r in direct] == [(t, Decimal(r["rate"]))
                                                           for t, r in zip(times, body["data"], strict=True)]


async def test_spot_and_unserved_history_are_refused_before_any_request(client: httpx.AsyncClient,
                                                                         sim: Simulator) -> None:
    before = sim.venues["okx"].stats.requests
    spot = await client.get("/v1/funding-rate", params={"exchange": "okx", "symbol": "BTC/USDT"})
    assert spot.status_code == 400 and "only for perpetual swaps" in spot.json()["message"]
    assert sim.venues["okx"].stats.requests == before
    history = await client.get("/v1/open-interest", params={"exchange": "bitget", "symbol": PERP,
                                                            "interval": "1h", "start": "-6h"})
    assert history.status_code == 400 and "current open interest only" in history.json()["message"]


async def test_open_interest_current_and_history(client: httpx.AsyncClient, server: Running) -> None:
    now = (await client.get("/v1/open-interest", params={"exchange": "okx", "symbol": PERP})).json()
    assert now["exchange"] == "okx" and Decimal(now["size"]) > 0 and Decimal(now["value"]) > 0
    end = _now_ms(server) // 3_600_000 * 3_600_000
    reply = await client.get("/v1/open-interest", params={
        "exchange": "binance", "symbol": PERP, "interval": "1h", "start": str(end - 6 * 3_600_000),
        "end": str(end)})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [r["timestamp"] for r in body["data"]] == list(range(end - 6 * 3_600_000, end, 3_600_000))
    assert all(r["interval"] == "1h" and Decimal(r["size"]) > 0 for r in body["data"]) and body["gaps"] == []
    direct = await server.session.afetch(OpenInterest, exchange="binance", symbol=PERP, interval="1h",
                                         start=end - 6 * 3_600_000, end=end)
    assert [str(r.size) for r in direct] == [r["size"] for r in body["data"]]


async def test_mark_and_index_candles_equal_the_library_fetch(client: httpx.AsyncClient,
                                                              server: Running) -> None:
    end = _now_ms(server) // MINUTE * MINUTE - 2 * MINUTE
    start = end - 30 * MINUTE
    for path, model, venue in (("/v1/mark-candles", MarkCandle, "binance"),
                               ("/v1/index-candles", IndexCandle, "bybit"),
                               ("/v1/mark-candles", MarkCandle, "okx")):
        reply = await client.get(path, params={"exchange": venue, "symbol": PERP, "interval": "1m",
                                               "start": str(start), "end": str(end)})
        assert reply.status_code == 200, (path, venue, reply.text)
        body = reply.json()
        assert [r["open_time"] for r in body["data"]] == list(range(start, end, MINUTE))
        assert body["gaps"] == []
        assert all(r["closed"] and r["close_time"] == r["open_time"] + MINUTE for r in body["data"])
        direct = await server.session.afetch(model, exchange=venue, symbol=PERP, interval="1m",
                                             start=start, end=end)
        assert [(str(c.open), str(c.high), str(c.low), str(c.close)) for c in direct] == \
            [(r["open"], r["high"], r["low"], r["close"]) for r in body["data"]]
    bad = await client.get("/v1/index-candles", params={"exchange": "binance", "symbol": PERP,
                                                         "interval": "7m"})
    assert bad.status_code == 400 and "1m" in bad.json()["valid"]


async def test_gather_takes_mark_and_index_candles(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/gather", json=[
        {"model": "mark-candle", "exchange": "bitget", "symbol": PERP, "interval": "1h", "start": "-1d"},
        {"model": "index-candle", "exchange": "okx", "symbol": PERP, "interval": "1h", "start": "-1d"}])
    assert reply.status_code == 200, reply.text
    marks, index = reply.json()["results"]
    assert len(marks["data"]) in (24, 25) and len(index["data"]) in (24, 25)
    assert all(r["open_time"] % 3_600_000 == 0 for r in marks["data"] + index["data"])
    assert marks["data"][0]["exchange"] == "bitget" and index["data"][0]["exchange"] == "okx"


async def test_live_liquidations_and_polled_funding_over_the_socket(server: Running, sim: Simulator) -> None:
    async with await open_socket(server.ws_url) as ws:
        assert (await subscribe(ws, "liq", model="liquidation", exchange="bybit", symbol=PERP))["op"] == \
            "subscribed"
        got = [f["data"] for f in await frames(ws, 3, keep=lambda f: f.get("id") == "liq" and "data" in f,
                                               timeout=60)]
        market = sim.venues["bybit"].market
        inst = market.find("BTCUSDT", "perp")
        assert inst is not None
        for x in got:
            want = liquidation(market, inst, (x["timestamp"] - inst.listed_ms) // LIQUIDATION_SPACING_MS)
            assert (x["timestamp"], Decimal(x["price"]), Decimal(x["amount"]), x["side"]) == \
                (want.ts_ms, want.price, want.size, want.side)
        assert [x["timestamp"] for x in got] == sorted(x["timestamp"] for x in got)

        # Binance streams funding rates (markPrice) but no open interest: that one is polled.
        assert (await subscribe(ws, "f", model="funding-rate", exchange="binance", symbol=PERP))["op"] == \
            "subscribed"
        (frame,) = await frames(ws, 1, keep=lambda f: f.get("id") == "f" and "data" in f, timeout=60)
        rate = frame["data"]
        assert rate["exchange"] == "binance" and rate["funding_time"] % FUNDING_STEP_MS == 0
        assert Decimal(rate["mark_price"]) > 0
        topics = {t["topic"] for t in server.state.topics.describe()}
        assert "funding-rate binance BTC/USDT:USDT" in topics
        assert (await subscribe(ws, "oi", model="open-interest", exchange="binance", symbol=PERP))["op"] == \
            "subscribed"
        (frame,) = await frames(ws, 1, keep=lambda f: f.get("id") == "oi" and "data" in f, timeout=60)
        assert frame["data"]["exchange"] == "binance" and Decimal(frame["data"]["size"]) > 0
        topics = {t["topic"] for t in server.state.topics.describe()}
        assert "open-interest binance BTC/USDT:USDT poll=10.0" in topics
        assert any(t.startswith("liquidation bybit") for t in topics)

        refused = await subscribe(ws, "b", model="liquidation", exchange="bitget", symbol=PERP)
        assert refused["op"] == "error" and "binance, bybit, okx" in refused["message"]


async def test_polled_mark_bars_arrive_closed_once_each_in_order(server: Running) -> None:
    async with await open_socket(server.ws_url) as ws:
        answer_ms = server.session.now_ms()
        answer = await subscribe(ws, "m", model="mark-candle", exchange="binance", symbol=PERP,
                                 interval="1m", poll=5)
        assert answer["op"] == "subscribed", answer
        bars = [f["data"] for f in await frames(ws, 4, keep=data, timeout=60)]
    opens = [b["open_time"] for b in bars]
    assert all(b["closed"] for b in bars)
    assert opens == sorted(opens) and len(set(opens)) == 4 and all(o % MINUTE == 0 for o in opens)
    # As on a candle stream: no page of old bars first, the bar forming at the first poll, then
    # one new bar a minute, none skipped.
    assert all(b - a == MINUTE for a, b in itertools.pairwise(opens))
    assert opens[0] >= answer_ms - answer_ms % MINUTE  # none had closed before the subscription
    direct = await server.session.afetch(MarkCandle, exchange="binance", symbol=PERP, interval="1m",
                                         start=opens[0], end=opens[-1] + MINUTE)
    assert [str(c.close) for c in direct] == [b["close"] for b in bars]


async def test_streamed_mark_bars_on_okx_and_the_long_poll(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/poll", params={"model": "mark-candle", "exchange": "okx", "symbol": PERP,
                                                 "interval": "1m", "wait": "30"})
    assert reply.status_code == 200, reply.text
    items = [i["data"] for i in reply.json()["items"] if "data" in i]
    assert items and all(i["exchange"] == "okx" and i["interval"] == "1m" for i in items)
    missing = await client.get("/v1/poll", params={"model": "index-candle", "exchange": "okx",
                                                   "symbol": PERP})
    assert missing.status_code == 400 and "interval" in missing.json()["message"]


async def test_openapi_names_the_derivative_endpoints(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/v1/funding-rate", "/v1/open-interest", "/v1/mark-candles", "/v1/index-candles"} <= set(paths)
    assert {"400", "503"} <= set(paths["/v1/funding-rate"]["get"]["responses"])
