"""ProxyScheme configuration, routing by request type, and the pools' strategies (no sockets)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tradeflood
from tradeflood import ConfigError, Limit, ProxyScheme
from tradeflood.clock import VirtualClock
from tradeflood.connectors import Binance, Bitget
from tradeflood.executor import RateLimits
from tradeflood.proxy import request_types
from tradeflood.proxy._pool import Egress
from tradeflood.proxy._routing import turn_route
from tradeflood.windows import egress_of

P1, P2, P3 = "http://127.0.0.1:3001", "http://127.0.0.1:3002", "socks5://127.0.0.1:1080"


def _attached(scheme: ProxyScheme) -> VirtualClock:
    clock = VirtualClock(start=1_700_000_000.0)
    scheme.attach(httpx.AsyncClient(), RateLimits(clock), clock)
    return clock


def test_the_issue_example_builds_and_routes_candles_to_history() -> None:
    scheme = ProxyScheme(
        pools={"history": [P1, P2], "live": [P3], "*": ["direct"]},
        route={"candles": "history", "*": "live"},
        per_proxy=tradeflood.Limit(concurrency=8),
        on_event=print,
    )
    bitget, binance = Bitget(), Binance()
    history = bitget.spot_history_candles("BTCUSDT", "1min", 0, 1)
    assert request_types(history)[:3] == ["bitget:spot-history-candles", "spot-history-candles", "spot"]
    assert turn_route(history, scheme.route) == "history"
    assert turn_route(binance.futures_klines("BTCUSDT", "1m"), scheme.route) == "history"  # klines: candles
    assert turn_route(bitget.spot_tickers(), scheme.route) == "live"
    assert [e.name for e in scheme.pools["history"].egresses] == [P1, P2]
    assert scheme.pools["live"].egresses[0].proxy_url == P3


def test_the_most_specific_route_key_wins() -> None:
    route = {"history": "a", "candles": "b", "bitget:spot-candles": "c", "mix-candles": "d", "*": "e"}
    scheme = ProxyScheme(pools={k: [f"http://127.0.0.1:{3000 + i}"] for i, k in enumerate("abcde")},
                         route=route)
    bitget = Bitget()
    assert turn_route(bitget.spot_candles("X", "1min", 0, 1), scheme.route) == "c"  # venue:group
    assert turn_route(bitget.mix_candles("X", "1m", 0, 1), scheme.route) == "d"  # group
    # both "history" and "candles" match: the one listed first wins
    assert turn_route(bitget.spot_history_candles("X", "1min", 0, 1), scheme.route) == "a"
    assert turn_route(bitget.contracts(), scheme.route) == "e"


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"pools": {"*": ["htp://127.0.0.1:3128"]}}, "'htp://127.0.0.1:3128' is not a proxy URL"),
    ({"pools": {"*": ["http://127.0.0.1:notaport"]}}, "is not a proxy URL"),
    ({"pools": {"*": ["127.0.0.1:3128"]}}, "is not a proxy URL"),
    ({"pools": {"*": "http://127.0.0.1:3128"}}, "must be a non-empty list"),
    ({"pools": {"*": []}}, "must be a non-empty list"),
    ({"pools": {}}, "maps pool names to lists"),
    ({"pools": {"a": [P1]}}, "needs a '*' route or a '*' pool"),
    ({"pools": {"a": [P1]}, "route": {"*": "b"}}, "route '*' -> 'b': no such pool; pools: a"),
    ({"pools": {"*": [P1]}, "route": {"candels": "*"}}, "route keys ['candels'] match no request type"),
    ({"pools": {"*": [P1]}, "strategy": "fastest"}, "unknown proxy strategy 'fastest'"),
    ({"pools": {"*": [{"url": P1, "weight": 0}]}}, "needs a positive weight"),
    ({"pools": {"*": [P1]}, "per_pool": {"x": Limit(concurrency=1)}}, "per_pool names unknown pool(s) ['x']"),
])
def test_bad_configurations_are_config_errors_that_say_what_is_valid(kwargs: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        ProxyScheme(**kwargs)
    assert needle in str(info.value)


def test_unknown_route_key_lists_the_real_request_types() -> None:
    with pytest.raises(ConfigError) as info:
        ProxyScheme(pools={"*": [P1]}, route={"candels": "*"})
    message = str(info.value)
    for valid in ("candles", "history", "bitget:spot-history-candles", "futures", "stream", "book"):
        assert valid in message


def test_limit_takes_a_concurrency_cap_keyword_only() -> None:
    assert Limit(concurrency=8).concurrency == 8 and not Limit(concurrency=8).has_window
    both = Limit(100, 1.0, concurrency=4)
    assert (both.count, both.per, both.concurrency, both.has_window) == (100, 1.0, 4, True)
    assert Limit(20, 1.0).concurrency is None
    for bad in (lambda: Limit(), lambda: Limit(concurrency=0), lambda: Limit(5)):
        with pytest.raises(ValueError):
            bad()


async def test_round_robin_takes_turns_and_skips_a_quarantined_proxy() -> None:
    scheme = ProxyScheme(pools={"*": [P1, P2, "http://127.0.0.1:3003"]}, strategy="round_robin")
    _attached(scheme)
    pool = scheme.pools["*"]
    picks = [scheme.pick(pool, "bitget", "/x").name for _ in range(6)]
    assert Counter(picks) == {P1: 2, P2: 2, "http://127.0.0.1:3003": 2}
    assert picks[:3] != picks[1:4]  # it rotates
    scheme.diagnosis.quarantine(pool.egresses[1], scheme.clock.monotonic())
    assert P2 not in {scheme.pick(pool, "bitget", "/x").name for _ in range(6)}


@settings(max_examples=30, deadline=None)
@given(weights=st.lists(st.integers(1, 5), min_size=2, max_size=4), rounds=st.integers(1, 5))
def test_weighted_pools_pick_in_exact_proportion_to_weight(weights: list[int], rounds: int) -> None:
    urls = [f"http://127.0.0.1:{4000 + i}" for i in range(len(weights))]
    scheme = ProxyScheme(pools={"*": [{"url": u, "weight": w} for u, w in zip(urls, weights, strict=True)]},
                         strategy="weighted")
    pool = scheme.pools["*"]
    picks = Counter(pool.pick(pool.egresses, None).name for _ in range(rounds * sum(weights)))
    assert picks == {u: w * rounds for u, w in zip(urls, weights, strict=True)}


async def test_least_loaded_prefers_the_proxy_whose_window_frees_soonest() -> None:
    scheme = ProxyScheme(pools={"*": [P1, P2]})
    _attached(scheme)
    pool, bitget = scheme.pools["*"], Bitget()
    page = bitget.spot_history_candles("BTCUSDT", "1min", 0, 1)
    a, b = pool.egresses
    assert a.limits is not None
    window = a.limits.windows(page)[0]
    for _ in range(window.limit.count):  # P1's window for this endpoint is full (answered, not yet expired)
        (await window.acquire(1)).release()
    assert a.free_in(page) > 0 and b.free_in(page) == 0
    assert {scheme.choose(page)[1].name for _ in range(5)} == {P2}
    assert scheme.choose(bitget.spot_tickers())[1].name in (P1, P2)  # other endpoints are free on both


async def test_no_usable_proxy_is_a_typed_error_naming_every_proxy_and_why() -> None:
    scheme = ProxyScheme(pools={"*": [P1, P2]})
    clock = _attached(scheme)
    a, b = scheme.pools["*"].egresses
    scheme.diagnosis.failure(a, "bitget", "connect", "ConnectError('refused')", clock.monotonic())
    scheme.diagnosis.failure(b, "bitget", "blocked", "HTTP 418", clock.monotonic(), status=418)
    with pytest.raises(tradeflood.NoProxyAvailableError) as info:
        scheme.choose(Bitget().spot_tickers())
    err = info.value
    assert isinstance(err, tradeflood.NetworkError) and err.pool == "*"
    assert err.causes[P1].startswith("down (connect: ConnectError('refused') (bitget))")
    assert err.causes[P2].startswith("blocked by bitget (blocked: HTTP 418 (bitget))")
    # another venue is still served through the blocked proxy
    assert scheme.pick(scheme.pools["*"], "binance", "/api/v3/ping").name == P2


async def test_a_request_no_proxy_can_carry_now_waits_for_the_earliest_that_can() -> None:
    scheme = ProxyScheme(pools={"*": [P1, P2]})
    clock = _attached(scheme)
    a, b = scheme.pools["*"].egresses
    now = clock.monotonic()
    scheme.diagnosis.failure(a, "bitget", "blocked", "HTTP 418", now, status=418, retry_after=5.0)
    scheme.diagnosis.failure(b, "bitget", "blocked", "HTTP 418", now, status=418, retry_after=3.0)
    page = Bitget().spot_tickers()
    with pytest.raises(tradeflood.NoProxyAvailableError):
        scheme.choose(page)  # nobody can right now...
    _, egress = await scheme.choose_waiting(page, budget=10.0)
    assert egress is b and clock.monotonic() - now == pytest.approx(3.0, abs=0.3)  # ...P2 can in 3 s


async def test_no_proxy_within_the_retry_budget_is_no_proxy_available_naming_the_wait() -> None:
    scheme = ProxyScheme(pools={"*": [P1, P2]})
    clock = _attached(scheme)
    a, b = scheme.pools["*"].egresses
    now = clock.monotonic()
    for egress in (a, b):
        scheme.diagnosis.failure(egress, "bitget", "blocked", "HTTP 418", now, status=418, retry_after=60.0)
    with pytest.raises(tradeflood.NoProxyAvailableError) as info:
        await scheme.choose_waiting(Bitget().spot_tickers(), budget=7.75)
    err = info.value
    assert isinstance(err, tradeflood.TradeFloodError) and err.waited == 7.75
    assert "within 7.75 s" in str(err) and set(err.causes) == {P1, P2}
    assert clock.monotonic() == now  # nobody could within the budget: no time wasted waiting
    assert tradeflood.RetryPolicy().budget == 7.75  # 0.25 + 0.5 + 1 + 2 + 4: the backoffs' sum


async def test_per_proxy_and_per_pool_concurrency_caps_hold_requests_back() -> None:
    scheme = ProxyScheme(pools={"*": [P1, P2]}, per_proxy=Limit(concurrency=2),
                         per_pool=Limit(concurrency=3))
    _attached(scheme)
    pool = scheme.pools["*"]
    a, b = pool.egresses
    held: list[str] = []
    release = asyncio.Event()

    async def request(egress: Egress) -> None:
        async with scheme.attempt(pool, egress, "bitget", "/x"):
            held.append(egress.name)
            await release.wait()

    tasks = [asyncio.ensure_future(request(e)) for e in (a, a, a, b, b)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert sorted(held) == [P1, P1, P2]  # the pool holds 3; P1 alone would hold 2
    assert a.counters.in_flight == 2 and b.counters.in_flight == 1
    release.set()
    await asyncio.gather(*tasks)
    assert sorted(held) == [P1, P1, P1, P2, P2] and a.counters.in_flight == b.counters.in_flight == 0


async def test_a_tap_wraps_each_proxys_transport_and_leaves_direct_on_the_sessions_client() -> None:
    """A recording session hands attach() its tap: every proxy's client sends through what the tap
    made of that proxy's own transport, named by the proxy; ``direct`` keeps the session's client."""
    seen: list[tuple[str, object]] = []

    def tap(inner: httpx.AsyncBaseTransport, route: str) -> httpx.AsyncBaseTransport:
        seen.append((route, egress_of(inner)))  # the proxy's own transport, to wrap

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, text=f"{route} {request.url}")
        return httpx.MockTransport(answer)

    scheme = ProxyScheme(pools={"*": ["direct", "http://user:pw@127.0.0.1:3001", P2]})
    clock = VirtualClock(start=1_700_000_000.0)
    own = httpx.AsyncClient()
    scheme.attach(own, RateLimits(clock), clock, tap=tap)
    assert seen == [("http://127.0.0.1:3001", "proxy:http://127.0.0.1:3001"),  # named without credentials
                    (P2, f"proxy:{P2}")]
    direct, _, second = scheme.egresses
    assert direct.client is own
    reply = await second.client.get("http://venue.test/x")  # type: ignore[union-attr]
    assert reply.text == f"{P2} http://venue.test/x"
    await scheme.aclose()
    await own.aclose()
