"""WebSocket connections through proxies: tinyproxy's CONNECT tunnel to a websockets echo server on
loopback; a connection stays on its proxy, and comes back through another when that proxy dies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import Server, ServerConnection, serve

from tradeflood.proxy import ProxyDown, ProxyEvent, ProxyScheme
from tradeflood.testing._tinyproxy import TinyProxy

pytestmark = pytest.mark.integration


@pytest.fixture
async def echo() -> AsyncIterator[tuple[str, list[str]]]:
    """A WebSocket echo server on 127.0.0.1; the list collects each connection's client IP."""
    peers: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        peers.append(ws.remote_address[0])
        async for message in ws:
            await ws.send(f"echo {message}")

    server: Server
    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws", peers


async def _roundtrip(uri: str, proxy: str | None, text: str) -> str:
    async with connect(uri, proxy=proxy, open_timeout=5) as ws:
        await ws.send(text)
        return str(await ws.recv())


async def test_a_websocket_goes_through_a_proxy_and_moves_to_another_when_it_dies(
        echo: tuple[str, list[str]], tinyproxies: Callable[..., list[TinyProxy]]) -> None:
    uri, peers = echo
    p1, p2 = tinyproxies(2)
    events: list[ProxyEvent] = []
    scheme = ProxyScheme(pools={"ws": [p1.url, p2.url], "*": ["direct"]}, route={"stream": "ws"},
                         on_event=events.append)
    first = scheme.stream_egress("bitget", key="book BTC/USDT")
    assert first.proxy_url in (p1.url, p2.url)
    assert await _roundtrip(uri, first.proxy_url, "hello") == "echo hello"
    first.report_ok()
    first_ip = peers[-1]
    assert first_ip == ("127.0.0.2" if first.proxy_url == p1.url else "127.0.0.3")  # the proxy's Bind address
    again = scheme.stream_egress("bitget", key="book BTC/USDT")
    assert again.proxy_url == first.proxy_url  # sticky while it works
    again.release()
    assert {s.proxy: s.in_flight for s in scheme.stats()}[first.name] == 1  # the open connection

    (p1 if first.proxy_url == p1.url else p2).kill()
    with pytest.raises(OSError) as info:
        await _roundtrip(uri, first.proxy_url, "lost")
    first.report_failure(info.value)
    first.release()
    [down] = [e for e in events if isinstance(e, ProxyDown)]
    assert down.proxy == first.name and down.evidence[-1].startswith("connect:")

    moved = scheme.stream_egress("bitget", key="book BTC/USDT")
    assert moved.proxy_url not in (None, first.proxy_url)
    assert await _roundtrip(uri, moved.proxy_url, "back") == "echo back"
    assert peers[-1] != first_ip and peers[-1] in ("127.0.0.2", "127.0.0.3")
    moved.release()


async def test_streams_of_an_unrouted_venue_go_direct(echo: tuple[str, list[str]]) -> None:
    uri, peers = echo
    scheme = ProxyScheme(pools={"ws": ["http://127.0.0.1:9"], "*": ["direct"]},
                         route={"binance:stream": "ws"})
    egress = scheme.stream_egress("bitget")
    assert egress.proxy_url is None and egress.name == "direct"
    assert await _roundtrip(uri, egress.proxy_url, "x") == "echo x" and peers == ["127.0.0.1"]
    assert scheme.stream_egress("binance").proxy_url == "http://127.0.0.1:9"
