"""The on-disk format of a TradeFlood recording: a header, then self-contained blocks.

A recording directory holds one file per kind (``ws`` frames, ``rest`` replies) and
hour, named ``<kind>-YYYYMMDDTHHZ.tfrec``. A file starts with :data:`MAGIC`, a format
version and a JSON header; then come blocks, each a fixed header (its own magic, the
compressed length, a CRC-32 of the compressed bytes, the first and last receive times
in ns and the record count) followed by a zstandard frame. A block carries its own
channel table, so it can be read without any block before it; a reader that meets a
short or damaged block stops there, and everything before it stays readable.

Inside a block the records are stored by column, little-endian: the count (u32),
then every record's kind (u8), receive time in ns (i64), channel (u16) and length
(u32), then their bytes one after the other. Columns compress better than rows and
are packed and unpacked a whole block at a time.

Format 2 adds hand-over marks to the ``rest`` files: a :data:`TAKEN` record saying when
a REST reply was handed to the stream that asked for it (a book snapshot to its book),
so that a replay hands it over after the same WebSocket frames as the live session did
(the frames received while the reply was parsed were bridged into the live book).
Format 1 recordings, which have no marks, replay as before: each reply is handed over
at its receive time.

A ``REST`` record's metadata may say how the live read ended without a whole body (the
body is then empty): ``cut`` (the decoded body ran past the session's bound: limit, bytes
read, encoding) or, from format 3, ``stopped`` (``after_ns`` since it was sent: the
request's deadline passed before its last byte, and ``status`` is 0 when no headers
had come). A replay fails that request the same way at the same time. Format 2 and 1
recordings, which hold no ``stopped`` replies, replay as before; a format 2 reader
refuses format 3 files rather than hand out a stopped reply as an empty one.

From format 4 it may instead say ``failed``: the request failed on the way, with no reply or
only part of one (refused, reset mid-body, a protocol, TLS or name error); ``error`` lists the
``httpx`` error classes, most derived first (``["ConnectError", "NetworkError",
"TransportError", "RequestError"]``), ``message`` is the error's text and ``after_ns`` the
time since it was sent; ``status`` is 0 unless the headers had come. A replay raises the
same error at the same time. Older recordings hold no ``failed`` replies and replay as
before; a format 3 reader refuses format 4 files rather than hand out a failed request as an
empty reply. Readers refuse files of a format newer than theirs.

A ``REST`` record of a request a proxy carried also says ``route``: the proxy's name (its URL
without credentials); one sent directly has none. The field only tells, it changes nothing a
reader does, so it came without a new format: a format 4 reader that knows nothing of it reads
such a file exactly (a replay answers every route alike: see :mod:`~tradeflood.recording._replay`).
``resent: true`` marks a request a proxy's egress sent once more at once because its first try
failed on a stale connection before reaching the venue (that try is recorded as ``failed`` just
before); the session never saw that failure, so a replay drops it. A reader that knows nothing of
the mark replays the failed try as a failure the session retries: the same data, one retry more.
"""

from __future__ import annotations

import bisect
import struct
import sys
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from operator import itemgetter
from typing import NamedTuple

from tradeflood.errors import TradeFloodError

__all__ = [
    "BLOCK",
    "CHANNELS",
    "DOWN",
    "FILE_SUFFIX",
    "FRAME",
    "MAGIC",
    "REST",
    "TAKEN",
    "UP",
    "VERSION",
    "Columns",
    "Record",
    "RecordingCorruptError",
    "RecordingError",
    "RecordingFormatError",
    "block_header",
    "pack_columns",
    "unpack_block",
    "weave",
]

MAGIC = b"TFREC\x00"
VERSION = 4  # 2: TAKEN records in the rest files; 3: "stopped" replies; 4: "failed" ones (older still read)
FILE_SUFFIX = ".tfrec"
INDEX_SUFFIX = ".idx"
MANIFEST = "manifest.json"  # the topics recorded, by "venue endpoint"
FILE_HEADER = struct.Struct("<6sHI")  # magic, version, JSON header length
BLOCK = struct.Struct("<4sIIqqI")  # magic, compressed length, crc32, first ns, last ns, count
BLOCK_MAGIC = b"TFBK"
COUNT = struct.Struct("<I")
INDEX = struct.Struct("<Qqq")  # block offset, first ns, last ns

