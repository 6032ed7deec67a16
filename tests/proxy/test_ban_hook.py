"""A connector reads a ban from a reply (``Connector.ban``): Binance's 418 "banned until", Bybit's
403 "access too frequent", and a plugin venue's own wording on a 429. The proxy diagnosis then
blocks that proxy for that venue at once and for the ban's length, and the request goes out
through another proxy (instead of failing); the core names no venue."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest

from connectors.binance import Binance
from connectors.bybit import BAN_SECONDS, Bybit
from tradeflood import Ban, Connector, Limit, Reply, RetryPolicy, Session, Turn
from tradeflood.models import Candle
from tradeflood.proxy import ProxyBlocked, ProxyDown, ProxyEvent, ProxyScheme
from tradeflood.testing import Simulator
from tradeflood.testing._tinyproxy import TinyProxy

P1, P2 = "http://127.0.0.1:3101", "http://127.0.0.1:3102"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
MINUTE, DAY = 60_000, 86_400_000


def _turn(api: Connector) -> Turn:
    return Turn(api.name, "x", "GET", "/x", {})


def test_binance_reads_the_ban_end_from_the_418_body_or_else_from_retry_after() -> None:
    api = Binance()
    until_ms = int((NOW + 120) * 1000)
    msg = f"Way too much request weight used; IP banned until {until_ms}. Please use WebSocket Streams."
    body = orjson.dumps({"code": -1003, "msg": msg})
    ban = api.ban(_turn(api), Reply(418, {"retry-after": "90"}, body), NOW)
    assert ban is not None and ban.seconds == pytest.approx(120.0)  # the body's time wins
    ban = api.ban(_turn(api), Reply(418, {"retry-after": "90"}, b'{"code":-1003,"msg":"banned"}'), NOW)
    assert ban is not None and ban.seconds == 90.0
    # a 429 that names a ban is one too; a plain 429 is a rate limit, not a ban
    assert api.ban(_turn(api), Reply(429, {}, body), NOW) is not None
    plain = orjson.dumps({"code": -1003, "msg": "Too many requests; current limit of IP is 6000 per minute."})
    assert api.ban(_turn(api), Reply(429, {"retry-after": "30"}, plain), NOW) is None


def test_bybit_reads_its_403_wording_as_a_ten_minute_ban_and_no_other_403() -> None:
    api = Bybit()
    ban = api.ban(_turn(api), Reply(403, {}, b"403 Forbidden: access too frequent"), NOW)
    assert ban == Ban(ban.reason if ban else "", BAN_SECONDS)
    assert api.ban(_turn(api), Reply(403, {}, b"<html>Forbidden in your region</html>"), NOW) is None
    assert api.ban(_turn(api), Reply(200, {}, b"access too frequent"), NOW) is None


def test_a_connector_that_declares_nothing_reads_no_ban() -> None:
    class Plain(Connector, name="plain-ban-test"):
        limits = {"market": Limit(10, 1.0)}

    api = Plain(urls={"rest": "http://127.0.0.1:1"})
    assert api.ban(_turn(api), Reply(418, {}, b"banned"), NOW) is None


def _scheme() -> tuple[ProxyScheme, list[ProxyEvent]]:
    events: list[ProxyEvent] = []
    return ProxyScheme(pools={"*": [P1, P2]}, on_event=events.append, seed=3), events


def test_a_worded_ban_on_a_429_blocks_the_proxy_at_once_for_the_bans_length() -> None:
    scheme, events = _scheme()
    pool = scheme.pools["*"]
    a, b = pool.egresses
    now = scheme.clock.monotonic()
    kind = scheme.settle(pool, a, "example", 429, 0.01, None, "too many", at_floor=False,
                         ban=Ban("this IP is banned", 300.0))
    assert kind == "blocked"  # one 429, the rate far from its floor: a ban because the venue said so
    [blocked] = events
    assert isinstance(blocked, ProxyBlocked) and blocked.proxy == P1 and blocked.venue == "example"
    assert blocked.retry_in >= 300.0 and blocked.status == 429
    assert "banned: this IP is banned" in blocked.evidence[-1]
    assert not a.health.usable_for("example", now + 299.0) and a.health.usable_for("other", now)
    assert b.health.usable_for("example", now)
    # without the connector's word, the same 429 only teaches the rate
    assert scheme.settle(pool, b, "example", 429, 0.01, None, "too many", at_floor=False) == "limited"
    assert b.health.usable_for("example", now) and len(events) == 1


@pytest.mark.integration
def test_a_bybit_ban_on_one_proxy_blocks_it_for_ten_minutes_and_the_fetch_completes_through_the_other(
        sim: Simulator, tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    p1, p2 = tinyproxies(2)
    sim.venues["bybit"].ban("127.0.0.3", 600)  # p2's address: HTTP 403 "access too frequent"
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"*": [p1.url, p2.url]}, on_event=events.append)
    start = (int(time.time() * 1000) // DAY - 10) * DAY
    end = start + 3 * DAY
    with Session(urls={"bybit": {"rest": sim.url("bybit")}}, proxies=scheme, store=False,
                 retry=RetryPolicy(attempts=6, backoff=0.02, max_backoff=0.2)) as s:
        candles = s.fetch(Candle, exchange="bybit", symbol="BTC/USDT", interval="1m", start=start, end=end)
    # before connectors could word a ban, Bybit's 403 ended the fetch as a RateLimitedError
    assert [c.open_time for c in candles] == list(range(start, end, MINUTE))
    [blocked] = [e for e in events if isinstance(e, ProxyBlocked)]
    assert (blocked.proxy, blocked.venue, blocked.status) == (p2.url, "bybit", 403)
    assert blocked.retry_in >= BAN_SECONDS  # the ban's length, not a short backoff
    assert any("banned:" in ev for ev in blocked.evidence)
    assert not any(isinstance(e, ProxyDown) for e in events)
    stats = {st.proxy: st for st in scheme.stats()}
    assert stats[p2.url].blocked_by == ("bybit",) and stats[p2.url].state == "up"
