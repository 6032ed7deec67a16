"""Diagnosis: a dead proxy, a proxy one venue blocks, a venue that is down and a slow proxy are
told apart, each as a typed event with its evidence; quarantines back off with jitter."""

from __future__ import annotations

import random

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeflood.proxy import (
    Backoff,
    ProxyBlocked,
    ProxyDown,
    ProxyEvent,
    ProxyScheme,
    ProxySlow,
    ProxyUnblocked,
    ProxyUp,
    VenueDown,
    VenueUp,
)
from tradeflood.proxy._diagnosis import failure_kind, reply_kind
from tradeflood.proxy._stream import stream_failure_kind

P1, P2, P3 = (f"http://127.0.0.1:{3001 + i}" for i in range(3))


def _scheme() -> tuple[ProxyScheme, list[ProxyEvent]]:
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"*": [P1, P2, P3]}, on_event=events.append, seed=7,
                         backoff=Backoff(base=1.0, cap=60.0))
    return scheme, events


def test_one_connect_failure_is_a_dead_proxy_quarantined_with_jittered_backoff() -> None:
    scheme, events = _scheme()
    d, (a, b, _) = scheme.diagnosis, scheme.pools["*"].egresses
    d.failure(a, "bitget", "connect", "ConnectError('[Errno 111] Connection refused')", 100.0)
    [down] = events
    assert isinstance(down, ProxyDown) and down.proxy == P1 and down.venue is None
    assert down.evidence == ("connect: ConnectError('[Errno 111] Connection refused') (bitget)",)
    assert 0.5 <= down.retry_in <= 1.0 and a.health.retry_at == 100.0 + down.retry_in
    assert not a.health.usable_for("bitget", 100.0) and b.health.usable_for("bitget", 100.0)
    d.probed(a, "probe: ConnectionRefusedError()", 102.0)  # still dead: longer quarantine, no new event
    assert len(events) == 1 and 102.0 + 1.0 <= a.health.retry_at <= 102.0 + 2.0
    d.probed(a, None, 105.0)
    assert isinstance(events[-1], ProxyUp) and events[-1].proxy == P1 and a.health.usable_for("bitget", 105.0)
    assert a.counters.failures == {"connect": 1}


def test_dropped_connections_quarantine_only_after_max_failures_in_a_row() -> None:
    scheme, events = _scheme()
    d, (a, b, _) = scheme.diagnosis, scheme.pools["*"].egresses
    d.failure(a, "bitget", "dropped", "ReadError()", 1.0)
    d.failure(a, "bitget", "timeout", "ReadTimeout()", 1.1)
    d.success(b, "bitget", 0.01, 1.15)  # the venue answers others: not down
    d.success(a, "binance", 0.01, 1.2)  # a success resets the count
    d.failure(a, "bitget", "dropped", "ReadError()", 1.3)
    d.failure(a, "bitget", "dropped", "ReadError()", 1.4)
    assert events == []
    d.failure(a, "bitget", "dropped", "RemoteProtocolError()", 1.5)
    assert [type(e) for e in events] == [ProxyDown] and events[0].proxy == P1
    assert events[0].evidence[-1] == "dropped: RemoteProtocolError() (bitget)"


def test_a_few_429s_while_the_rate_can_still_back_off_never_block_a_proxy() -> None:
    scheme, events = _scheme()
    d, (a, _, _) = scheme.diagnosis, scheme.pools["*"].egresses
    for i in range(10):
        d.failure(a, "bitget", "limited", "HTTP 429", 10.0 + i, status=429, retry_after=1.0, at_floor=False)
    assert events == [] and a.health.usable_for("bitget", 20.0) and a.health.blocked_by(20.0) == ()
    assert a.counters.failures == {"limited": 10}


