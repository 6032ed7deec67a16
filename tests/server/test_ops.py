"""Operations and security: health, readiness, metrics, API keys, per-key limits, CORS, exposure."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tradeflood.errors import ConfigError
from tradeflood.server import ServerSettings

from .conftest import Running
from .wsclient import data, frames, open_socket, subscribe


@pytest.fixture
def settings() -> ServerSettings:
    return ServerSettings(api_keys=frozenset({"key-one", "key-two"}), requests_per_second=5, burst=5,
                          max_sockets_per_key=2, cors_origins=("https://dash.example",))


async def test_keys_are_required_when_configured(client: httpx.AsyncClient, server: Running) -> None:
    assert (await client.get("/healthz")).status_code == 200  # liveness stays open
    reply = await client.get("/v1/venues")
    assert reply.status_code == 401 and reply.json()["error"] == "Unauthorized"
    assert (await client.get("/v1/venues", headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await client.get("/v1/venues", headers={"Authorization": "Bearer key-one"})).status_code == 200
    with pytest.raises(InvalidStatus):
        await open_socket(server.ws_url)
    async with await open_socket(server.ws_url + "/v1/stream?token=key-two") as ws:
        answer = await subscribe(ws, "a", model="ticker", exchange="bitget", symbol="BTC/USDT")
        assert answer["op"] == "subscribed"
        (f,) = await frames(ws, 1, keep=data)
        assert f["data"]["symbol"] == "BTC/USDT"


async def test_per_key_rate_and_socket_caps(client: httpx.AsyncClient, server: Running) -> None:
    auth = {"Authorization": "Bearer key-one"}
    replies = [await client.get("/v1/venues", headers=auth) for _ in range(8)]
    codes = [r.status_code for r in replies]
    assert codes[:5] == [200] * 5 and 429 in codes[5:]
    limited = next(r for r in replies if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1 and limited.json()["error"] == "TooManyRequests"
    # the other key has its own budget
    assert (await client.get("/v1/venues", headers={"Authorization": "Bearer key-two"})).status_code == 200
    url = server.ws_url + "/v1/stream?token=key-one"
    first, second = await open_socket(url), await open_socket(url)
    third = await open_socket(url)
    (f,) = await frames(third, 1)
    assert f["error"] == "TooManySockets"
    for ws in (first, second, third):
        await ws.close()


async def test_cors_allow_list(client: httpx.AsyncClient) -> None:
    preflight = await client.options("/v1/venues", headers={
        "Origin": "https://dash.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.headers["access-control-allow-origin"] == "https://dash.example"
    other = await client.get("/v1/venues", headers={"Origin": "https://evil.example",
                                                    "Authorization": "Bearer key-two"})
    assert "access-control-allow-origin" not in other.headers


async def test_metrics_and_readiness(client: httpx.AsyncClient, server: Running) -> None:
    auth = {"Authorization": "Bearer key-two"}
    assert (await client.get("/v1/ticker", params={"exchange": "bitget", "symbol": "BTC/USDT"},
                             headers=auth)).status_code == 200
    async with await open_socket(server.ws_url + "/v1/stream?token=key-two") as ws:
        await subscribe(ws, "t", model="trade", exchange="bitget", symbol="BTC/USDT")
        await frames(ws, 3, keep=data)
        text = (await client.get("/metrics")).text
    assert 'tradeflood_server_requests_total{endpoint="/v1/ticker",status="200",venue="bitget"} 1.0' in text
    assert "tradeflood_stream_upstreams 1.0" in text and "tradeflood_server_websocket_clients 1.0" in text
    assert 'tradeflood_rate_limit_headroom{group="spot-tickers",venue="bitget"}' in text
    assert "tradeflood_upstream_requests_total" in text
    assert "tradeflood_server_venue_to_client_seconds_count" in text
    assert 'tradeflood_server_messages_out_total{channel="websocket"}' in text
    ready = await client.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200 and body["ready"] is True, body
    assert body["venues"]["bitget"]["reachable"] and body["venues"]["bitget"]["online"]
    assert 0 < body["venues"]["bitget"]["headroom"]["spot-tickers"] <= 1
    status = (await client.get("/v1/status", headers=auth)).json()
    assert status["status"] == "ok" and "binance" in status["headroom"]


def test_listening_beyond_loopback_needs_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADEFLOOD_API_KEYS", raising=False)
    with pytest.raises(ConfigError, match="without API keys"):
        ServerSettings(host="0.0.0.0").check_exposure()
    ServerSettings(host="127.0.0.1").check_exposure()
    monkeypatch.setenv("TRADEFLOOD_API_KEYS", "a,b")
    loaded = ServerSettings.load(host="0.0.0.0")
    assert loaded.api_keys == {"a", "b"}
    loaded.check_exposure()


def test_config_file(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "server.toml"
    path.write_text('[server]\nport = 9100\napi_keys = ["x"]\n[callbacks]\nallow_hosts = ["127.0.0.1"]\n'
                    '[urls.bitget]\nrest = "http://127.0.0.1:1"\n')
    loaded = ServerSettings.load(path)
    assert (loaded.port, loaded.api_keys, loaded.callback_allow_hosts) == (9100, {"x"}, ("127.0.0.1",))
    assert loaded.urls == {"bitget": {"rest": "http://127.0.0.1:1"}}
    path.write_text("[server]\nbogus = 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        ServerSettings.load(path)


