"""Proxyter is not an open proxy: clients authenticate (407 without), reach only allowed
destinations (403 otherwise, Redis on 127.0.0.1:6379 first), and it will not listen beyond
loopback without authentication. Real sockets on 127.0.0.1 throughout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tradeflood import ConfigError, ProxyScheme
from tradeflood.cli import main
from tradeflood.proxy._access import is_public
from tradeflood.proxy.proxyter import ClientAuth, Destinations, Proxyter, load_config, parse_config

from ._wire import Upstream, answer_ok, ask, basic, direct_proxyter

pytestmark = pytest.mark.integration
AUTH = {"users": {"candles": "candles-secret-1"}, "tokens": ["a-long-token-0123"]}


@contextlib.contextmanager
def listening(port: int) -> Iterator[socket.socket | None]:
    """A listener on 127.0.0.1:``port`` if the port is free (to see whether anyone connects)."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        yield None
        return
    sock.listen(8)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def _accepted(sock: socket.socket | None) -> bool:
    if sock is None:
        return False
    try:
        sock.accept()[0].close()
        return True
    except BlockingIOError:
        return False


async def test_without_valid_credentials_a_client_gets_407_and_the_upstream_sees_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    async with Upstream(answer_ok).running() as up, \
            direct_proxyter(allow=[f"127.0.0.1:{up.port}"], auth=AUTH, route={"candles": "history"}) as px:
        asked: list[str] = []
        pool_for = px.scheme.pool_for
        px.scheme.pool_for = lambda request_type: asked.append(request_type) or pool_for(request_type)  # type: ignore[method-assign]
        get = f"GET http://127.0.0.1:{up.port}/x HTTP/1.1\r\nhost: 127.0.0.1:{up.port}\r\n"
        refusals = [
            await ask(px.port, (get + "\r\n").encode()),
            await ask(px.port, (get + f"proxy-authorization: {basic('candles', 'wrong-password')}\r\n\r\n")
                      .encode()),
            await ask(px.port, (get + f"proxy-authorization: {basic('nobody', 'candles-secret-1')}\r\n\r\n")
                      .encode()),
            await ask(px.port, (get + "proxy-authorization: Basic !!notbase64\r\n\r\n").encode()),
            await ask(px.port, f"CONNECT 127.0.0.1:{up.port} HTTP/1.1\r\n\r\n".encode()),
        ]
        assert [a.status for a in refusals] == [407] * 5
        assert all(a.headers["proxy-authenticate"] == 'Basic realm="proxyter"' for a in refusals)
        assert up.connections == 0
        assert len([r for r in caplog.records if "407" in r.getMessage()]) == 5
        # the right password, a token under any user name, a Bearer token; httpx as a real client
        ok = await ask(px.port, (get + f"proxy-authorization: {basic('candles', 'candles-secret-1')}\r\n\r\n")
                       .encode())
        assert (ok.status, ok.body) == (200, b"ok")
        async with httpx.AsyncClient(proxy=f"http://trades:a-long-token-0123@127.0.0.1:{px.port}") as client:
            assert (await client.get(f"http://127.0.0.1:{up.port}/y")).text == "ok"
        bearer = await ask(px.port, (get + "proxy-authorization: Bearer a-long-token-0123\r\n\r\n").encode())
        assert bearer.status == 200
        assert asked == ["candles", "trades", "*"]  # the user name is the request type
        assert up.connections == 3
        # the upstream never sees the client's credentials
        assert all(b"proxy-authorization" not in h.lower() for h in up.heads)
        # /health answers anyone its verdict, the details to clients with credentials; /stats only to those
        health = await ask(px.port, b"GET /health HTTP/1.1\r\n\r\n")
        assert (health.status, health.json()) == (200, {"status": "ok"})
        token = basic("x", "a-long-token-0123")
        health = await ask(px.port, f"GET /health HTTP/1.1\r\nauthorization: {token}\r\n\r\n".encode())
        assert health.status == 200 and set(health.json()) == {"status", "pools_in_service", "venues_down",
                                                               "proxies"}
        stats = await ask(px.port, b"GET /stats HTTP/1.1\r\n\r\n")
        assert stats.status == 401 and stats.headers["www-authenticate"] == 'Basic realm="proxyter"'
        stats = await ask(px.port, f"GET /stats HTTP/1.1\r\nauthorization: {basic('x', 'a-long-token-0123')}"
                                   "\r\n\r\n".encode())
        assert stats.status == 200 and stats.json()["proxies"][0]["requests"] == 3


