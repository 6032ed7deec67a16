"""Proxyter streams bodies: request bodies (with a length or chunked) and replies (with a length,
chunked, or until close) pass through piece by piece, and a 100 MB reply does not grow it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tradeflood.testing._tinyproxy import free_port

from ._wire import Upstream, ask, direct_proxyter, read_answer

pytestmark = pytest.mark.integration
MB = 1 << 20


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while size := int((await reader.readline()).split(b";")[0], 16):
        body += await reader.readexactly(size)
        assert await reader.readexactly(2) == b"\r\n"
    while await reader.readline() != b"\r\n":
        pass
    return body


async def hash_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    """Answer with the sha256 of the request's body, however it was framed."""
    fields = {k.strip().lower(): v.strip() for k, _, v in
              (ln.partition(b":") for ln in head.split(b"\r\n")[1:] if ln)}
    if fields.get(b"transfer-encoding") == b"chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(fields.get(b"content-length", b"0")))
    digest = hashlib.sha256(body).hexdigest().encode()
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(digest), digest))
    await writer.drain()


async def test_request_bodies_are_streamed_with_a_length_or_chunked() -> None:
    data = os.urandom(5 * MB)

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 300_000):
            yield data[i:i + 300_000]

    async with Upstream(hash_body).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px, \
            httpx.AsyncClient(proxy=px.url, timeout=30) as client:
        sized = await client.post(f"http://127.0.0.1:{up.port}/sized", content=data)
        chunked = await client.post(f"http://127.0.0.1:{up.port}/chunked", content=pieces())
    expected = hashlib.sha256(data).hexdigest()
    assert sized.text == chunked.text == expected
    assert b"content-length: 5242880" in up.heads[0].lower()
    second = up.heads[1].lower()
    assert b"transfer-encoding: chunked" in second and b"content-length" not in second


async def test_a_client_expecting_100_continue_gets_it_before_sending_its_body() -> None:
    async with Upstream(hash_body).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
        writer.write(f"POST http://127.0.0.1:{up.port}/ HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n"
                     "expect: 100-continue\r\n\r\n".encode())
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10) == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"hello")
        answer = await read_answer(reader)
        assert (answer.status, answer.body) == (200, hashlib.sha256(b"hello").hexdigest().encode())
        assert b"expect" not in up.heads[0].lower()
        writer.close()
        odd = await ask(px.port, f"POST http://127.0.0.1:{up.port}/ HTTP/1.1\r\ncontent-length: 1\r\n"
                                 "expect: something\r\n\r\nx".encode())
        assert odd.status == 417