def test_a_venue_blocking_one_proxy_is_told_apart_and_routed_around_for_that_venue_only() -> None:
    scheme, events = _scheme()
    d, (a, b, _) = scheme.diagnosis, scheme.pools["*"].egresses
    # 429s that persist after the rate through ``a`` has backed off to its floor: a ban
    d.failure(a, "bitget", "limited", "HTTP 429", 10.0, status=429, at_floor=True)
    assert events == [] and a.health.usable_for("bitget", 10.0)  # one 429 may be bad luck
    d.failure(a, "bitget", "limited", "HTTP 429", 10.1, status=429, retry_after=30.0, at_floor=True)
    [blocked] = events
    assert isinstance(blocked, ProxyBlocked)
    assert (blocked.proxy, blocked.venue, blocked.status) == (P1, "bitget", 429)
    assert blocked.retry_in == 30.0  # the venue's Retry-After is honoured
    assert not a.health.usable_for("bitget", 20.0) and a.health.usable_for("binance", 20.0)
    assert a.health.usable_for("bitget", 40.2) and not a.health.down  # the proxy itself is fine
    d.failure(b, "binance", "blocked", "HTTP 418", 11.0, status=418)  # a ban: at once
    assert isinstance(events[-1], ProxyBlocked) and events[-1].proxy == P2 and events[-1].status == 418
    d.success(a, "bitget", 0.01, 41.0)
    assert isinstance(events[-1], ProxyUnblocked) and events[-1].venue == "bitget"


def test_a_venue_failing_through_every_proxy_is_venue_down_not_proxies_down() -> None:
    scheme, events = _scheme()
    d, egresses = scheme.diagnosis, scheme.pools["*"].egresses
    for i, e in enumerate(egresses):
        d.failure(e, "bitget", "venue", "HTTP 503", 5.0 + i, status=503)
        if i < 2:
            assert events == []
    [down] = events
    assert isinstance(down, VenueDown) and down.venue == "bitget" and down.proxies == (P1, P2, P3)
    assert len(down.evidence) == 3 and all("HTTP 503" in ev for ev in down.evidence)
    assert not any(e.health.down for e in egresses)
    d.failure(egresses[0], "bitget", "venue", "HTTP 502", 9.0, status=502)
    assert len(events) == 1  # said once
    d.success(egresses[1], "bitget", 0.02, 20.0)
    assert isinstance(events[-1], VenueUp) and events[-1].venue == "bitget" and events[-1].proxy == P2


def test_a_latency_outlier_is_a_slow_proxy() -> None:
    scheme, events = _scheme()
    d, (a, b, c) = scheme.diagnosis, scheme.pools["*"].egresses
    for i in range(40):
        d.success(b, "bitget", 0.010, float(i))
        d.success(c, "bitget", 0.012, float(i))
        d.success(a, "bitget", 0.200, float(i))
    slow = [e for e in events if isinstance(e, ProxySlow)]
    assert len(slow) == 1 and slow[0].proxy == P1
    assert slow[0].p50 == pytest.approx(0.2) and slow[0].others_p50 == pytest.approx(0.010)
    assert a.health.state(0.0) == "slow" and b.health.state(0.0) == "up"


@given(n=st.integers(0, 30), base=st.floats(0.01, 10), cap=st.floats(0.1, 600), seed=st.integers(0, 99))
def test_backoff_is_jittered_exponential_within_its_cap(n: int, base: float, cap: float, seed: int) -> None:
    delay = Backoff(base, cap).delay(n, random.Random(seed))
    full = min(cap, base * 2**n)
    assert 0.5 * full <= delay <= full


def test_failures_are_classified_by_where_they_happened() -> None:
    assert failure_kind(httpx.ConnectError("refused"), direct=False) == "connect"
    assert failure_kind(httpx.ConnectError("refused"), direct=True) == "venue"
    assert failure_kind(httpx.ProxyError("407 Proxy Authentication Required"), direct=False) == "auth"
    assert failure_kind(httpx.ProxyError("502 Bad Gateway"), direct=False) == "venue"
    assert failure_kind(httpx.ReadTimeout("slow"), direct=False) == "timeout"
    assert failure_kind(httpx.RemoteProtocolError("cut"), direct=False) == "dropped"
    assert [reply_kind(s) for s in (200, 400, 403, 407, 418, 429, 500, 503)] == [
        None, None, "blocked", "auth", "blocked", "limited", "venue", "venue"]
    assert stream_failure_kind(ConnectionRefusedError(), direct=False) == ("connect", None)
    assert stream_failure_kind(TimeoutError(), direct=False) == ("timeout", None)
