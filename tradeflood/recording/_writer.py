"""BlockWriter: records appended from the event loop, compressed and written by a thread.

The event loop only packs each record into a buffer (no await, no compression, no
system call). A background thread swaps the buffer out every ``flush_every`` seconds
(or as soon as it passes ``block_bytes``), compresses it into one self-contained
block and writes and flushes it, so a process killed with SIGKILL loses at most the
block being gathered. Files rotate when a block starts in a new period
(``rotate_seconds``, an hour by default).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import zstandard

from ._format import (
    CHANNELS,
    FILE_HEADER,
    FILE_SUFFIX,
    INDEX,
    INDEX_SUFFIX,
    MAGIC,
    VERSION,
    RecordingError,
    block_header,
    pack_record,
)

__all__ = ["BlockWriter", "file_name"]


def file_name(kind: str, ns: int, rotate_seconds: int) -> str:
    """The file a block first received at ``ns`` goes to: ``ws-20261201T13Z.tfrec``."""
    start = (ns // 1_000_000_000) // rotate_seconds * rotate_seconds
    stamp = time.strftime("%Y%m%dT%H%M%SZ" if rotate_seconds % 3600 else "%Y%m%dT%HZ", time.gmtime(start))
    return f"{kind}-{stamp}{FILE_SUFFIX}"


class BlockWriter:
    """Writes one kind of record (``ws`` or ``rest``) into rotated, compressed files."""

    def __init__(self, directory: str | os.PathLike[str], kind: str, *, rotate_seconds: int = 3600,
                 flush_every: float = 1.0, block_bytes: int = 1 << 18, level: int = 3) -> None:
        self.directory = Path(directory)
        self.kind = kind
        self.rotate_seconds = rotate_seconds
        self.flush_every = flush_every
        self.block_bytes = block_bytes
        self._compressor = zstandard.ZstdCompressor(level=level)
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._first_ns = 0
        self._last_ns = 0
        self._count = 0
        self._block_end = 0  # the current block ends at the next rotation boundary
        self._pending: list[tuple[bytearray, int, int, int]] = []
        self._channels: dict[int, dict[str, Any]] = {}
        self._wake = threading.Event()
        self._stop = False
        self._file: Any = None
        self._index: Any = None
        self._file_name = ""
        self.blocks = 0
        self.records = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"tradeflood record {kind}", daemon=True)
        self._thread.start()

    def channel(self, number: int, meta: dict[str, Any]) -> None:
        """Declare what channel ``number`` is; every later block carries the table."""
        with self._lock:
            self._channels[number] = meta

    def append(self, kind: int, ns: int, channel: int, data: bytes) -> None:
        """Add one record (called from the event loop: cheap, never blocks on I/O)."""
        with self._lock:
            if self._count and ns >= self._block_end:  # a new file starts: so does a new block
                self._pending.append((self._buffer, self._first_ns, self._last_ns, self._count))
                self._buffer, self._count = bytearray(), 0
                self._wake.set()
            if not self._count:
                self._first_ns = ns
                period = self.rotate_seconds * 1_000_000_000
                self._block_end = (ns // period + 1) * period
            self._last_ns = ns
            self._count += 1
            pack_record(self._buffer, kind, ns, channel, data)
            full = len(self._buffer) >= self.block_bytes
        if full:
            self._wake.set()

    def close(self) -> None:
        """Write what is buffered, fsync and close the files."""
        self._stop = True
        self._wake.set()
        self._thread.join()
        if self.error is not None:
            raise RecordingError(f"recording to {self.directory} failed: {self.error}") from self.error

    # -- the writing thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(self.flush_every)
                self._wake.clear()
                stopping = self._stop
                self._write_block()
                if stopping:
                    break
        except BaseException as exc:  # reported by close(); recording stops, the session does not
            self.error = exc
        finally:
            for f in (self._file, self._index):
                if f is not None:
                    f.flush()
                    os.fsync(f.fileno())
                    f.close()

    def _write_block(self) -> None:
        with self._lock:
            blocks, self._pending = self._pending, []
            if self._count:
                blocks.append((self._buffer, self._first_ns, self._last_ns, self._count))
                self._buffer, self._count = bytearray(), 0
            channels = dict(self._channels)
        for buffer, first, last, count in blocks:
            self._write(buffer, first, last, count, channels)

    def _write(self, buffer: bytearray, first: int, last: int, count: int,
               channels: dict[int, dict[str, Any]]) -> None:
        block = bytearray()
        if channels:
            pack_record(block, CHANNELS, first, 0, orjson.dumps({str(k): v for k, v in channels.items()}))
        block += buffer
        compressed = self._compressor.compress(bytes(block))
        self._open_for(first)
        offset = self._file.tell()
        self._file.write(block_header(compressed, first, last, count) + compressed)
        self._file.flush()
        self._index.write(INDEX.pack(offset, first, last))
        self._index.flush()
        self.blocks += 1
        self.records += count
        self.bytes_in += len(buffer)
        self.bytes_out += len(compressed)

    def _open_for(self, ns: int) -> None:
        name = file_name(self.kind, ns, self.rotate_seconds)
        if name == self._file_name:
            return
        for f in (self._file, self._index):
            if f is not None:
                f.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        n = 1
        while path.exists():  # an earlier recorder's file (maybe cut short): never append to it
            n += 1
            path = self.directory / name.replace(FILE_SUFFIX, f"-{n}{FILE_SUFFIX}")
        self._file = open(path, "xb")  # noqa: SIM115 - held open across blocks
        header = orjson.dumps({"kind": self.kind, "format": VERSION, "rotate_seconds": self.rotate_seconds})
        self._file.write(FILE_HEADER.pack(MAGIC, VERSION, len(header)) + header)
        self._file.flush()
        self._index = open(str(path) + INDEX_SUFFIX, "ab")  # noqa: SIM115
        self._file_name = name