async def test_chunked_and_close_delimited_replies_are_relayed_and_keep_alive_holds() -> None:
    chunked = (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n7;ext=1\r\n, proxy\r\n1\r\n!\r\n0\r\nx-trailer: done\r\n\r\n")

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        if head.startswith(b"GET /chunked"):
            writer.write(chunked)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end")
        await writer.drain()

    async with Upstream(script).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
        for _ in range(2):  # the same client connection carries both: chunked framing keeps it alive
            writer.write(f"GET http://127.0.0.1:{up.port}/chunked HTTP/1.1\r\nhost: x\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head == b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
            assert await asyncio.wait_for(_read_chunked(reader), 10) == b"hello, proxy!"
        writer.write(f"GET http://127.0.0.1:{up.port}/close HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert b"connection: close" in head
        assert await asyncio.wait_for(reader.read(), 10) == b"until the end"  # then Proxyter closes
        writer.close()
        async with httpx.AsyncClient(proxy=px.url) as client:
            assert (await client.get(f"http://127.0.0.1:{up.port}/chunked")).text == "hello, proxy!"


async def test_a_reply_reaches_the_client_before_the_upstream_has_finished_it() -> None:
    """Half a reply is relayed while the upstream waits to send the rest: nothing is held whole."""
    half_seen = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (2 * MB) + b"a" * MB)
        await writer.drain()
        await asyncio.wait_for(half_seen.wait(), 10)
        writer.write(b"b" * MB)
        await writer.drain()

    async with Upstream(script).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
        writer.write(f"GET http://127.0.0.1:{up.port}/ HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert await asyncio.wait_for(reader.readexactly(MB), 10) == b"a" * MB
        half_seen.set()
        assert await asyncio.wait_for(reader.readexactly(MB), 10) == b"b" * MB
        writer.close()


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {key} for process {pid}")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to read peak RSS")
def test_a_100_mb_reply_grows_proxyter_by_a_few_mb_at_most(tmp_path: Path) -> None:
    size = 100 * MB
    block = b"0123456789abcdef" * (MB // 16)

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        if b"/small" in head:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
            for _ in range(size // MB):
                writer.write(block)
                await writer.drain()
        await writer.drain()

    async def run() -> tuple[float, float, int, str]:
        async with Upstream(big).running() as up:
            port = free_port()
            config = tmp_path / "p.toml"
            config.write_text(f'listen = "127.0.0.1:{port}"\n[pools]\n"*" = ["direct"]\n'
                              f'[allow]\nhosts = ["127.0.0.1:{up.port}"]\n')
            command = [sys.executable, "-m", "tradeflood.cli", "proxyter", "--config", str(config)]
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for _ in range(400):
                    try:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                        break
                    except OSError:
                        await asyncio.sleep(0.05)
                writer.write(f"GET http://127.0.0.1:{up.port}/small HTTP/1.1\r\nhost: x\r\n\r\n".encode())
                assert (await read_answer(reader)).body == b"ok"  # warmed up: every code path loaded
                Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # peak RSS := RSS now
                before = _status_mb(process.pid, "VmRSS")
                writer.write(f"GET http://127.0.0.1:{up.port}/big HTTP/1.1\r\nhost: x\r\n\r\n".encode())
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                digest, received = hashlib.sha256(), 0
                while received < size:
                    piece = await asyncio.wait_for(reader.read(MB), 30)
                    assert piece
                    digest.update(piece)
                    received += len(piece)
                peak = _status_mb(process.pid, "VmHWM")
                writer.close()
                return before, peak, received, digest.hexdigest()
            finally:
                process.terminate()
                process.wait(10)

    before, peak, received, digest = asyncio.run(run())
    assert received == size and digest == hashlib.sha256(block * (size // MB)).hexdigest()
    assert peak - before < 8, f"Proxyter grew from {before:.1f} MB to {peak:.1f} MB relaying 100 MB"


class Recorder:
    """An upstream that records the bytes after a request head until the connection ends, and how it
    ended, and answers ``200 ok`` only to a body whose last chunk came."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.reset = False
        self.ended = asyncio.Event()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        got = b""
        try:
            while piece := await reader.read(65536):
                got += piece
                if got.endswith(b"0\r\n\r\n"):
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    await writer.drain()
                    break
        except ConnectionResetError:
            self.reset = True
        finally:
            self.bodies.append(got)
            self.ended.set()


def _post_chunked(port: int) -> bytes:
    return f"POST http://127.0.0.1:{port}/ HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".encode()


async def test_a_chunked_request_body_reaches_the_upstream_in_canonical_framing() -> None:
    """Extensions, leading zeros and padding are dropped and trailers checked but not passed on, so
    the upstream cannot count a chunk differently from Proxyter."""
    recorder = Recorder()
    async with Upstream(recorder).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        body = (b"5;name=\"v\"\r\nhello\r\n00006 \t\r\n, you!\r\n"
                b"000\r\nx-checksum: abc\r\ncontent-length: 99\r\n\r\n")
        answer = await ask(px.port, _post_chunked(up.port) + body)
    assert (answer.status, answer.body) == (200, b"ok")
    assert recorder.bodies == [b"5\r\nhello\r\n6\r\n, you!\r\n0\r\n\r\n"]


async def test_a_malformed_chunk_in_a_request_gets_400_and_the_upstream_an_unfinished_body(
        caplog: pytest.LogCaptureFixture) -> None:
    """The upstream holds whole chunks and then a reset, never a last chunk, and the bytes the client
    sent after the fault (a second request here) are never parsed: not by Proxyter (it closes the
    client's connection after the 400), not by the upstream (one request per connection)."""
    recorder = Recorder()
    async with Upstream(recorder).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        smuggled = f"GET http://127.0.0.1:{up.port}/smuggled HTTP/1.1\r\nhost: x\r\n\r\n".encode()
        for fault in (b"zz\r\n", b"5\r\nworld!!\r\n", b"5\r\nworld\n", b"0\r\nnot a field\r\n\r\n",
                      b"0\r\nx-a: b\n\r\n", b"5 x\r\nworld\r\n"):
            recorder.ended.clear()
            reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
            writer.write(_post_chunked(up.port) + b"5\r\nhello\r\n" + fault + b"0\r\n\r\n" + smuggled)
            answer = await read_answer(reader)
            assert answer.status == 400 and answer.headers["connection"] == "close", fault
            assert "chunk" in answer.json()["error"] or "trailer" in answer.json()["error"], fault
            assert await asyncio.wait_for(reader.read(), 10) == b""  # closed: nothing more is read
            writer.close()
            await asyncio.wait_for(recorder.ended.wait(), 10)
            got = recorder.bodies[-1]
            # a prefix of what was whole (what had not left when the connection was reset is dropped)
            assert b"5\r\nhello\r\n".startswith(got) or (got.startswith(b"5\r\nhello\r\n5\r\nworld")
                                                        and fault.startswith(b"5\r\nworld")), (fault, got)
            assert b"0\r\n\r\n" not in got and b"smuggled" not in got, fault
    assert len(up.heads) == 6 and all(h.startswith(b"POST / ") for h in up.heads)  # never the smuggled GET
    lines = [r for r in caplog.records if r.name == "tradeflood.proxy.proxyter"]
    assert len(lines) == 6 and all("400" in r.getMessage() and r.exc_info is None for r in lines)


async def test_a_malformed_chunk_in_a_reply_cuts_the_client_after_the_whole_chunks(
        caplog: pytest.LogCaptureFixture) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n"
                     b"zz\r\nsmuggled\r\n0\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()

    async with Upstream(script).running() as up, direct_proxyter(allow=[f"127.0.0.1:{up.port}"]) as px:
        reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
        writer.write(f"GET http://127.0.0.1:{up.port}/ HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head == b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
        got, reset = b"", False
        try:
            while piece := await asyncio.wait_for(reader.read(1000), 10):
                got += piece
        except ConnectionResetError:
            reset = True
        writer.close()
    assert got == b"5\r\nhello\r\n" and not reset  # the whole chunk (canonical), never a last chunk
    lines = [r for r in caplog.records if r.name == "tradeflood.proxy.proxyter"]
    assert len(lines) == 1 and "cut" in lines[0].getMessage() and "chunk size" in lines[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_reply_delimited_by_the_close_that_stalls_is_reset_not_closed(
        caplog: pytest.LogCaptureFixture) -> None:
    """A plain close would tell the client the body is whole; a reset tells it the body is broken."""
    stalled = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nthe start of it")
        await writer.drain()
        await asyncio.wait_for(stalled.wait(), 20)

    async with Upstream(script).running() as up, \
            direct_proxyter(allow=[f"127.0.0.1:{up.port}"], limits={"idle": 0.5}) as px:
        reader, writer = await asyncio.open_connection("127.0.0.1", px.port)
        writer.write(f"GET http://127.0.0.1:{up.port}/ HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert b"connection: close" in head
        with pytest.raises(ConnectionResetError):
            while await asyncio.wait_for(reader.read(1000), 10):
                pass
        writer.close()
        stalled.set()
    lines = [r for r in caplog.records if r.name == "tradeflood.proxy.proxyter"]
    assert len(lines) == 1 and "cut" in lines[0].getMessage()
