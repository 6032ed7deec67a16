"""Backfills through real forward proxies (tinyproxy on loopback, one egress IP each) against the
simulator, which limits and bans per client IP: deaths, bans, outages and bad start-ups."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tradeflood import FetchError, NoProxyAvailableError, ProxyScheme, RetryPolicy, Session
from tradeflood.errors import VenueUnavailableError
from tradeflood.models import Candle
from tradeflood.proxy import Backoff, ProxyBlocked, ProxyDown, ProxyEvent, ProxyUp, VenueDown
from tradeflood.testing import Simulator
from tradeflood.testing._tinyproxy import TinyProxy, free_port

MINUTE, DAY = 60_000, 86_400_000
FAST_RETRY = RetryPolicy(attempts=6, backoff=0.02, max_backoff=0.2)
pytestmark = pytest.mark.integration


def _range(pages: int) -> tuple[int, int]:
    """A 1m range beyond Bitget's 30-day look-back: ``pages`` history pages of 200 candles."""
    start = (int(time.time() * 1000) // DAY - 60) * DAY
    return start, start + pages * 200 * MINUTE


def _session(sim: Simulator, scheme: ProxyScheme, **kw: object) -> Session:
    return Session(urls={"bitget": {"rest": sim.url("bitget")}}, proxies=scheme, store=False,
                   retry=FAST_RETRY, **kw)  # type: ignore[arg-type]


def _backfill(s: Session, pages: int) -> tuple[list[int], tuple[int, int]]:
    start, end = _range(pages)
    candles = s.fetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m", start=start, end=end)
    assert candles.gaps == []
    return [c.open_time for c in candles], (start, end)


def test_requests_spread_over_the_proxies_each_seen_as_its_own_ip(
        sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    p1, p2 = tinyproxies(2)
    scheme = ProxyScheme(pools={"*": [p1.url, p2.url]})
    with _session(sim, scheme) as s:
        times, (start, end) = _backfill(s, 30)
    assert times == list(range(start, end, MINUTE))
    by_ip = sim.venues["bitget"].stats.by_ip
    assert set(by_ip) == {"127.0.0.2", "127.0.0.3"} and sum(by_ip.values()) == 31  # symbols + 30 pages
    assert min(by_ip.values()) >= 10  # least loaded: both carry a fair share
    stats = {st.proxy: st for st in scheme.stats()}
    assert stats[p1.url].requests == by_ip["127.0.0.2"] and stats[p2.url].successes == by_ip["127.0.0.3"]
    assert all(st.in_flight == 0 and st.failures == {} for st in stats.values())
    table = scheme.stats_table()
    assert p1.url in table and "p50 ms" in table


def test_a_proxy_killed_mid_backfill_loses_nothing_and_is_reported_by_name(
        sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    proxies = tinyproxies(3)
    victim = proxies[1]
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"*": [p.url for p in proxies]}, on_event=events.append)

    def progress(done: int, total: int) -> None:
        if done == 8:
            victim.kill()

    with _session(sim, scheme, progress=progress) as s:
        times, (start, end) = _backfill(s, 60)
        assert s.stats.failures == 0  # every failed attempt was retried through another proxy
    assert times == list(range(start, end, MINUTE))  # nothing lost, nothing twice
    downs = [e for e in events if isinstance(e, ProxyDown)]
    assert [e.proxy for e in downs] == [victim.url]
    assert any(ev.startswith(("connect:", "dropped:")) for ev in downs[0].evidence)
    stats = {st.proxy: st for st in scheme.stats()}
    assert stats[victim.url].state == "down" and sum(stats[victim.url].failures.values()) >= 1
    assert stats[proxies[0].url].state == stats[proxies[2].url].state == "up"


def test_an_ip_banned_by_the_venue_is_diagnosed_as_blocked_and_routed_around(
        sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    p1, p2 = tinyproxies(2)
    sim.venues["bitget"].ban("127.0.0.3", 600)
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"*": [p1.url, p2.url]}, on_event=events.append)
    with _session(sim, scheme) as s:
        times, (start, end) = _backfill(s, 20)
    assert times == list(range(start, end, MINUTE))
    [blocked] = [e for e in events if isinstance(e, ProxyBlocked)]
    assert (blocked.proxy, blocked.venue, blocked.status) == (p2.url, "bitget", 429)
    assert not any(isinstance(e, ProxyDown | VenueDown) for e in events)  # neither the proxy nor the venue
    venue = sim.venues["bitget"].stats
    refused = venue.by_ip["127.0.0.3"]
    assert venue.rejected_429 == refused >= 2  # every request from the banned IP was refused...
    assert venue.served == venue.by_ip["127.0.0.2"] == 21  # ...and everything came through the other
    stats = {st.proxy: st for st in scheme.stats()}
    # 429s are first taken as a limit to learn, then, at the floor of the rate, as a ban
    assert stats[p2.url].blocked_by == ("bitget",) and stats[p2.url].failures == {"limited": refused}
    assert stats[p2.url].state == "up"


