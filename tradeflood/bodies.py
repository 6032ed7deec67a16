"""Reading a reply's body with a bound on its size, counted after decompression.

A venue's reply is read as a stream: a gzip or deflate body is inflated here, a
piece at a time and never more than the bound allows, so a small compressed
body that would expand to gigabytes (a "bomb") stops at the bound with the
client's memory at about the bound, and so does a giant plain body. Other
encodings (br, zstd, when the HTTP client offers them) are decoded by the client
one network chunk at a time and counted the same way.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_MAX_REPLY_BYTES", "BodyTooLarge", "read_bounded"]

#: The default bound: far above the largest page a venue sends (a few MB of a full
#: order book or 1,000 candles), far below what would hurt the client.
DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024


class BodyTooLarge(Exception):
    """The body grew past ``limit`` bytes once decoded; ``read`` says how many were read by then."""

    def __init__(self, limit: int, read: int, encoding: str) -> None:
        self.limit = limit
        self.read = read
        self.encoding = encoding
        super().__init__(limit, read, encoding)


def _inflater(encoding: str) -> zlib._Decompress | None:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()  # zlib-wrapped; raw deflate is tried on the first piece
    return None


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The decoded body of a streamed ``response``; raises :class:`BodyTooLarge` as soon as
    more than ``limit`` decoded bytes have come."""
    import httpx  # loaded by the session's client already

    try:  # an in-process transport (the simulator, a replay) may hand over a body read already
        whole = response.content
    except httpx.ResponseNotRead:
        pass
    else:
        if len(whole) > limit:
            raise BodyTooLarge(limit, len(whole), "identity")
        return whole
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    chunks: list[bytes] = []
    size = 0

    def add(piece: bytes) -> None:
        nonlocal size
        size += len(piece)
        if size > limit:
            raise BodyTooLarge(limit, size, encoding)
        chunks.append(piece)

    if encoding in ("", "identity"):
        async for raw in response.aiter_raw():
            add(raw)
        return b"".join(chunks)
    inflater = _inflater(encoding)
    if inflater is None:  # another encoding: the client decodes a network chunk at a time
        async for piece in response.aiter_bytes():
            add(piece)
        return b"".join(chunks)
    first = True
    try:
        async for raw in response.aiter_raw():
            if first and encoding == "deflate":
                first = False
                try:
                    add(inflater.decompress(raw, limit - size + 1))
                except zlib.error:  # a server that sends raw deflate, without the zlib header
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    add(inflater.decompress(raw, limit - size + 1))
            else:
                add(inflater.decompress(raw, limit - size + 1))
            while inflater.unconsumed_tail:  # more is waiting in this piece: at most the bound's rest
                add(inflater.decompress(inflater.unconsumed_tail, limit - size + 1))
        add(inflater.flush())
    except zlib.error as exc:
        raise httpx.DecodingError(f"the {encoding} body could not be decoded: {exc}") from exc
    return b"".join(chunks)
