"""The chunked relay's invariants, over any chunking of any body: what goes on is the canonical
framing of the same data, and a body cut anywhere is never passed on complete."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.proxy._http import BadReply, Framing, relay_body


class _Sink:
    """What a StreamWriter would have sent."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        pass


def _relay(wire: bytes) -> tuple[bytes, BaseException | None]:
    async def run() -> tuple[bytes, BaseException | None]:
        src = asyncio.StreamReader()
        src.feed_data(wire)
        src.feed_eof()
        sink = _Sink()
        try:
            await relay_body(src, sink, Framing("chunked"), idle=5)  # type: ignore[arg-type]
        except BadReply as exc:
            return bytes(sink.data), exc
        return bytes(sink.data), None

    return asyncio.run(run())


def _canonical(chunks: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


chunks = st.lists(st.binary(min_size=1, max_size=300), max_size=6)
extensions = st.sampled_from(["", ";a=1", ";n=\"x y\"", " \t"])
size_spelling = st.tuples(st.integers(0, 3), st.booleans(), extensions)  # leading zeros, case, extension
trailers = st.lists(st.sampled_from([b"x-sum: abc\r\n", b"content-length: 5\r\n", b"a:\r\n"]), max_size=3)


def _wire(body: list[bytes], spellings: list[tuple[int, bool, str]], trailer: list[bytes]) -> bytes:
    out = b""
    for i, c in enumerate([*body, b""]):
        zeros, upper, ext = spellings[i % len(spellings)]
        size = ("0" * zeros + (f"{len(c):X}" if upper else f"{len(c):x}") + ext).encode()
        out += size + b"\r\n" + (c + b"\r\n" if c else b"")
    return out + b"".join(trailer) + b"\r\n"


@settings(max_examples=150, deadline=None)
@given(chunks, st.lists(size_spelling, min_size=1, max_size=4), trailers)
def test_any_chunking_goes_on_in_canonical_framing(body: list[bytes], spellings: list[tuple[int, bool, str]],
                                                   trailer: list[bytes]) -> None:
    sent, error = _relay(_wire(body, spellings, trailer))
    assert error is None and sent == _canonical(body)


@settings(max_examples=150, deadline=None)
@given(chunks, st.lists(size_spelling, min_size=1, max_size=4), trailers, st.data())
def test_a_body_cut_anywhere_is_never_passed_on_complete(body: list[bytes],
                                                         spellings: list[tuple[int, bool, str]],
                                                         trailer: list[bytes], data: st.DataObject) -> None:
    wire = _wire(body, spellings, trailer)
    cut = data.draw(st.integers(0, len(wire) - 1))
    sent, error = _relay(wire[:cut])
    assert isinstance(error, BadReply)
    canonical = _canonical(body)
    assert canonical.startswith(sent) and len(sent) < len(canonical)


WHOLE = b"3\r\nabc\r\n"


@pytest.mark.parametrize(("bad", "passed"), [
    (b"-5\r\nhello\r\n", WHOLE),
    (b"0x5\r\nhello\r\n", WHOLE),
    (b"5;\x01\r\nhello\r\n", WHOLE),
    (b"1234567890123456\r\n", WHOLE),  # past 15 hex digits
    (b"5\nhello\r\n", WHOLE),  # bare LF
    (b"5\r\nhello!\r\n", WHOLE + b"5\r\nhello"),  # the broken chunk's data, never its CRLF
    (b"5\r\nhello\r\n0\r\nx\r\n\r\n", WHOLE + b"5\r\nhello\r\n"),  # a bad trailer: never the last chunk
])
def test_a_malformed_body_passes_on_only_what_came_whole_before_the_fault(bad: bytes, passed: bytes) -> None:
    sent, error = _relay(WHOLE + bad + b"0\r\n\r\n")
    assert isinstance(error, BadReply)
    assert sent == passed
