"""The on-disk format of a TradeFlood recording: a header, then self-contained blocks.

A recording directory holds one file per kind (``ws`` frames, ``rest`` replies) and
hour, named ``<kind>-YYYYMMDDTHHZ.tfrec``. A file starts with :data:`MAGIC`, a format
version and a JSON header; then come blocks, each a fixed header (its own magic, the
compressed length, a CRC-32 of the compressed bytes, the first and last receive times
in ns and the record count) followed by a zstandard frame. A block carries its own
channel table, so it can be read without any block before it; a reader that meets a
short or damaged block stops there, and everything before it stays readable.

Inside a block, each record is ``kind (u8) | receive ns (i64) | channel (u16) |
length (u32) | data``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from tradeflood.errors import TradeFloodError

__all__ = [
    "BLOCK", "CHANNELS", "DOWN", "FILE_SUFFIX", "FRAME", "MAGIC", "RECORD", "REST", "UP", "VERSION",
    "Record", "RecordingCorruptError", "RecordingError", "RecordingFormatError", "block_header",
    "pack_record",
]

MAGIC = b"TFREC\x00"
VERSION = 1
FILE_SUFFIX = ".tfrec"
INDEX_SUFFIX = ".idx"
FILE_HEADER = struct.Struct("<6sHI")  # magic, version, JSON header length
BLOCK = struct.Struct("<4sIIqqI")  # magic, compressed length, crc32, first ns, last ns, count
BLOCK_MAGIC = b"TFBK"
RECORD = struct.Struct("<BqHI")  # kind, ns, channel, length
INDEX = struct.Struct("<Qqq")  # block offset, first ns, last ns

CHANNELS = 0  # the block's channel table (JSON: {id: {...}})
FRAME = 1  # a WebSocket frame as the venue sent it
UP = 2  # a connection came up (JSON)
DOWN = 3  # a connection went down (JSON)
REST = 4  # a REST reply: JSON metadata, a newline, the body


class RecordingError(TradeFloodError):
    """Something is wrong with a recording (missing, foreign, damaged) or its use."""


class RecordingFormatError(RecordingError):
    """A path that is not a TradeFlood recording (a foreign file or an empty directory)."""


class RecordingCorruptError(RecordingError):
    """A recording file damaged past some point: everything before ``offset`` was read."""

    def __init__(self, path: str, offset: int, detail: str, last_ns: int | None) -> None:
        where = "before its first frame" if last_ns is None else f"after the frame received at ns {last_ns}"
        super().__init__(f"{path}: {detail} at byte {offset}; replay stopped there ({where})")
        self.path = path
        self.offset = offset
        self.last_ns = last_ns


@dataclass(frozen=True, slots=True)
class Record:
    """One recorded item: what it is, when it was received (ns), on which channel, its bytes."""

    kind: int
    ns: int
    channel: int
    data: bytes


def pack_record(out: bytearray, kind: int, ns: int, channel: int, data: bytes) -> None:
    """Append one record to a block's uncompressed buffer."""
    out += RECORD.pack(kind, ns, channel, len(data))
    out += data


def block_header(compressed: bytes, first_ns: int, last_ns: int, count: int) -> bytes:
    """The fixed header written before a block's compressed bytes."""
    return BLOCK.pack(BLOCK_MAGIC, len(compressed), zlib.crc32(compressed), first_ns, last_ns, count)


def unpack_records(payload: bytes) -> list[Record]:
    """The records of one decompressed block; raises ValueError if the payload is inconsistent."""
    out = []
    pos, end, size = 0, len(payload), RECORD.size
    unpack = RECORD.unpack_from
    while pos < end:
        if pos + size > end:
            raise ValueError("a record header runs past the end of its block")
        kind, ns, channel, length = unpack(payload, pos)
        pos += size
        if pos + length > end:
            raise ValueError("a record runs past the end of its block")
        out.append(Record(kind, ns, channel, payload[pos:pos + length]))
        pos += length
    return out
