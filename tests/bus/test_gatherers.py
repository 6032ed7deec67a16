"""Gatherer processes sharing one agent's topics: one upstream subscription per topic, failover
after SIGKILL within 5 s with the hole marked, runtime configuration, refused configurations."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from typing import Any

import orjson
import pytest

from tradeflood.testing import Simulator

from .conftest import Procs, logs, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")


def config(*subs: tuple[str, str], tenant: str = "t1") -> str:
    return json.dumps({"tenant": tenant, "subscriptions": [
        {"exchange": "bitget", "action": action, "symbol": symbol} for action, symbol in subs]})


def upstream(sim: Simulator) -> dict[str, int]:
    return dict(sim.streams["bitget"].stats.subscriptions)


def native(action: str, symbol: str) -> str:
    channel = {"trades": "trade", "ticker": "ticker"}[action]
    return f"SPOT:{channel}:{symbol.replace('/', '')}"


def owners(rds: Any) -> Counter[str]:
    held = [rds.get(k) for k in rds.keys("stream.lease.*")]
    return Counter(v.partition(":")[2] for v in held if v is not None)  # one may be handed over meanwhile


def items(rds: Any, key: str) -> list[tuple[str, dict[str, str]]]:
    return rds.xrange(key)


def pid_of(member: str) -> int:
    return int(member.split(":")[1])


def test_two_gatherers_share_topics_once_and_fail_over_within_5s(rds: Any, sim: Simulator,
                                                                 procs: Procs) -> None:
    subs = [("trades", "BTC/USDT"), ("trades", "ETH/USDT"), ("ticker", "BTC/USDT"), ("ticker", "SOL/USDT")]
    rds.set("stream.config.g", config(*subs))
    gatherers = [procs.gatherer("g"), procs.gatherer("g")]
    expected = {native(a, s): 1 for a, s in subs}
    wait_for(lambda: upstream(sim) == expected and sorted(owners(rds).values()) == [2, 2],
             what="each topic subscribed once, two topics per gatherer")
    key = "stream.t1.bitget.trades.BTC/USDT"
    wait_for(lambda: rds.xlen(key) >= 2, what="trades published")
    time.sleep(1.0)  # steady state: still exactly once
    assert upstream(sim) == expected

    holder = rds.get("stream.lease.t1.bitget.trades.BTC/USDT")
    old_token, _, member = holder.partition(":")
    victim = next(p for p in gatherers if p.pid == pid_of(member))
    last_before = rds.xrevrange(key, count=1)[0][0]
    victim.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()

    def resumed() -> Any:
        fresh = rds.xrange(key, min=f"({last_before}")
        return fresh if any(f["token"] != old_token for _, f in fresh) else None

    fresh = wait_for(resumed, timeout=10, what="publishing resumed by the other gatherer")
    took = time.monotonic() - killed_at
    assert took < 5.0, f"failover took {took:.2f} s"
    first_id, first = next((i, f) for i, f in fresh if f["token"] != old_token)
    assert int(first["token"]) > int(old_token)
    assert first["type"] == "event" and first["note"].startswith("takeover by ")
    gap = orjson.loads(first["data"])
    assert gap["event"] == "TradeGap" and gap["start_ms"] <= gap["end_ms"]
    wait_for(lambda: len(rds.xrange(key, min=f"({first_id}")) >= 2, what="trades after the takeover")
    ids = [orjson.loads(f["data"])["id"] for _, f in rds.xrange(key) if f["type"] == "item"]
    assert len(ids) == len(set(ids)), "a trade id was published twice"
    assert ids == sorted(ids, key=int)
    wait_for(lambda: upstream(sim) == expected and list(owners(rds).values()) == [4],
             what="the survivor owning every topic, each subscribed once")


def test_three_gatherers_and_a_joining_one_take_fair_shares(rds: Any, sim: Simulator, procs: Procs) -> None:
    subs = [(a, s) for a in ("trades", "ticker") for s in SYMBOLS]
    rds.set("stream.config.g", config(*subs))
    procs.gatherer("g")
    expected = {native(a, s): 1 for a, s in subs}
    wait_for(lambda: upstream(sim) == expected and list(owners(rds).values()) == [6], what="one owner")
    procs.gatherer("g")
    procs.gatherer("g")
    wait_for(lambda: sorted(owners(rds).values()) == [2, 2, 2] and upstream(sim) == expected,
             what="three fair shares, each topic subscribed once")
    status = rds.hgetall("stream.status.g")
    members = [orjson.loads(v) for k, v in status.items() if k.startswith("member.")]
    assert sorted(len(m["topics"]) for m in members) == [2, 2, 2]


def test_configuration_changes_reach_the_venue_within_2s_and_bad_ones_are_refused(
        rds: Any, sim: Simulator, procs: Procs) -> None:
    rds.set("stream.config.g", config(("trades", "BTC/USDT")))
    gatherer = procs.gatherer("g")
    wait_for(lambda: upstream(sim) == {native("trades", "BTC/USDT"): 1}, what="the first topic")
    rds.set("stream.config.g", config(("trades", "BTC/USDT"), ("ticker", "ETH/USDT")))
    changed = time.monotonic()
    wait_for(lambda: native("ticker", "ETH/USDT") in upstream(sim), timeout=10, what="the new topic upstream")
    assert time.monotonic() - changed < 2.0
    rds.set("stream.config.g", config(("ticker", "ETH/USDT")))
    changed = time.monotonic()
    wait_for(lambda: upstream(sim) == {native("ticker", "ETH/USDT"): 1}, timeout=10, what="the topic removed")
    assert time.monotonic() - changed < 2.0

    key = "stream.t1.bitget.ticker.ETH/USDT"
    unknown_venue = '{"subscriptions": [{"exchange": "krakken", "action": "trades", "symbol": "BTC/USDT"}]}'
    for bad, error in (("{not json", "not valid JSON"),
                       (config(("trades", "DOGE/USDT")), "UnknownSymbolError"),
                       (unknown_venue, "UnknownExchangeError")):
        rds.set("stream.config.g", bad)

        def refused(error: str = error) -> Any:
            s = rds.hgetall("stream.status.g")
            return s.get("config") == "refused" and error in s["config_error"] and s

        status = wait_for(refused, what=f"the refusal ({error})")
        assert error in status["config_error"]
        before = rds.xlen(key)
        wait_for(lambda before=before: rds.xlen(key) > before,
                 what="publishing going on under the previous configuration")
        assert upstream(sim) == {native("ticker", "ETH/USDT"): 1}
        rds.hset("stream.status.g", "config", "reset-by-test")
    assert "refused" in logs(gatherer)


def test_an_egress_ip_carries_the_websockets_as_well_as_rest(rds: Any, sim: Simulator, procs: Procs) -> None:
    rds.set("stream.config.g", config(("trades", "BTC/USDT")))
    procs.gatherer("g", "--egress-ip", "127.0.0.2")
    wait_for(lambda: rds.xlen("stream.t1.bitget.trades.BTC/USDT") >= 1, what="trades published")
    assert dict(sim.streams["bitget"].stats.accepted_by_ip) == {"127.0.0.2": 1}
    assert set(sim.venues["bitget"].stats.by_ip) == {"127.0.0.2"}  # the instrument list, over REST


def test_a_takeover_backfills_the_candles_nobody_published_before_the_live_ones(rds: Any,
                                                                                  tmp_path: Any) -> None:
    import itertools

    from tradeflood.clock import ScaledClock
    from tradeflood.models import Candle
    from tradeflood.testing import BinanceVenue, BitgetVenue

    from .conftest import Procs

    origin = time.time()
    clock = ScaledClock(60, start=origin)  # a minute a second, shared with the gatherer processes
    key = "stream.t1.bitget.ohlcv-1m.BTC/USDT"

    def entries() -> list[dict[str, str]]:
        return [f for _, f in rds.xrange(key)]

    with Simulator({"bitget": BitgetVenue(clock=clock), "binance": BinanceVenue(clock=clock)}) as sim:
        procs = Procs(sim, tmp_path)
        try:
            rds.set("stream.config.g", config(("ohlcv-1m", "BTC/USDT")))
            first = procs.gatherer("g", "--speed", "60", "--origin", repr(origin), "--lease-ms", "1000")
            wait_for(lambda: sum(f["type"] == "item" for f in entries()) >= 2, timeout=40,
                     what="closed candles published")
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            down = clock.time()
            before = len(entries())
            wait_for(lambda: clock.time() > down + 300, what="five (scaled) minutes with nobody publishing")
            procs.gatherer("g", "--speed", "60", "--origin", repr(origin))
            wait_for(lambda: sum(f["type"] == "item" for f in entries()[before:]) >= 7, timeout=40,
                     what="the backfill and live candles published")
        finally:
            procs.kill_all()
    published = [Candle.model_validate(orjson.loads(f["data"])) for f in entries() if f["type"] == "item"]
    opens = [c.open_time for c in published]
    assert all(b - a == 60_000 for a, b in itertools.pairwise(opens)), opens  # in order, no hole, no repeat
    assert not [f for f in entries() if f["type"] == "event" and "CandleGap" in f["data"]]
    assert any("candles" in path for path in sim.venues["bitget"].stats.by_path)  # fetched over REST
