"""Live streams through a proxy scheme: sticky per connection, back through another proxy when one dies."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import tradeflood
from tradeflood.models import Trade
from tradeflood.streams import Reconnected, StreamEvent, TradeGap
from tradeflood.testing import Simulator, take
from tradeflood.testing._tinyproxy import TinyProxy, tinyproxy_path

from .conftest import settings


@pytest.fixture
def proxies() -> Iterator[list[TinyProxy]]:
    if tinyproxy_path() is None:
        reason = "tinyproxy is not installed (Debian: apt-get install tinyproxy; .ci/run installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    made = [TinyProxy(bind=f"127.0.0.{n}").start() for n in (12, 13)]
    try:
        yield made
    finally:
        for proxy in made:
            proxy.close()


async def test_a_stream_survives_the_death_of_its_proxy(sim: Simulator, clock: object,
                                                        proxies: list[TinyProxy]) -> None:
    scheme = tradeflood.ProxyScheme(pools={"*": [p.url for p in proxies]})
    session = tradeflood.Session(urls=sim.urls(), clock=clock, store=False, proxies=scheme,
                                 stream_settings=settings())
    async with session as s, s.stream(Trade, exchange="binance", symbol="BTC/USDT",
                                                    events=True) as trades:
        before = await take(trades, 5)
        ips = sim.streams["binance"].stats.accepted_by_ip
        (first_ip,) = [ip for ip, n in ips.items() if n]
        assert first_ip in ("127.0.0.12", "127.0.0.13")  # the venue saw the proxy, not us
        used = next(p for p in proxies if p.bind == first_ip)
        used.kill()
        sim.drop_connections("binance")
        after = await take(trades, 10, timeout=20)
    assert any(isinstance(i, Reconnected) for i in after) and any(isinstance(i, TradeGap) for i in after)
    other = next(p for p in proxies if p is not used)
    assert ips[other.bind] >= 1  # it came back through the other proxy
    ids = [int(t.id) for t in before + after if not isinstance(t, StreamEvent)]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
