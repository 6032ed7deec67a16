"""A recording session that sends through real forward proxies (tinyproxy on loopback, one egress
IP each) records every request whichever proxy carried it, each record naming its route, failures
included; its replay, with the proxies stopped, gives the same candles without sending anything
(it used to miss every proxied request: ReplayMissError)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tradeflood import ProxyScheme, RetryPolicy, Session
from tradeflood.models import Candle
from tradeflood.proxy import ProxyEvent
from tradeflood.recording._format import FILE_HEADER, MAGIC, VERSION
from tradeflood.recording._reader import open_directory
from tradeflood.testing import Simulator
from tradeflood.testing._tinyproxy import TinyProxy

from ..recording.records import rest_metas

MINUTE, DAY = 60_000, 86_400_000
FAST_RETRY = RetryPolicy(attempts=6, backoff=0.02, max_backoff=0.2)
CANDLES = "/api/v2/spot/market/history-candles"
pytestmark = pytest.mark.integration


def _range(pages: int) -> tuple[int, int]:
    """A 1m range beyond Bitget's 30-day look-back: ``pages`` history pages of 200 candles."""
    start = (int(time.time() * 1000) // DAY - 60) * DAY
    return start, start + pages * 200 * MINUTE


def _fetch(s: Session, pages: int) -> list[Candle]:
    start, end = _range(pages)
    candles = s.fetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m", start=start, end=end)
    assert candles.gaps == []
    assert [c.open_time for c in candles] == list(range(start, end, MINUTE))
    return list(candles)


def _answered(metas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of replies; the others are tries that failed on the way. Through a live proxy the
    only ones are those on a connection the proxy had closed while idle, resent at once: check it."""
    failed = [m for m in metas if "failed" in m]
    assert all(m["failed"]["error"][0] == "RemoteProtocolError" for m in failed)
    assert len(failed) == sum(bool(m.get("resent")) for m in metas)
    return [m for m in metas if "failed" not in m]


def _replay(directory: Path, sim: Simulator, pages: int, proxies: ProxyScheme | None) -> list[Candle]:
    urls = {"bitget": {"rest": sim.url("bitget")}}
    with Session(replay=directory, speed="max", urls=urls, retry=FAST_RETRY, proxies=proxies) as s:
        candles = _fetch(s, pages)
        assert s.proxies is None  # a replay leaves the scheme aside
    return candles


def test_every_request_through_two_proxies_is_recorded_and_replays_without_them(
        tmp_path: Path, sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    p1, p2 = tinyproxies(2)
    scheme = ProxyScheme(pools={"*": [p1.url, p2.url]})
    with Session(urls={"bitget": {"rest": sim.url("bitget")}}, proxies=scheme, store=False,
                 retry=FAST_RETRY, record=tmp_path) as s:
        live = _fetch(s, 30)
        assert s.stats.requests == 31 and s.stats.retries == 0  # the symbol list and 30 pages
    venue = sim.venues["bitget"].stats
    assert venue.requests == venue.served == 31
    assert set(venue.by_ip) == {"127.0.0.2", "127.0.0.3"} and min(venue.by_ip.values()) >= 5

    metas = _answered(rest_metas(tmp_path))
    assert len(metas) == venue.requests == 31  # every request the venue saw is in the recording
    routes = Counter(m.get("route") for m in metas)
    assert routes == {p1.url: venue.by_ip["127.0.0.2"], p2.url: venue.by_ip["127.0.0.3"]}
    assert all(m["status"] == 200 and m["venue"] == "bitget" for m in metas)
    assert sum(m["path"].startswith(CANDLES) for m in metas) == 30
    for f in open_directory(tmp_path, "rest"):  # the route is a field: the format did not change
        head = Path(f.path).read_bytes()[:FILE_HEADER.size]
        assert FILE_HEADER.unpack(head)[:2] == (MAGIC, VERSION) == (MAGIC, 4)

    for proxy in (p1, p2):
        proxy.stop()
    events: list[ProxyEvent] = []
    stopped = ProxyScheme(pools={"*": [p1.url, p2.url]}, on_event=events.append)
    assert _replay(tmp_path, sim, 30, stopped) == live  # the scheme passed in is left aside...
    assert _replay(tmp_path, sim, 30, None) == live  # ...and a replay without one is the same
    assert venue.requests == 31  # neither replay sent anything
    assert events == [] and all(st.requests == 0 for st in stopped.stats())  # no proxy was probed


def test_refusals_through_a_banned_proxy_are_recorded_with_their_route_and_replayed(
        tmp_path: Path, sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    """The venue refuses one proxy's IP (429): those tries are recorded too, under that proxy's
    route; the replay fails them the same way and retries to the replies the other proxy got."""
    p1, p2 = tinyproxies(2)
    sim.venues["bitget"].ban("127.0.0.3", 600)
    scheme = ProxyScheme(pools={"*": [p1.url, p2.url]})
    with Session(urls={"bitget": {"rest": sim.url("bitget")}}, proxies=scheme, store=False,
                 retry=FAST_RETRY, record=tmp_path) as s:
        live = _fetch(s, 20)
    venue = sim.venues["bitget"].stats
    refused = venue.by_ip["127.0.0.3"]
    assert venue.rejected_429 == refused >= 2 and venue.served == venue.by_ip["127.0.0.2"] == 21

    metas = _answered(rest_metas(tmp_path))
    assert len(metas) == venue.requests == refused + 21
    by_route = Counter((m["route"], m["status"]) for m in metas)
    assert by_route == {(p2.url, 429): refused, (p1.url, 200): 21}

    for proxy in (p1, p2):
        proxy.stop()
    urls = {"bitget": {"rest": sim.url("bitget")}}
    with Session(replay=tmp_path, speed="max", urls=urls, retry=FAST_RETRY,
                 proxies=ProxyScheme(pools={"*": [p1.url, p2.url]})) as s:
        again = _fetch(s, 20)
        replayed = s.stats
    assert again == live
    # Each request once, plus retries that are all refusals the recording holds. A replay behind
    # the live pace (its one set of windows, in place of one per proxy, slowed by the refusals)
    # may skip a refused try that a later reply supersedes (see tradeflood.recording._replay).
    assert replayed.failures == 0 and replayed.requests - replayed.retries == 21
    assert replayed.rate_limited == replayed.retries <= refused  # a resent failure is not replayed
    assert venue.requests == refused + 21


def test_failures_of_a_proxy_killed_mid_recording_are_recorded_and_replayed(
        tmp_path: Path, sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    """A proxy dies mid-backfill: the tries it failed are recorded as ``failed`` under its route
    (they never reached the venue, or never came back), and the replay gives the same candles."""
    proxies = tinyproxies(3)
    victim = proxies[1]

    def progress(done: int, total: int) -> None:
        if done == 8:
            victim.kill()

    scheme = ProxyScheme(pools={"*": [p.url for p in proxies]})
    with Session(urls={"bitget": {"rest": sim.url("bitget")}}, proxies=scheme, store=False,
                 retry=FAST_RETRY, record=tmp_path, progress=progress) as s:
        live = _fetch(s, 60)
        assert s.stats.failures == 0
    victim_failures = {st.proxy: sum(st.failures.values()) for st in scheme.stats()}[victim.url]
    assert victim_failures >= 1

    metas = rest_metas(tmp_path)
    failed = [m for m in metas if "failed" in m]
    answered = [m for m in metas if "failed" not in m]
    others = [m for m in metas if m["route"] != victim.url]
    assert {m["route"] for m in failed} <= {p.url for p in proxies}
    assert len([m for m in failed if m["route"] == victim.url]) >= victim_failures
    _answered(others)  # through the proxies that lived, only stale connections resent at once
    assert all(m["failed"]["error"][-1] == "RequestError" for m in failed)
    venue = sim.venues["bitget"].stats
    # each page once; a burst the venue's own windows refused (a retry, under load) is there too
    assert Counter(m["status"] for m in answered) == Counter({200: 61, 429: venue.rejected_429})
    lost = venue.requests - len(answered)  # replies the dying proxy took and never passed on
    assert 0 <= lost <= len(failed)
    assert Counter(m["route"] for m in answered) == Counter(
        {p.url: venue.by_ip[f"127.0.0.{2 + i}"] for i, p in enumerate(proxies)}) - Counter({victim.url: lost})

    for proxy in proxies:
        proxy.stop()
    assert _replay(tmp_path, sim, 60, ProxyScheme(pools={"*": [p.url for p in proxies]})) == live


def test_a_pool_of_direct_and_a_proxy_records_both_routes(
        tmp_path: Path, sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    """``direct`` goes through the session's own recording transport (its records name no route),
    the proxy through its tap (named); the replay of both, with the proxy stopped, is the same."""
    (proxy,) = tinyproxies(1)
    scheme = ProxyScheme(pools={"*": ["direct", proxy.url]}, strategy="round_robin")
    with Session(urls={"bitget": {"rest": sim.url("bitget")}}, proxies=scheme, store=False,
                 retry=FAST_RETRY, record=tmp_path) as s:
        live = _fetch(s, 12)
    venue = sim.venues["bitget"].stats
    assert venue.requests == 13 and set(venue.by_ip) == {"127.0.0.1", "127.0.0.2"}
    routes = Counter(m.get("route") for m in _answered(rest_metas(tmp_path)))
    assert routes == {None: venue.by_ip["127.0.0.1"], proxy.url: venue.by_ip["127.0.0.2"]}
    assert min(routes.values()) >= 6  # round robin: each carried half

    proxy.stop()
    assert _replay(tmp_path, sim, 12, ProxyScheme(pools={"*": ["direct", proxy.url]})) == live
    assert venue.requests == 13
