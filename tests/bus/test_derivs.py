"""The derivatives kinds on the bus: funding rates, open interest, mark and index bars and liquidations
published by a real gatherer process (a minute a second), streamed where the venue streams them and
polled where it does not, read back by a Session(bus=...) with their values."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

import tradeflood
from tradeflood.bus import AgentConfig
from tradeflood.bus._config import parse_config
from tradeflood.bus._keys import Topic
from tradeflood.clock import ScaledClock
from tradeflood.errors import QueryError
from tradeflood.models import FundingRate, IndexCandle, Liquidation, MarkCandle, OpenInterest
from tradeflood.testing import BinanceVenue, BybitVenue, OkxVenue, Simulator
from tradeflood.testing._derived import LIQUIDATION_SPACING_MS, liquidation
from tradeflood.testing._funding_market import FUNDING_STEP_MS

from .conftest import REDIS_URL, Procs, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PERP = "BTC/USDT:USDT"
SUBS = [
    {"exchange": "binance", "action": "funding-rate", "symbol": PERP},            # streamed (markPrice)
    {"exchange": "okx", "action": "open-interest", "symbol": PERP, "poll": 5},    # polled, its own period
    {"exchange": "binance", "action": "mark-ohlcv-1m", "symbol": PERP},           # polled bars
    {"exchange": "okx", "action": "index-ohlcv-1m", "symbol": PERP},              # streamed bars
    {"exchange": "bybit", "action": "liquidations", "symbol": PERP},              # streamed
]


def _items(rds: Any, key: str) -> list[dict[str, Any]]:
    return [orjson.loads(f["data"]) for _, f in rds.xrange(key) if f["type"] == "item"]


async def test_configuration_declares_the_derivative_actions() -> None:
    config = await parse_config(json.dumps({"tenant": "t1", "subscriptions": SUBS,
                                            "retention": {"liquidations": 500, "mark-ohlcv-1m": "1h"}}))
    assert isinstance(config, AgentConfig)
    polls = {s.topic.action: s.poll for s in config.subscriptions}
    assert polls == {"funding-rate": None, "open-interest": 5.0, "mark-ohlcv-1m": 10.0,
                     "index-ohlcv-1m": None, "liquidations": None}
    topics = {s.topic.action: s.topic for s in config.subscriptions}
    assert topics["mark-ohlcv-1m"].model is MarkCandle and topics["mark-ohlcv-1m"].interval == "1m"
    assert topics["index-ohlcv-1m"].model is IndexCandle and topics["liquidations"].model is Liquidation
    assert str(topics["funding-rate"]) == "stream.t1.binance.funding-rate.BTC/USDT:USDT"
    assert config.trim(topics["liquidations"]).count == 500
    assert config.trim(topics["mark-ohlcv-1m"]).age_ms == 3_600_000
    assert config.trim(Topic("t1", "okx", "index-ohlcv-5m", PERP)).count == 100_000
    with pytest.raises(QueryError, match="bitget has no Liquidation streams; venues that do: binance, bybit"):
        await parse_config(json.dumps({"subscriptions": [
            {"exchange": "bitget", "action": "liquidations", "symbol": PERP}]}))
    with pytest.raises(QueryError, match="perpetual"):
        await parse_config(json.dumps({"subscriptions": [
            {"exchange": "okx", "action": "funding-rate", "symbol": "BTC/USDT"}]}))


def test_a_gatherer_publishes_every_derivative_kind_with_its_values(rds: Any, tmp_path: Path) -> None:
    origin = time.time()
    clock = ScaledClock(60, start=origin)  # a minute a second, shared with the gatherer process
    venues = {"binance": BinanceVenue(clock=clock), "okx": OkxVenue(clock=clock),
              "bybit": BybitVenue(clock=clock)}
    with Simulator(venues) as sim:
        procs = Procs(sim, tmp_path)
        try:
            rds.set("stream.config.g", json.dumps({"tenant": "t1", "subscriptions": SUBS}))
            procs.gatherer("g", "--speed", "60", "--origin", repr(origin))
            keys = {s["action"]: f"stream.t1.{s['exchange']}.{s['action']}.{PERP}" for s in SUBS}
            wait_for(lambda: len(_items(rds, keys["mark-ohlcv-1m"])) >= 4
                     and len(_items(rds, keys["index-ohlcv-1m"])) >= 3
                     and len(_items(rds, keys["liquidations"])) >= 5
                     and _items(rds, keys["funding-rate"]) and _items(rds, keys["open-interest"]),
                     timeout=60, what="every derivative topic published")
            asyncio.run(_read_back(keys))
        finally:
            procs.kill_all()

        funding = [FundingRate.model_validate(d) for d in _items(rds, keys["funding-rate"])]
        assert all(f.exchange == "binance" and f.funding_time % FUNDING_STEP_MS == 0 for f in funding)
        assert all(f.mark_price is not None and f.mark_price > 0 for f in funding)
        entry = rds.xrange(keys["funding-rate"])[-1][1]
        assert int(entry["venue_ts"]) == funding[-1].timestamp  # the venue's statement time
        snapshot = rds.hgetall(f"stream.snapshot.{keys['funding-rate'][7:]}")
        assert FundingRate.model_validate(orjson.loads(snapshot["data"])) == funding[-1]

        oi = [OpenInterest.model_validate(d) for d in _items(rds, keys["open-interest"])]
        assert all(o.exchange == "okx" and o.size > 0 and o.value is not None and o.value > 0 for o in oi)

        for action, model in (("mark-ohlcv-1m", MarkCandle), ("index-ohlcv-1m", IndexCandle)):
            bars = [model.model_validate({k: v for k, v in d.items() if k != "close_time"})
                    for d in _items(rds, keys[action])]
            opens = [b.open_time for b in bars]
            assert all(b.closed and b.interval == "1m" for b in bars), action
            assert opens == sorted(set(opens)) and all(t % 60_000 == 0 for t in opens), action
            # Polled (Binance marks) or streamed (OKX index): every bar once, none skipped, even when
            # the simulator's feed is paced past a whole bar on a loaded machine (a minute is a second).
            assert all(b - a == 60_000 for a, b in itertools.pairwise(opens)), (action, opens)

        market = sim.venues["bybit"].market
        inst = market.find("BTCUSDT", "perp")
        assert inst is not None
        liqs = [Liquidation.model_validate(d) for d in _items(rds, keys["liquidations"])]
        times = [x.timestamp for x in liqs]
        assert times == sorted(times) and len(set(times)) == len(times)
        for x in liqs:
            want = liquidation(market, inst, (x.timestamp - inst.listed_ms) // LIQUIDATION_SPACING_MS)
            assert (x.timestamp, x.price, x.amount, x.side) == (want.ts_ms, want.price, want.size, want.side)


async def _read_back(keys: dict[str, str]) -> None:
    """A bus session reads the same models (a kind the venue does not stream included)."""
    async with tradeflood.Session(bus=REDIS_URL, tenant="t1") as s:
        async with s.stream(FundingRate, exchange="binance", symbol=PERP) as st:
            rate = await asyncio.wait_for(st.get(), 20)
        assert isinstance(rate, FundingRate) and rate.exchange == "binance"
        assert rate.funding_time % FUNDING_STEP_MS == 0
        assert rate.mark_price is not None and rate.mark_price > 0
        async with s.stream(MarkCandle, exchange="binance", symbol=PERP, interval="1m") as st:
            bars = [await asyncio.wait_for(st.get(), 20) for _ in range(2)]
        assert all(isinstance(b, MarkCandle) and b.closed for b in bars)
        assert bars[1].open_time - bars[0].open_time == 60_000
        async with s.stream(Liquidation, exchange="bybit", symbol=PERP) as st:
            liq = await asyncio.wait_for(st.get(), 20)
        assert isinstance(liq, Liquidation) and liq.side in ("buy", "sell")


def test_a_takeover_backfills_the_index_bars_nobody_published(rds: Any, tmp_path: Path) -> None:
    origin = time.time()
    clock = ScaledClock(60, start=origin)
    key = f"stream.t1.okx.index-ohlcv-1m.{PERP}"
    with Simulator({"okx": OkxVenue(clock=clock)}) as sim:
        procs = Procs(sim, tmp_path)
        try:
            rds.set("stream.config.g", json.dumps({"tenant": "t1", "subscriptions": [
                {"exchange": "okx", "action": "index-ohlcv-1m", "symbol": PERP}]}))
            first = procs.gatherer("g", "--speed", "60", "--origin", repr(origin), "--lease-ms", "1000")
            wait_for(lambda: len(_items(rds, key)) >= 2, timeout=40, what="closed index bars published")
            first.kill()
            first.wait(10)
            before = [d["open_time"] for d in _items(rds, key)]
            down = clock.time()
            wait_for(lambda: clock.time() > down + 300, what="five (scaled) minutes with nobody publishing")
            procs.gatherer("g", "--speed", "60", "--origin", repr(origin))
            wait_for(lambda: len(_items(rds, key)) >= len(before) + 7, timeout=40,
                     what="the backfill and live bars published")
        finally:
            procs.kill_all()
        rest = sim.venues["okx"].stats.by_path["/api/v5/market/index-candles"]
    opens = [d["open_time"] for d in _items(rds, key)]
    assert opens == sorted(set(opens)) and opens[: len(before)] == before  # nothing repeated
    after = opens[len(before):]
    # The bars that closed while nobody published come first, from REST, with no hole at the takeover.
    assert after[0] == before[-1] + 60_000 and all(b - a == 60_000 for a, b in itertools.pairwise(after[:5]))
    assert rest >= 1
    bars = [IndexCandle.model_validate(d) for d in _items(rds, key)]
    assert all(b.closed and b.exchange == "okx" and b.close > 0 for b in bars)
