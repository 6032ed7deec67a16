"""read_bounded: every encoding a venue may send is decoded exactly, and cut off at the bound."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from tradeflood.bodies import BodyTooLarge, read_bounded

BODY = b'{"code":"00000","data":[' + b'["1","2","3","4","5"],' * 5000 + b"[]]}"


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


ENCODED = {
    "identity": BODY,
    "gzip": gzip.compress(BODY),
    "deflate": zlib.compress(BODY),
    "deflate-raw": _raw_deflate(BODY),
}


async def _read(encoding: str, limit: int, body: bytes | None = None) -> bytes:
    sent = ENCODED[encoding] if body is None else body
    header = encoding.removesuffix("-raw")

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {} if header == "identity" else {"Content-Encoding": header}
        chunks = [sent[i:i + 1000] for i in range(0, len(sent), 1000)]  # many network pieces
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(b"".join(chunks)))

    async with (httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client,
                client.stream("GET", "http://venue/x") as response):
        return await read_bounded(response, limit)


@pytest.mark.parametrize("encoding", ENCODED)
async def test_every_encoding_is_decoded_exactly(encoding: str) -> None:
    assert await _read(encoding, len(BODY)) == BODY  # a body exactly at the bound is whole


@pytest.mark.parametrize("encoding", ENCODED)
async def test_one_byte_over_the_bound_is_cut_off(encoding: str) -> None:
    with pytest.raises(BodyTooLarge) as caught:
        await _read(encoding, len(BODY) - 1)
    assert caught.value.limit == len(BODY) - 1
    assert caught.value.read <= len(BODY)


async def test_a_bomb_is_inflated_no_further_than_the_bound() -> None:
    bomb = gzip.compress(bytes(50 << 20), 9)  # 50 MB of zeros in about 50 kB
    with pytest.raises(BodyTooLarge) as caught:
        await _read("gzip", 1 << 20, bomb)
    assert caught.value.read == (1 << 20) + 1  # it stopped one byte past the bound


async def test_a_damaged_gzip_body_is_a_decoding_error() -> None:
    with pytest.raises(httpx.DecodingError):
        await _read("gzip", 1 << 20, b"\x1f\x8b not gzip at all")