def test_all_proxies_down_is_a_typed_error_naming_each_proxy_and_the_cause(
        sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    p1, p2 = tinyproxies(2)
    p1.kill()
    p2.kill()
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"*": [p1.url, p2.url]}, on_event=events.append)
    with _session(sim, scheme) as s, pytest.raises(FetchError) as info:
        _backfill(s, 3)
    cause = info.value.cause
    assert isinstance(cause, NoProxyAvailableError)
    assert set(cause.causes) == {p1.url, p2.url}
    assert all(why.startswith("down (unreachable at start-up (probe: ConnectionRefusedError")
               for why in cause.causes.values())
    assert sorted(e.proxy for e in events if isinstance(e, ProxyDown)) == sorted([p1.url, p2.url])
    assert sim.venues["bitget"].stats.requests == 0


def test_a_venue_that_is_down_is_diagnosed_as_venue_down_not_as_proxies_down(
        tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    p1, p2 = tinyproxies(2)
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"*": [p1.url, p2.url]}, on_event=events.append)
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: every proxy answers 500
    with Session(urls={"bitget": {"rest": nowhere}}, proxies=scheme, store=False, retry=FAST_RETRY) as s, \
            pytest.raises(FetchError) as info:
        s.fetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m", start=_range(1)[0],
                end=_range(1)[1])
    assert isinstance(info.value.cause, VenueUnavailableError) and info.value.cause.status == 500
    [down] = [e for e in events if isinstance(e, VenueDown)]
    assert down.venue == "bitget"
    assert set(down.proxies) == {p1.url, p2.url}
    assert not any(isinstance(e, ProxyDown) for e in events)
    assert all(st.state == "up" for st in scheme.stats())
    assert scheme.health()["venues_down"] == ["bitget"]


def test_an_unreachable_proxy_at_start_up_is_reported_and_the_others_carry_on(
        sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    [good] = tinyproxies(1)
    dead = f"http://127.0.0.1:{free_port()}"
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"*": [dead, good.url]}, on_event=events.append)
    with _session(sim, scheme) as s:
        times, (start, end) = _backfill(s, 5)
    assert times == list(range(start, end, MINUTE))
    [down] = [e for e in events if isinstance(e, ProxyDown)]
    assert down.proxy == dead and "unreachable at start-up" in down.evidence[-1]
    assert set(sim.venues["bitget"].stats.by_ip) == {"127.0.0.2"}
    assert {st.proxy: st.requests for st in scheme.stats()} == {dead: 0, good.url: 6}


def test_wrong_proxy_credentials_are_a_dead_proxy_with_auth_evidence(
        sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    [locked] = tinyproxies(1, user="tf", password="right")
    [good] = tinyproxies(1)
    wrong = locked.url.replace(":right@", ":wrong@")
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"*": [wrong, good.url]}, on_event=events.append, strategy="round_robin")
    with _session(sim, scheme) as s:
        times, (start, end) = _backfill(s, 4)
        assert s.stats.failures == 0
    assert times == list(range(start, end, MINUTE))
    [down] = [e for e in events if isinstance(e, ProxyDown)]
    assert down.proxy == f"http://127.0.0.1:{locked.port}"  # shown without its credentials
    assert down.evidence[-1].startswith("auth: HTTP 401")
    assert "right" not in str(down) and "wrong" not in str(down)


def test_a_quarantined_proxy_is_probed_back_into_service(
        sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    [other] = tinyproxies(1)
    port = free_port()
    events: list[ProxyEvent] = []
    late = f"http://127.0.0.1:{port}"
    scheme = ProxyScheme(pools={"*": [late, other.url]}, on_event=events.append,
                         backoff=Backoff(base=0.2, cap=0.5))
    with _session(sim, scheme) as s:
        _backfill(s, 2)  # starts the scheme: the late proxy is not there yet
        assert [type(e) for e in events] == [ProxyDown]
        [revived] = tinyproxies(1, port=port)
        for _ in range(200):  # the monitor probes it once its backoff has passed
            if any(isinstance(e, ProxyUp) for e in events):
                break
            time.sleep(0.05)
        assert [type(e) for e in events] == [ProxyDown, ProxyUp] and events[1].proxy == revived.url
        sim.venues["bitget"].stats.reset()
        times, (start, end) = _backfill(s, 6)
    assert times == list(range(start, end, MINUTE))
    assert set(sim.venues["bitget"].stats.by_ip) == {"127.0.0.2", "127.0.0.3"}  # both carry again
