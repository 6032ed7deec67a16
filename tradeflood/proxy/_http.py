"""HTTP/1.1 for Proxyter: message heads read strictly and within bounds, and bodies relayed
piece by piece (never held whole), so that a malformed or oversized message gets a clean
answer instead of a traceback and a large body costs a few buffers, not its size.

A request that breaks a rule raises :class:`HttpError` with the status Proxyter answers
(400, 431, ...); an upstream reply that is not HTTP/1.x raises :class:`BadReply` (Proxyter
answers 502). Header lines must end in CRLF; a bare CR or LF, another control character,
an obsolete folded line or a name that is not a token is refused rather than passed on.

What a peer sees of a body that turns out malformed part way (the client's request body,
or an upstream's reply body), so that what was already passed on cannot be read as anything
but the start of an unfinished message:

- Chunked bodies are re-framed, not copied: a chunk's size line goes on only after it has
  been checked, and canonical (``<hex size>\r\n``, no extensions, no padding), so the
  receiver counts every chunk exactly as Proxyter did; the data streams as it comes; the CRLF
  closing the chunk goes on only once the sender's own CRLF has been read; trailer fields
  are checked and dropped, and the body ends ``0\r\n\r\n``.
- When the framing breaks (a bad size line, data not followed by CRLF, a bad trailer
  line, a body shorter than its length, the sender going silent or away), nothing more is
  written and the receiver's connection is cut: an upstream's with a reset (RST,
  :func:`reset`), a client's with a reset if its reply is delimited by the close (else a
  close would pass for its end), otherwise closed at once. The receiver holds at most the
  head, the whole chunks before the fault and the data of the broken chunk without its CRLF
  (what had not left yet is dropped), and never the last chunk (nor the full length): an
  incomplete message, which RFC 9112 (sections 7.1 and 8) says is not to be acted on.
- An upstream connection carries one request (``connection: close``) and a client's is closed
  after the 400 (its remaining bytes read and dropped unparsed for a moment, :func:`linger`, so
  the 400 arrives), so no byte after the fault is ever parsed as a next message on either side.
  The client whose request body broke gets ``400`` and one log line; the client whose reply
  broke has its connection cut and the operator one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["BadReply", "Framing", "Head", "HttpError", "linger", "parse_authority", "read_head", "relay_body",
           "reply_framing", "request_framing", "reset"]

PIECE = 65536  # bytes relayed at a time
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but HTAB, CR and LF among them
_REQUEST_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/1\.([01])")
_STATUS_LINE = re.compile(r"HTTP/1\.[01] ([1-9][0-9]{2})(?: [\x09\x20-\x7e\x80-\xff]*)?")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[\x09\x20-\x7e\x80-\xff]*)?\r\n")
_HOST = re.compile(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]")


class HttpError(Exception):
    """A request Proxyter refuses: answered with ``status`` and ``reason``, then the connection closes."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason = status, reason


class BadReply(Exception):
    """An upstream reply Proxyter cannot relay (not HTTP/1.x, bad framing, cut short): a 502."""


@dataclass
class Head:
    """A message head: the start line's three parts and the header fields in order."""

    start: tuple[str, str, str]
    fields: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        """The value of the last field called ``name`` (lower case), if any."""
        return next((v for k, v in reversed(self.fields) if k == name), None)

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.fields if k == name]


async def read_head(reader: asyncio.StreamReader, *, max_bytes: int, max_fields: int,
                    reply: bool = False) -> Head | None:
    """Read one head; None if the peer closed before sending anything.

    Raises :class:`HttpError` (request) or :class:`BadReply` (``reply=True``) for a head that
    is malformed, cut short or larger than ``max_bytes`` / ``max_fields`` lines.
    """
    fail = _reply_error if reply else _request_error
    size = 0
    lines: list[str] = []
    while True:
        try:
            raw = await reader.readline()
        except ValueError:  # a line longer than the reader's limit
            raise fail(431, "request header fields too large") from None
        size += len(raw)
        if size > max_bytes or len(lines) > max_fields:
            raise fail(431, "request header fields too large")
        if not raw:
            if not lines and size == 0:
                return None
            raise fail(400, "the head ends before its blank line")
        if not raw.endswith(b"\r\n"):
            raise fail(400, "a line of the head does not end in CRLF (bare LF)")
        text = raw[:-2].decode("latin-1")
        if not text:
            if not lines:
                if size > 8:  # a few stray CRLFs before a request line are tolerated
                    raise fail(400, "empty lines instead of a request line")
                continue
            break
        lines.append(text)
    head = Head(_start_line(lines[0], reply))
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            raise fail(400, "a header line is not 'name: value' (or is folded)")
        value = value.strip(" \t")
        if _BAD_VALUE.search(value):
            raise fail(400, f"the {name} header holds a control character (bare CR or LF)")
        head.fields.append((name.lower(), value))
    return head


def _start_line(line: str, reply: bool) -> tuple[str, str, str]:
    if reply:
        match = _STATUS_LINE.fullmatch(line)
        if match is None:
            raise BadReply(f"upstream status line {line[:60]!r} is not HTTP/1.x")
        return "HTTP/1.1", match.group(1), line[13:]
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        raise HttpError(400, "the request line is not 'METHOD target HTTP/1.1'")
    return match.group(1).upper(), match.group(2), f"HTTP/1.{match.group(3)}"


def _request_error(status: int, reason: str) -> Exception:
    return HttpError(status, reason)


def _reply_error(status: int, reason: str) -> Exception:
    return BadReply(f"upstream reply: {reason}".replace("request ", ""))