CHANNELS = 0  # the block's channel table (JSON: {id: {...}})
FRAME = 1  # a WebSocket frame as the venue sent it
UP = 2  # a connection came up (JSON)
DOWN = 3  # a connection went down (JSON)
REST = 4  # a REST reply: JSON metadata (with "route" if a proxy carried it), a newline, the body
#          (empty if "cut", "stopped" or "failed")
TAKEN = 5  # (rest files, format 2) replies handed to a stream at this time: JSON {"replies": [...]}


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


class Record(NamedTuple):
    """One recorded item: what it is, when it was received (ns), on which channel, its bytes."""

    kind: int
    ns: int
    channel: int
    data: bytes


@dataclass
class Columns:
    """Records by column, as a writer gathers and packs them: kinds, receive times (ns),
    channels, lengths, and the bytes one after the other."""

    kinds: bytearray = field(default_factory=bytearray)
    times: array[int] = field(default_factory=lambda: array("q"))
    channels: array[int] = field(default_factory=lambda: array("H"))
    lengths: array[int] = field(default_factory=lambda: array("I"))
    data: bytearray = field(default_factory=bytearray)

    def __len__(self) -> int:
        return len(self.times)

    def add(self, kind: int, ns: int, channel: int, data: bytes) -> None:
        """Append one record."""
        self.kinds.append(kind)
        self.times.append(ns)
        self.channels.append(channel)
        self.lengths.append(len(data))
        self.data += data

    def extend(self, other: Columns, start: int = 0, end: int | None = None) -> None:
        """Append records ``start:end`` of ``other`` (C-level copies, no step per record)."""
        end = len(other) if end is None else end
        if end <= start:
            return
        first = sum(other.lengths[:start])
        last = first + sum(other.lengths[start:end])
        self.kinds += other.kinds[start:end]
        self.times += other.times[start:end]
        self.channels += other.channels[start:end]
        self.lengths += other.lengths[start:end]
        self.data += other.data[first:last]


def weave(frames: Columns, events: Sequence[tuple[int, int, int, bytes]]) -> Columns:
    """``frames`` (in time order) with ``events`` put in their places by receive time."""
    if not events:
        return frames
    out = Columns()
    done = 0
    for event in sorted(events, key=itemgetter(1)):
        cut = bisect.bisect_right(frames.times, event[1], lo=done)
        out.extend(frames, done, cut)
        out.add(*event)
        done = cut
    out.extend(frames, done)
    return out


def pack_columns(records: Columns) -> bytes:
    """A block's uncompressed bytes."""
    columns = [records.times, records.channels, records.lengths]
    if sys.byteorder == "big":
        columns = [array(c.typecode, c) for c in columns]
        for column in columns:
            column.byteswap()
    return b"".join([COUNT.pack(len(records)), records.kinds, *(c.tobytes() for c in columns),
                     records.data])


def block_header(compressed: bytes, first_ns: int, last_ns: int, count: int) -> bytes:
    """The fixed header written before a block's compressed bytes."""
    return BLOCK.pack(BLOCK_MAGIC, len(compressed), zlib.crc32(compressed), first_ns, last_ns, count)


def unpack_block(payload: bytes, *, plain: bool = False) -> list[Record]:
    """The records of one decompressed block (as plain tuples if ``plain``: a replay's fast
    path); raises ValueError if the payload is inconsistent."""
    if len(payload) < COUNT.size:
        raise ValueError("a block too short for its record count")
    (n,) = COUNT.unpack_from(payload)
    pos = COUNT.size
    kinds = payload[pos:pos + n]
    pos += n
    columns = []
    for code, size in (("q", 8), ("H", 2), ("I", 4)):
        column = array(code)
        column.frombytes(payload[pos:pos + n * size])
        if len(column) != n:
            raise ValueError("a block shorter than its columns")
        if sys.byteorder == "big":
            column.byteswap()
        columns.append(column)
        pos += n * size
    if len(kinds) != n or pos + sum(columns[2]) != len(payload):
        raise ValueError("a block whose lengths do not add up")
    datas = [payload[a:b] for a, b in pairwise(accumulate(columns[2], initial=pos))]
    rows = zip(kinds, columns[0], columns[1], datas, strict=True)
    return list(rows) if plain else list(map(Record._make, rows))  # type: ignore[arg-type]
