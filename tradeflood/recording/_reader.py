"""Reading a recording: its files in time order, each file's blocks, seeking by time.

A file's ``.idx`` sidecar lists each block's offset and time span, so a reader
seeking to a time starts at the right block without reading the file from its
start; without the sidecar (or past its end, after a crash) the fixed block headers
are scanned instead, which skips the compressed bytes without reading them.
"""

from __future__ import annotations

import heapq
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import zstandard

from ._format import (
    BLOCK,
    BLOCK_MAGIC,
    CHANNELS,
    FILE_HEADER,
    FILE_SUFFIX,
    INDEX,
    INDEX_SUFFIX,
    MAGIC,
    VERSION,
    Record,
    RecordingCorruptError,
    RecordingFormatError,
    unpack_block,
)

__all__ = ["RecordingFile", "block_records", "merged", "open_directory"]


class RecordingFile:
    """One recording file: its header checked on open, its blocks read in order."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as f:
            head = f.read(FILE_HEADER.size)
            if len(head) < FILE_HEADER.size or head[:len(MAGIC)] != MAGIC:
                raise RecordingFormatError(f"{self.path} is not a TradeFlood recording (no TFREC header)")
            _, version, length = FILE_HEADER.unpack(head)
            if version > VERSION:
                raise RecordingFormatError(f"{self.path}: recording format {version} is newer than this "
                                           f"TradeFlood reads ({VERSION}); upgrade tradeflood")
            try:
                self.header = orjson.loads(f.read(length))
            except orjson.JSONDecodeError as exc:
                raise RecordingFormatError(f"{self.path}: unreadable recording header ({exc})") from None
            self.data_start = FILE_HEADER.size + length
            first = f.read(BLOCK.size)
        self.kind: str = self.header.get("kind", "")
        self.first_ns = BLOCK.unpack(first)[3] if len(first) == BLOCK.size else None

    def blocks(self, start_ns: int | None = None) -> list[tuple[int, int, int]]:
        """``(offset, first_ns, last_ns)`` of the blocks, from the index (scanning past its end)."""
        out: list[tuple[int, int, int]] = []
        size = self.path.stat().st_size
        index = Path(str(self.path) + INDEX_SUFFIX)
        if index.exists():
            raw = index.read_bytes()
            for i in range(len(raw) // INDEX.size):
                offset, first, last = INDEX.unpack_from(raw, i * INDEX.size)
                if offset + BLOCK.size > size:
                    break
                out.append((offset, first, last))
        with open(self.path, "rb") as f:  # blocks written after the last index entry reached disk
            pos = self.data_start
            if out:
                f.seek(out[-1][0])
                head = f.read(BLOCK.size)
                pos = out[-1][0] + BLOCK.size + (BLOCK.unpack(head)[1] if len(head) == BLOCK.size else 0)
            while pos + BLOCK.size <= size:
                f.seek(pos)
                magic, length, _, first, last, _ = BLOCK.unpack(f.read(BLOCK.size))
                if magic != BLOCK_MAGIC:
                    break
                out.append((pos, first, last))
                pos += BLOCK.size + length
        if start_ns is not None:
            out = [b for b in out if b[2] >= start_ns]
        return out

    def records(self, start_ns: int | None = None) -> Iterator[Record]:
        """The file's records from ``start_ns`` (and every block's channel table); a damaged or
        cut block ends the iteration with :class:`RecordingCorruptError` naming where."""
        for block in self.block_records(start_ns):
            yield from block

    def block_records(self, start_ns: int | None = None, *, plain: bool = False) -> Iterator[list[Record]]:
        """:meth:`records` a block at a time (what a replay reads: no generator step per record;
        ``plain`` tuples rather than :class:`Record`)."""
        decompressor = zstandard.ZstdDecompressor()
        blocks = self.blocks(start_ns)
        pos = blocks[0][0] if blocks else self.data_start
        last_ns: int | None = None
        size = self.path.stat().st_size
        with open(self.path, "rb") as f:
            f.seek(pos)
            while pos < size:
                head = f.read(BLOCK.size)
                if len(head) < BLOCK.size:
                    raise RecordingCorruptError(str(self.path), pos, "truncated block header", last_ns)
                magic, length, crc, _, _, _ = BLOCK.unpack(head)
                if magic != BLOCK_MAGIC:
                    raise RecordingCorruptError(str(self.path), pos, "not a block", last_ns)
                compressed = f.read(length)
                if len(compressed) < length:
                    raise RecordingCorruptError(str(self.path), pos, "truncated block", last_ns)
                try:
                    if zlib.crc32(compressed) != crc:
                        raise ValueError("checksum mismatch")
                    records = unpack_block(decompressor.decompress(compressed), plain=plain)
                except (ValueError, zstandard.ZstdError) as exc:
                    detail = f"damaged block ({exc})"
                    raise RecordingCorruptError(str(self.path), pos, detail, last_ns) from None
                if start_ns is not None and records and records[0][1] < start_ns:
                    records = [r for r in records if r[1] >= start_ns or r[0] == CHANNELS]
                if records:
                    yield records
                    last_ns = records[-1][1]
                pos += BLOCK.size + length


def open_directory(directory: str | os.PathLike[str], kind: str) -> list[RecordingFile]:
    """The files of ``kind`` in a recording directory, oldest first."""
    path = Path(directory)
    if not path.exists():
        raise RecordingFormatError(f"{path}: no such recording directory")
    if not path.is_dir():
        RecordingFile(path)  # a single file: say whether it is a recording at all
        raise RecordingFormatError(f"{path}: give the recording's directory, not one of its files")
    files = [RecordingFile(p) for p in sorted(path.glob(f"{kind}-*{FILE_SUFFIX}"))]
    return sorted((f for f in files if f.first_ns is not None), key=lambda f: f.first_ns or 0)


def block_records(directory: str | os.PathLike[str], kind: str, start_ns: int | None = None, *,
                  plain: bool = False) -> Iterator[list[Record]]:
    """The records of one kind, a block at a time, oldest first."""
    for f in open_directory(directory, kind):
        yield from f.block_records(start_ns, plain=plain)


def merged(directory: str | os.PathLike[str], kinds: tuple[str, ...],
           start_ns: int | None = None) -> Iterator[tuple[str, Record]]:
    """Every record of ``kinds`` in receive-time order (files of one kind are consecutive)."""
    def one(kind: str) -> Iterator[tuple[int, int, str, Record]]:
        n = 0
        for f in open_directory(directory, kind):
            for record in f.records(start_ns):
                n += 1
                yield record.ns, n, kind, record

    for _, _, kind, record in heapq.merge(*(one(k) for k in kinds)):
        yield kind, record
