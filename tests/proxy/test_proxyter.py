"""Proxyter: the scheme as a forward proxy in front of real tinyproxy upstreams: request types from the
proxy user name, CONNECT tunnels, a dead upstream hidden from clients, /stats and /health, its TOML file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from tradeflood import ConfigError, ProxyScheme, Session
from tradeflood.cli import main
from tradeflood.models import Candle
from tradeflood.proxy import ProxyDown
from tradeflood.proxy.proxyter import Destinations, Proxyter, load_config, parse_config
from tradeflood.testing import Simulator
from tradeflood.testing._tinyproxy import TinyProxy

from .test_real_proxies import FAST_RETRY, MINUTE, _range

pytestmark = pytest.mark.integration
TICKERS = "/api/v2/spot/market/tickers"


Served = tuple[Proxyter, list[TinyProxy]]


@pytest.fixture
async def proxyter(monkeypatch: pytest.MonkeyPatch, sim: Simulator,
                   tinyproxies: Callable[..., list[TinyProxy]]) -> AsyncIterator[Served]:
    """Proxyter in front of two tinyproxies, the simulated Bitget allowed as a venue URL override."""
    monkeypatch.setenv("TRADEFLOOD_BITGET_REST_URL", sim.url("bitget"))
    upstreams = tinyproxies(2)
    config = parse_config({"listen": "127.0.0.1:0", "pools": {"history": [p.url for p in upstreams],
                                                              "*": ["direct"]},
                           "route": {"candles": "history"}, "per_proxy": {"concurrency": 8}})
    async with Proxyter.from_config(config) as server:
        yield server, upstreams


def _allow_also(server: Proxyter, port: int) -> None:
    """Let ``server``'s clients reach 127.0.0.1:``port`` too (a test's own WebSocket server)."""
    assert server.allow is not None
    server.allow = Destinations(server.allow.allowed | {("127.0.0.1", port)})


async def test_the_request_type_in_the_proxy_user_name_picks_the_pool(
        sim: Simulator, proxyter: tuple[Proxyter, list[TinyProxy]]) -> None:
    server, _ = proxyter
    venue = sim.venues["bitget"]
    async with httpx.AsyncClient(proxy=f"http://candles:x@127.0.0.1:{server.port}") as client:
        answers = [await client.get(sim.url("bitget") + TICKERS) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert all(a.json()["code"] == "00000" for a in answers)
    assert dict(venue.stats.by_ip) == {"127.0.0.2": 2, "127.0.0.3": 2}
    async with httpx.AsyncClient(proxy=f"http://127.0.0.1:{server.port}") as client:  # no type: "*"
        assert (await client.get(sim.url("bitget") + TICKERS)).status_code == 200
    assert venue.stats.by_ip["127.0.0.1"] == 1
    async with httpx.AsyncClient() as client:
        stats = (await client.get(server.url + "/stats")).json()
        health = (await client.get(server.url + "/health")).json()
        missing = await client.get(server.url + "/nothing")
    assert {p["proxy"]: p["requests"] for p in stats["proxies"]} == {
        e.name: n for e, n in zip(server.scheme.egresses, (2, 2, 1), strict=True)}
    assert all(p["successes"] == p["requests"] and p["latency_ms"]["p50"] > 0 for p in stats["proxies"])
    assert health == {"status": "ok", "pools_in_service": {"history": 2, "*": 1}, "venues_down": [],
                      "proxies": {e.name: "up" for e in server.scheme.egresses}}
    assert missing.status_code == 404 and "/stats and /health" in missing.json()["error"]


async def test_a_session_backfills_through_proxyter_and_a_dead_upstream_is_hidden_from_it(
        sim: Simulator, proxyter: tuple[Proxyter, list[TinyProxy]]) -> None:
    server, (p1, _) = proxyter
    p1.kill()
    scheme = ProxyScheme(pools={"*": [f"http://candles:x@127.0.0.1:{server.port}"]})
    start, end = _range(12)
    async with Session(urls={"bitget": {"rest": sim.url("bitget")}}, proxies=scheme, store=False,
                       retry=FAST_RETRY) as s:
        candles = await s.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m",
                                 start=start, end=end)
        assert s.stats.retries == 0  # Proxyter tried the other upstream before answering
    assert [c.open_time for c in candles] == list(range(start, end, MINUTE))
    assert dict(sim.venues["bitget"].stats.by_ip) == {"127.0.0.3": 13}
    assert [e.proxy for e in server.scheme.events if isinstance(e, ProxyDown)] == [p1.url]
    assert server.scheme.health()["status"] == "degraded"


async def test_connect_tunnels_carry_websockets_through_the_upstream(
        proxyter: tuple[Proxyter, list[TinyProxy]]) -> None:
    server, _ = proxyter
    peers: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        peers.append(ws.remote_address[0])
        async for message in ws:
            await ws.send(f"echo {message}")

    async with serve(handler, "127.0.0.1", 0) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        _allow_also(server, port)
        async with connect(f"ws://127.0.0.1:{port}/", proxy=f"http://candles:x@127.0.0.1:{server.port}",
                           open_timeout=5) as ws:
            await ws.send("through")
            assert await ws.recv() == "echo through"
    assert peers[0] in ("127.0.0.2", "127.0.0.3")


def test_the_configuration_file_is_checked_with_errors_naming_file_and_key(tmp_path: Path) -> None:
    good = tmp_path / "proxies.toml"
    good.write_text('listen = "127.0.0.1:8899"\nstrategy = "round_robin"\n[pools]\n'
                    'history = ["http://127.0.0.1:3128", { url = "http://127.0.0.1:3129", weight = 2 }]\n'
                    '"*" = ["direct"]\n[route]\ncandles = "history"\n[per_proxy]\nconcurrency = 8\n'
                    '[per_pool.history]\ncount = 100\nper = 1.0\n')
    config = load_config(good)
    assert (config.host, config.port) == ("127.0.0.1", 8899)
    assert [e.proxy.weight for e in config.scheme.pools["history"].egresses] == [1, 2]
    assert config.scheme.per_proxy is not None and config.scheme.per_proxy.concurrency == 8
    limit = config.scheme.pools["history"].limit
    assert limit is not None and (limit.count, limit.per) == (100, 1.0)
    cases = {
        "[pools\n": "not valid TOML",
        'colour = "red"\n[pools]\n"*" = ["direct"]\n': "unknown key(s) ['colour']",
        'listen = "8899"\n[pools]\n"*" = ["direct"]\n': "listen = '8899'; expected 'host:port'",
        '[route]\nx = "a"\n': "a [pools] table is required",
        '[pools]\n"*" = ["ftp://127.0.0.1:21"]\n': "'ftp://127.0.0.1:21' is not a proxy URL",
        '[pools]\n"*" = ["direct"]\n[per_proxy]\nconcurency = 8\n':
            "[per_proxy]: unknown key(s) ['concurency']",
        '[pools]\na = ["direct"]\n[route]\n"*" = "b"\n': "route '*' -> 'b': no such pool",
        '[pools]\n"*" = ["socks5://127.0.0.1:1080"]\n': "through http:// proxies or 'direct'",
    }
    for i, (text, needle) in enumerate(cases.items()):
        bad = tmp_path / f"bad{i}.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_config(bad)
        assert str(bad) in str(info.value) and needle in str(info.value), (text, str(info.value))
    with pytest.raises(ConfigError, match="cannot read the Proxyter configuration"):
        load_config(tmp_path / "missing.toml")


def test_the_cli_reports_a_bad_configuration_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text('[pools]\n"*" = ["http://:3128"]\n')
    assert main(["proxyter", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'http://:3128' is not a proxy URL" in err and err.count("\n") == 1


async def test_per_proxy_concurrency_holds_for_the_life_of_a_tunnel(
        tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    """With one upstream capped at one request, a second tunnel waits until the first closes."""
    (upstream,) = tinyproxies(1)
    config = parse_config({"listen": "127.0.0.1:0", "pools": {"*": [upstream.url]},
                           "per_proxy": {"concurrency": 1}})

    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0) as ws_server, Proxyter.from_config(config) as server:
        port = ws_server.sockets[0].getsockname()[1]
        _allow_also(server, port)
        url, proxy = f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{server.port}"
        async with connect(url, proxy=proxy) as first:
            await first.send("one")
            assert await first.recv() == "one"
            (egress,) = server.scheme.egresses
            assert egress.counters.in_flight == 1
            second = asyncio.ensure_future(connect(url, proxy=proxy, open_timeout=10))
            await asyncio.sleep(0.3)
            assert not second.done()  # held back by the proxy's cap, not refused
        ws2 = await asyncio.wait_for(second, 5)  # the first tunnel closed: its place is free
        await ws2.send("two")
        assert await ws2.recv() == "two"
        await ws2.close()
