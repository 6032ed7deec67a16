"""The OpenAPI document describes what the endpoints do: schemathesis finds no 500 and no violation."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

from tradeflood.server import ServerSettings

from .conftest import Running


@pytest.fixture
def settings() -> ServerSettings:
    # A generous key budget, so schemathesis reaches the endpoints' logic instead of 429s.
    return ServerSettings(requests_per_second=100_000, burst=100_000, poll_max_wait=0.5)


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = set(doc["paths"])
    assert {"/v1/venues", "/v1/instruments", "/v1/candles", "/v1/book", "/v1/trades", "/v1/ticker",
            "/v1/gather",
            "/v1/plan", "/v1/poll", "/v1/callbacks", "/v1/callbacks/{callback_id}", "/healthz", "/readyz",
            "/metrics"} <= paths
    candles = doc["paths"]["/v1/candles"]["get"]
    assert {"400", "404", "503"} <= set(candles["responses"])
    assert (await client.get("/docs")).status_code == 200


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(server: Running,
                                                                          tmp_path: Path) -> None:
    st = Path(sys.executable).parent / "schemathesis"
    proc = await asyncio.create_subprocess_exec(
        str(st), "run", f"{server.url}/openapi.json", "--max-examples", "8", "--seed", "7",
        "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,"
                    "content_type_conformance",
        "--request-timeout", "30", "--no-color",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,  # its cache too
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    text = out.decode()
    assert proc.returncode == 0, text[-4000:]
    assert "No issues found" in text or "passed" in text, text[-2000:]
