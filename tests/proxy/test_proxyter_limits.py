"""Proxyter under bad input and too many clients: malformed requests and upstream replies get a
clean 400/431/501/502 and one log line, refused and unreachable destinations the same 502
sentence, and idle connections neither take it down nor hold it forever."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tradeflood.testing._tinyproxy import free_port

from ._wire import Upstream, answer_ok, ask, direct_proxyter

pytestmark = pytest.mark.integration


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tradeflood.proxy.proxyter"]


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_malformed_requests_get_a_clean_answer_and_one_log_line(
        caplog: pytest.LogCaptureFixture) -> None:
    async with Upstream(answer_ok).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        to = f"GET http://127.0.0.1:{up.port}/ HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        cases: dict[bytes, tuple[int, str]] = {
            b"CONNECT 127.0.0.1:99999 HTTP/1.1\r\n\r\n": (400, "not a valid host:port"),
            b"CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n": (400, "is not host:port"),
            b"FOO\r\n\r\n": (400, "request line"),
            b"GET http://127.0.0.1:99999/ HTTP/1.1\r\n\r\n": (400, "not a valid host:port"),
            b"GET ftp://127.0.0.1/ HTTP/1.1\r\n\r\n": (400, "absolute http:// URL"),
            f"GET http://u:p@127.0.0.1:{up.port}/ HTTP/1.1\r\n\r\n".encode(): (400, "credentials in the"),
            (to + "x-evil: a\rb\r\n\r\n").encode(): (400, "bare CR or LF"),
            (to + "x-evil: a\x00b\r\n\r\n").encode(): (400, "control character"),
            f"GET http://127.0.0.1:{up.port}/ HTTP/1.1\nhost: x\n\n".encode(): (400, "bare LF"),
            (to + " folded\r\n\r\n").encode(): (400, "folded"),
            (to + "bad name: x\r\n\r\n").encode(): (400, "not 'name: value'"),
            (to + "x-big: " + "a" * 20000 + "\r\n\r\n").encode(): (431, "too large"),
            (to + "".join(f"x-{i}: {i}\r\n" for i in range(150)) + "\r\n").encode(): (431, "too large"),
            (to + "content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n").encode(): (400, "both"),
            (to + "transfer-encoding: gzip\r\n\r\n").encode(): (501, "only chunked"),
            (to + "content-length: 2\r\ncontent-length: 3\r\n\r\nabc").encode(): (400, "content-length"),
            (to + "content-length: -1\r\n\r\n").encode(): (400, "content-length"),
            (to + "transfer-encoding: chunked\r\n\r\nzz\r\n").encode(): (400, "chunk size"),
        }
        for data, (status, needle) in cases.items():
            caplog.clear()
            answer = await ask(px.port, data)
            assert (answer.status, answer.headers["connection"]) == (status, "close"), data[:60]
            assert needle in answer.json()["error"], (data[:60], answer.json())
            assert len(_lines(caplog)) == 1 and str(status) in _lines(caplog)[0].getMessage(), data[:60]
            _no_traceback(caplog)
        # nothing malformed reached the upstream, but for the streamed body whose head went first
        # (its upstream connection is closed when the bad chunk shows)
        assert len(up.heads) == 1 and b"transfer-encoding: chunked" in up.heads[0]
        ok = await ask(px.port, (to + "\r\n").encode())  # and Proxyter still serves
        assert (ok.status, ok.body) == (200, b"ok")


async def test_malformed_upstream_replies_get_502_and_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    replies = [b"FOO\r\n\r\n", b"", b"HTTP/1.1 200 OK\r\ncontent-length: zz\r\n\r\nok",
               b"HTTP/1.1 200 OK\r\nx-evil: a\rb\r\n\r\n", b"HTTP/1.1 20 OK\r\n\r\n",
               b"HTTP/1.1 101 Switching Protocols\r\n\r\n", b"HTTP/1.1 200 OK\n\n"]
    served = iter(replies)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        writer.write(next(served))
        await writer.drain()

    async with Upstream(script).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        for reply in replies:
            caplog.clear()
            get = f"GET http://127.0.0.1:{up.port}/ HTTP/1.1\r\nhost: x\r\n\r\n"
            answer = await ask(px.port, get.encode())
            assert answer.status == 502, reply
            assert answer.json() == {"error": f"Proxyter could not reach 127.0.0.1:{up.port}"}
            assert len(_lines(caplog)) == 1 and "502" in _lines(caplog)[0].getMessage(), reply
            _no_traceback(caplog)


async def test_a_reply_cut_short_is_cut_for_the_client_too(caplog: pytest.LogCaptureFixture) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + b"x" * 10)
        await writer.drain()

    async with Upstream(script).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
        writer.write(f"GET http://127.0.0.1:{up.port}/ HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: 100" in head
        got = b""
        try:
            while piece := await asyncio.wait_for(reader.read(1000), 10):
                got += piece
        except ConnectionResetError:
            pass
        assert got == b"x" * 10  # then the connection ends: the client knows the body is short
        writer.close()
    assert len(_lines(caplog)) == 1 and "cut" in _lines(caplog)[0].getMessage()
    _no_traceback(caplog)


async def test_refused_and_unreachable_destinations_get_the_same_sentence(
        caplog: pytest.LogCaptureFixture) -> None:
    closed = free_port()  # nothing listens there: connection refused
    async with direct_proxyter(allow=[f"127.0.0.1:{closed}", "nothing.invalid:80"]) as px:
        refused = await ask(px.port, f"CONNECT 127.0.0.1:{closed} HTTP/1.1\r\n\r\n".encode())
        plain = await ask(px.port, f"GET http://127.0.0.1:{closed}/ HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        unknown = await ask(px.port, b"CONNECT nothing.invalid:80 HTTP/1.1\r\n\r\n")
    assert [a.status for a in (refused, plain, unknown)] == [502] * 3
    assert refused.json() == plain.json() == {"error": f"Proxyter could not reach 127.0.0.1:{closed}"}
    assert unknown.json() == {"error": "Proxyter could not reach nothing.invalid:80"}
    assert refused.body.replace(str(closed).encode(), b"P") == unknown.body.replace(b"nothing.invalid:80",
                                                                                    b"127.0.0.1:P")
    # the cause is for the operator's log only
    logged = _lines(caplog)[0].getMessage()
    assert "Connect call failed" in logged or "refused" in logged
    _no_traceback(caplog)


async def test_connections_are_capped_per_client_and_in_all(caplog: pytest.LogCaptureFixture) -> None:
    async with Upstream(answer_ok).running() as up, \
            direct_proxyter(allow=[f"127.0.0.1:{up.port}"], limits={"per_client": 3, "connections": 6}) as px:
        idle = [await asyncio.open_connection("127.0.0.1", px.port) for _ in range(3)]
        await _until(lambda: px.open_connections == 3)
        get = f"GET http://127.0.0.1:{up.port}/ HTTP/1.1\r\nhost: x\r\n\r\n".encode()
        over = await ask(px.port, get)
        assert over.status == 429 and "too many connections from 127.0.0.1" in over.json()["error"]
        assert (await ask(px.port, b"GET /health HTTP/1.1\r\n\r\n")).status == 200  # /health still answers
        other = await ask(px.port, get, source="127.0.0.5")  # another client is served
        assert (other.status, other.body) == (200, b"ok")
        for _, w in idle:
            w.close()
        # all connections busy (tunnels carrying data): a new one is refused with 503
        tunnels = []
        for i in range(6):
            reader, writer = await asyncio.open_connection("127.0.0.1", px.port,
                                                           local_addr=(f"127.0.0.{10 + i}", 0))
            writer.write(f"CONNECT 127.0.0.1:{up.port} HTTP/1.1\r\n\r\n".encode())
            assert b" 200 " in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            tunnels.append(writer)
        busy = await ask(px.port, get, source="127.0.0.20")
        assert busy.status == 503 and "cap of 6 busy connections" in busy.json()["error"]
        for w in tunnels:
            w.close()
    _no_traceback(caplog)


async def test_sixty_idle_clients_over_a_cap_of_fifty_do_not_stop_health() -> None:
    async with direct_proxyter(limits={"connections": 50}) as px:
        idle = [await asyncio.open_connection("127.0.0.1", px.port) for _ in range(60)]
        await _until(lambda: px.open_connections == 50)
        health = await ask(px.port, b"GET /health HTTP/1.1\r\n\r\n")
        assert health.status == 200 and health.json()["status"] == "ok"
        assert px.open_connections <= 50
        closed = 0
        for reader, writer in idle:  # the longest idle made way: they were closed, not stuck
            try:
                if await asyncio.wait_for(reader.read(1), 0.01) == b"":
                    closed += 1
            except (TimeoutError, ConnectionError):
                pass
            writer.close()
        assert closed >= 11


async def test_idle_and_slow_clients_are_closed_after_the_idle_time() -> None:
    async with direct_proxyter(limits={"idle": 0.5}) as px:
        silent = await asyncio.open_connection("127.0.0.1", px.port)
        slow = await asyncio.open_connection("127.0.0.1", px.port)
        slow[1].write(b"GET /health HTTP/1.1\r\nx-a: ")  # a head that never ends
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await asyncio.wait_for(silent[0].read(100), 10) == b""
        assert await asyncio.wait_for(slow[0].read(100), 10) == b""
        assert 0.4 < loop.time() - started < 5
        await _until(lambda: px.open_connections == 0)
        for _, w in (silent, slow):
            w.close()


async def test_a_silent_tunnel_is_closed_after_the_tunnel_idle_time() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        await asyncio.sleep(30)

    async with Upstream(silent).running() as up, \
            direct_proxyter(allow=[f"127.0.0.1:{up.port}"], limits={"tunnel_idle": 0.5}) as px:
        reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
        writer.write(f"CONNECT 127.0.0.1:{up.port} HTTP/1.1\r\n\r\n".encode())
        assert b" 200 " in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        loop = asyncio.get_running_loop()
        writer.write(b"ping")  # traffic keeps it open; then silence closes it
        started = loop.time()
        assert await asyncio.wait_for(reader.read(100), 10) == b""
        assert 0.4 < loop.time() - started < 5
        await _until(lambda: px.open_connections == 0)
        writer.close()


def test_a_thousand_idle_connections_under_a_low_file_limit_leave_health_answering(tmp_path: Path) -> None:
    """The real failure: a file limit below the idle connections. Proxyter (a process with
    RLIMIT_NOFILE 512) fits its cap to it and keeps answering /health, without tracebacks."""
    port = free_port()
    config = tmp_path / "p.toml"
    config.write_text(f'listen = "127.0.0.1:{port}"\n[pools]\n"*" = ["direct"]\n')
    log = tmp_path / "out.txt"

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    with open(log, "w") as out:
        command = [sys.executable, "-m", "tradeflood.cli", "proxyter", "--config", str(config)]
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=low_limit,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        asyncio.run(_flood_then_health(port, 1000))
    finally:
        process.terminate()
        process.wait(10)
    text = log.read_text()
    assert "Traceback" not in text and "Too many open files" not in text, text[-2000:]
    assert "connections capped at 144" in text


async def _flood_then_health(port: int, n: int) -> None:
    await _until_listening(port)
    held = []
    for i in range(n):
        source = f"127.0.{1 + i // 50}.1"  # 50 a client: the total cap is what is tried here
        held.append(await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)))
    health = await ask(port, b"GET /health HTTP/1.1\r\n\r\n")
    assert health.status == 200 and health.json()["status"] == "ok"
    for _, w in held:
        w.close()


async def _until_listening(port: int) -> None:
    for _ in range(400):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


async def _until(condition: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