def parse_authority(text: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) checked: a host name or address and a port in 1..65535."""
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        if default_port is None:
            raise HttpError(400, f"{text[:80]!r} is not host:port")
        host, port = text, str(default_port)
    if not _HOST.fullmatch(host) or not port.isdigit() or len(port) > 5 or not 0 < int(port) < 65536:
        raise HttpError(400, f"{text[:80]!r} is not a valid host:port")
    return host.strip("[]").lower().rstrip("."), int(port)


@dataclass(frozen=True)
class Framing:
    """How a body is delimited: none, a length, chunked, or until the sender closes."""

    kind: Literal["none", "length", "chunked", "close"]
    length: int = 0


NO_BODY = Framing("none")


def _length(values: list[str], fail: type[Exception]) -> int:
    if len(set(values)) != 1 or not all(v.isdigit() and len(v) < 19 for v in values):
        raise fail("content-length is not one decimal number")
    return int(values[0])


def request_framing(head: Head) -> Framing:
    """A request's body framing; conflicting or unknown framing is refused (request smuggling)."""
    coding, lengths = head.get("transfer-encoding"), head.values("content-length")
    if coding is not None:
        if lengths:
            raise HttpError(400, "both transfer-encoding and content-length")
        if coding.lower() != "chunked" or len(head.values("transfer-encoding")) != 1:
            raise HttpError(501, f"transfer-encoding {coding[:40]!r} is not supported (only chunked)")
        return Framing("chunked")
    if lengths:
        try:
            n = _length(lengths, ValueError)
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
        return Framing("length", n) if n else NO_BODY
    return NO_BODY


def reply_framing(head: Head, method: str) -> Framing:
    """A reply's body framing (RFC 9112 section 6.3)."""
    status = int(head.start[1])
    if method == "HEAD" or status < 200 or status in (204, 304):
        return NO_BODY
    coding = head.get("transfer-encoding")
    if coding is not None:
        last = coding.lower().rsplit(",", 1)[-1].strip()
        return Framing("chunked") if last == "chunked" else Framing("close")
    lengths = head.values("content-length")
    if lengths:
        return Framing("length", _length(lengths, BadReply))
    return Framing("close")


async def relay_body(src: asyncio.StreamReader, dst: asyncio.StreamWriter, framing: Framing,
                     idle: float) -> None:
    """Copy one body from ``src`` to ``dst`` as it arrives, ``PIECE`` bytes at most at a time,
    waiting for ``dst`` to drain; chunked bodies are passed on chunk by chunk as they are.

    Raises :class:`BadReply` for a body that is cut short or badly chunked, and
    ``TimeoutError`` when nothing moves for ``idle`` seconds.
    """
    if framing.kind == "length":
        await _copy(src, dst, framing.length, idle)
    elif framing.kind == "chunked":
        await _copy_chunked(src, dst, idle)
    elif framing.kind == "close":
        while True:
            async with asyncio.timeout(idle):
                piece = await src.read(PIECE)
                if not piece:
                    return
                dst.write(piece)
                await dst.drain()


async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter, n: int, idle: float) -> None:
    while n:
        async with asyncio.timeout(idle):
            piece = await src.read(min(n, PIECE))
            if not piece:
                raise BadReply(f"the body ends {n} bytes short of its length")
            n -= len(piece)
            dst.write(piece)
            await dst.drain()


async def _copy_chunked(src: asyncio.StreamReader, dst: asyncio.StreamWriter, idle: float) -> None:
    """Relay a chunked body re-framed canonically, each part passed on only once it is checked.

    A size line goes out as ``<size in lower-case hex>\r\n`` (extensions and padding dropped,
    so the receiver cannot count a chunk differently from Proxyter), the data as it arrives, the
    CRLF after the data once it has been read; trailer fields are checked and dropped (Proxyter
    announces none) and the body ends with ``0\r\n\r\n``. On a malformation nothing of the bad
    part is passed on and :class:`BadReply` is raised: the receiver holds an unfinished chunk
    or a missing last chunk, an incomplete message (see the module docstring).
    """
    while True:
        async with asyncio.timeout(idle):
            line = await _line(src)
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            raise BadReply("a chunk size line is malformed")
        size = int(match.group(1), 16)
        if size == 0:
            break
        dst.write(b"%x\r\n" % size)
        await _copy(src, dst, size, idle)
        async with asyncio.timeout(idle):
            if await _line(src) != b"\r\n":
                raise BadReply("a chunk does not end in CRLF")
        dst.write(b"\r\n")
    for _ in range(100):  # trailer fields, then the final CRLF
        async with asyncio.timeout(idle):
            line = await _line(src)
        if line == b"\r\n":
            dst.write(b"0\r\n\r\n")
            await dst.drain()
            return
        name, colon, value = line[:-2].decode("latin-1").partition(":")
        if not line.endswith(b"\r\n") or not colon or not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise BadReply("a trailer line is malformed")
    raise BadReply("too many trailer lines")


def reset(writer: asyncio.StreamWriter) -> None:
    """Close a connection with a TCP reset (RST), dropping what is not sent yet: unlike a close
    (FIN), which ends a body delimited by the close as if it were whole, a reset tells the peer
    the message is broken."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seconds: float = 2.0,
                 most: int = 1 << 20) -> None:
    """After an error answer, half-close and read (and drop) what the client still sends, for a
    while: closing with its bytes unread would reset the connection, and a reset can destroy
    the answer before the client has read it. What is read here is never parsed."""
    with contextlib.suppress(OSError, RuntimeError, TimeoutError, ValueError):
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(seconds):
            while most > 0 and (piece := await reader.read(PIECE)):
                most -= len(piece)


async def _line(src: asyncio.StreamReader) -> bytes:
    try:
        line = await src.readline()
    except ValueError:
        raise BadReply("a chunk line is too long") from None
    if not line:
        raise BadReply("the chunked body ends early")
    return line