def test_credentials_are_checked_in_constant_time_against_every_secret() -> None:
    auth = ClientAuth({"candles": "candles-secret-1", "trades": "trades-secret-22"}, ("a-long-token-0123",))
    assert auth.request_type(basic("candles", "candles-secret-1")) == "candles"
    assert auth.request_type(basic("trades", "candles-secret-1")) is None  # another user's password
    assert auth.request_type(basic("", "a-long-token-0123")) == "*"
    assert auth.request_type(basic("candles", "candles-secret-")) is None
    assert auth.request_type(None) is None and auth.request_type("Digest abc") is None
    assert ClientAuth().request_type(basic("candles", "anything")) == "candles"  # no auth: as before
    with pytest.raises(ConfigError, match="8 characters or more"):
        ClientAuth({"candles": "short"})


async def test_connect_to_redis_on_loopback_gets_403_and_no_connection_is_made() -> None:
    async with Upstream(answer_ok).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        with listening(6379) as redis:
            answer = await ask(px.port, b"CONNECT 127.0.0.1:6379 HTTP/1.1\r\nhost: 127.0.0.1:6379\r\n\r\n")
            assert answer.status == 403
            assert answer.json() == {"error": "127.0.0.1:6379 is not an allowed destination"}
            plain = await ask(px.port, b"GET http://127.0.0.1:6379/ HTTP/1.1\r\nhost: x\r\n\r\n")
            assert plain.status == 403
            # other spellings of loopback are not on the list either
            for target in ("127.1:6379", "LOCALHOST:6379", "[::1]:6379", "0x7f000001:6379",
                           f"127.0.0.1:{up.port + 1 if up.port < 65535 else up.port - 1}"):
                answer = await ask(px.port, f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
                assert answer.status == 403, target
            assert not _accepted(redis)
        # the allowed host and port: tunnelled
        reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
        writer.write(f"CONNECT 127.0.0.1:{up.port} HTTP/1.1\r\n\r\n".encode())
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10) == \
            b"HTTP/1.1 200 Connection established\r\n\r\n"
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        assert (await asyncio.wait_for(reader.read(100), 10)).endswith(b"ok")
        writer.close()


def test_by_default_the_venues_configured_hosts_are_allowed_env_overrides_included(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEFLOOD_BINANCE_REST_URL", "http://127.0.0.1:18080")
    allowed = Destinations.parse()
    assert {("api.bitget.com", 443), ("ws.bitget.com", 443), ("stream.binance.com", 9443),
            ("fstream.binance.com", 443), ("127.0.0.1", 18080)} <= allowed.allowed
    assert ("api.binance.com", 443) not in allowed.allowed  # overridden (rest.futures too)
    assert ("fapi.binance.com", 443) not in allowed.allowed
    assert allowed.allows("API.Bitget.com.", 443) and not allowed.allows("api.bitget.com", 80)
    assert not allowed.allows("127.0.0.1", 6379)
    listed = Destinations.parse(["example.org", "[::1]:8443"], venues=False)
    assert listed.allowed == {("example.org", 80), ("example.org", 443), ("::1", 8443)}
    with pytest.raises(ConfigError, match="is not a destination"):
        Destinations.parse(["host:99999"], venues=False)


async def test_a_venue_url_override_is_reachable_through_the_default_allow_list(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with Upstream(answer_ok).running() as up:
        monkeypatch.setenv("TRADEFLOOD_BITGET_REST_URL", f"http://127.0.0.1:{up.port}")
        config = parse_config({"listen": "127.0.0.1:0", "pools": {"*": ["direct"]}})
        async with Proxyter.from_config(config) as px:
            async with httpx.AsyncClient(proxy=f"http://127.0.0.1:{px.port}") as client:
                assert (await client.get(f"http://127.0.0.1:{up.port}/api")).text == "ok"
            denied = await ask(px.port, b"GET http://127.0.0.1:1/ HTTP/1.1\r\nhost: x\r\n\r\n")
            assert denied.status == 403


async def test_a_proxyter_beyond_loopback_without_authentication_does_not_start() -> None:
    scheme = ProxyScheme(pools={"*": ["direct"]})
    with pytest.raises(ConfigError, match="beyond loopback"):
        await Proxyter(scheme, "0.0.0.0", 0).start()
    with pytest.raises(ConfigError, match="beyond loopback"):
        await Proxyter(scheme, "", 0).start()


def test_it_refuses_to_listen_beyond_loopback_without_authentication(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wide = tmp_path / "wide.toml"
    wide.write_text('listen = "0.0.0.0:8899"\n[pools]\n"*" = ["direct"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(wide)
    message = str(info.value)
    assert str(wide) in message and "beyond loopback" in message and "[auth]" in message
    narrow = tmp_path / "narrow.toml"
    narrow.write_text('listen = "127.0.0.1:0"\n[pools]\n"*" = ["direct"]\n')
    assert main(["proxyter", "--config", str(narrow), "--listen", "0.0.0.0:0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "beyond loopback" in err and err.count("\n") == 1
    guarded = tmp_path / "guarded.toml"
    guarded.write_text('listen = "0.0.0.0:8899"\n[pools]\n"*" = ["direct"]\n'
                       '[auth]\ntokens = ["a-long-token-0123"]\n')
    assert load_config(guarded).auth.required


def test_the_access_sections_of_the_file_are_checked(tmp_path: Path) -> None:
    cases = {
        '[auth]\nusers = { candles = "short" }\n': "8 characters or more",
        '[auth]\npasswords = []\n': "[auth]: unknown key(s) ['passwords']",
        '[allow]\nhosts = ["a:b:c"]\n': "'a:b:c' is not a destination",
        '[allow]\nvenues = "yes"\n': "venues = true|false",
        '[limits]\nconnections = 0\n': "limits.connections must be a positive integer",
        '[limits]\nidle = -1\n': "limits.idle must be a positive number",
        '[limits]\nconections = 5\n': "unknown key(s) ['conections']",
    }
    for i, (text, needle) in enumerate(cases.items()):
        bad = tmp_path / f"bad{i}.toml"
        bad.write_text('[pools]\n"*" = ["direct"]\n' + text)
        with pytest.raises(ConfigError) as info:
            load_config(bad)
        assert str(bad) in str(info.value) and needle in str(info.value), (text, str(info.value))


async def test_each_refusal_is_one_log_line_and_never_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with direct_proxyter() as px:
        assert (await ask(px.port, b"CONNECT 10.0.0.1:22 HTTP/1.1\r\n\r\n")).status == 403
    lines = [r for r in caplog.records if r.name == "tradeflood.proxy.proxyter"]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING and lines[0].exc_info is None
    assert "10.0.0.1:22" in lines[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_without_authentication_configured_health_gives_its_details_to_anyone() -> None:
    async with direct_proxyter() as px:
        health = await ask(px.port, b"GET /health HTTP/1.1\r\n\r\n")
    assert health.status == 200 and health.json()["status"] == "ok" and "proxies" in health.json()


def test_only_public_addresses_pass_without_being_listed() -> None:
    for address in ("127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                    "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
                    "::ffff:10.0.0.1", "::"):
        assert not is_public(address), address
    for address in ("8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"):
        assert is_public(address), address
    allowed = Destinations.parse(["api.example.com", "[::1]:8443", "127.0.0.1:18080"], venues=False)
    assert allowed.allows_address("8.8.8.8", 443) and allowed.allows_address("127.0.0.1", 18080)
    assert allowed.allows_address("0:0::1", 8443)  # the listed address, spelled another way
    assert not allowed.allows_address("127.0.0.1", 6379) and not allowed.allows_address("::1", 443)
    assert not allowed.allows_address("fe80::1%eth0", 443)


def _get(host: str, port: int) -> bytes:
    return f"GET http://{host}:{port}/ HTTP/1.1\r\nhost: x\r\n\r\n".encode()


class FakeDns:
    """A resolver answering from a table, counting the lookups (the system's knows none of these names)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table, self.lookups = table, Counter[str]()

    async def __call__(self, host: str, port: int) -> list[str]:
        if host.replace(".", "").isdigit():
            return [host]
        self.lookups[host] += 1
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


async def test_a_listed_name_resolving_to_loopback_is_refused_unless_that_address_is_listed(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with Upstream(answer_ok).running() as up:
        # a hosts entry: localhost is 127.0.0.1 (and ::1)
        async with direct_proxyter(allow=[f"localhost:{up.port}"]) as px:
            for request in (f"CONNECT localhost:{up.port} HTTP/1.1\r\n\r\n",
                            f"GET http://localhost:{up.port}/ HTTP/1.1\r\nhost: x\r\n\r\n"):
                answer = await ask(px.port, request.encode())
                assert answer.status == 403, request
                assert answer.json() == {"error": f"localhost:{up.port} is not an allowed destination"}
        assert up.connections == 0
        lines = [r.getMessage() for r in caplog.records if r.name == "tradeflood.proxy.proxyter"]
        assert len(lines) == 2 and all("403" in m and "resolves to" in m and "127.0.0.1" in m for m in lines)
        # listing the address as well lets the name through
        async with direct_proxyter(allow=[f"localhost:{up.port}", f"127.0.0.1:{up.port}"]) as px:
            answer = await ask(px.port, _get("localhost", up.port))
        assert (answer.status, answer.body, up.connections) == (200, b"ok", 1)


async def test_a_rebinding_name_cannot_reach_redis_and_a_name_is_looked_up_once() -> None:
    async with Upstream(answer_ok).running() as up:
        dns = FakeDns({"rebind.example": ["127.0.0.1"], "venue.example": ["127.0.0.1"],
                       "mixed.example": ["10.0.0.7", "127.0.0.1"]})
        px = direct_proxyter(allow=["rebind.example:6379", f"venue.example:{up.port}",
                                    f"mixed.example:{up.port}", f"127.0.0.1:{up.port}"])
        px.resolver = dns
        async with px:
            with listening(6379) as redis:
                for request in ("CONNECT rebind.example:6379 HTTP/1.1\r\n\r\n",
                                "GET http://rebind.example:6379/ HTTP/1.1\r\nhost: x\r\n\r\n",
                                "CONNECT 127.0.0.1:6379 HTTP/1.1\r\n\r\n"):
                    answer = await ask(px.port, request.encode())
                    assert answer.status == 403, request
                assert not _accepted(redis)
            # the checked address is the one connected: the system resolver knows no venue.example, so
            # any second lookup would have failed the request
            for name in ("venue.example", "mixed.example"):
                answer = await ask(px.port, _get(name, up.port))
                assert (answer.status, answer.body) == (200, b"ok"), name
            reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
            writer.write(f"CONNECT venue.example:{up.port} HTTP/1.1\r\n\r\n".encode())
            assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10) == \
                b"HTTP/1.1 200 Connection established\r\n\r\n"
            writer.write(b"GET / HTTP/1.1\r\n\r\n")
            assert (await asyncio.wait_for(reader.read(100), 10)).endswith(b"ok")
            writer.close()
            literal = await ask(px.port, _get("127.0.0.1", up.port))
            assert literal.status == 200  # an address resolves to itself
        assert dns.lookups == {"rebind.example": 2, "venue.example": 2, "mixed.example": 1}
        assert up.connections == 4 and [h.split(b" ")[1] for h in up.heads].count(b"/") == 4
