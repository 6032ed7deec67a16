"""BlockWriter: records appended from the event loop, packed, compressed and written by a thread.

On the event loop a frame costs four C-level appends to the columns being gathered
(its bytes are copied, so nothing it came in stays alive; no lock, no Python object
per frame, no system call); the rare other records (ups, downs, REST replies) go
through a deque. A background thread takes what has gathered every ``flush_every``
seconds (sooner once ``block_records`` wait) from the columns' heads while the
loop appends at their tails, puts the other records in their places by receive
time, compresses the lot into one self-contained block, writes and flushes it, so
a process killed with SIGKILL loses at most what it had not yet taken. A block
never spans two rotation periods: files rotate exactly on the hour by default.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import zstandard

from ._format import (
    CHANNELS,
    FILE_HEADER,
    FILE_SUFFIX,
    FRAME,
    INDEX,
    INDEX_SUFFIX,
    MAGIC,
    VERSION,
    Columns,
    RecordingError,
    block_header,
    pack_columns,
    weave,
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
                 flush_every: float = 0.2, block_records: int = 50_000, level: int = 1) -> None:
        self.directory = Path(directory)
        self.kind = kind
        self.rotate_seconds = rotate_seconds
        self.flush_every = flush_every
        self.block_records = block_records
        self._compressor = zstandard.ZstdCompressor(level=level)
        self._queue: deque[tuple[int, int, int, bytes]] = deque()
        self.put = self._queue.append  # put((kind, ns, channel, data)) for records other than frames
        self.frames = Columns()  # appended to by the loop (see frame_sink), taken by the thread
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
        self._channels = {**self._channels, number: meta}

    def frame_sink(self, channel: int) -> Callable[[bytes, int], None]:
        """``sink(raw, ns)``: records a frame of ``channel`` (the hot path: C-level appends only).
        The receive times go in last: the thread takes as many records as there are times."""
        extend, length, channels, times = (self.frames.data.extend, self.frames.lengths.append,
                                           self.frames.channels.append, self.frames.times.append)

        def sink(raw: bytes, ns: int) -> None:
            extend(raw)
            length(len(raw))
            channels(channel)
            times(ns)

        return sink

    def append(self, kind: int, ns: int, channel: int, data: bytes) -> None:
        """Add one record (from the event loop: cheap, never blocks on I/O)."""
        self.put((kind, ns, channel, data))

    def flush(self) -> None:
        """Ask the thread to write what has gathered now."""
        self._wake.set()

    def close(self) -> None:
        """Write what is gathered, fsync and close the files."""
        self._stop = True
        self._wake.set()
        self._thread.join()
        if self.error is not None:
            raise RecordingError(f"recording to {self.directory} failed: {self.error}") from self.error

    # -- the writing thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            last = time.monotonic()
            while True:
                woken = self._wake.wait(min(0.05, self.flush_every))
                self._wake.clear()
                stopping = self._stop
                if (woken or stopping or len(self.frames) >= self.block_records
                        or time.monotonic() - last >= self.flush_every):
                    self._write_gathered()
                    last = time.monotonic()
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

    def _take_frames(self) -> Columns:
        """The frames gathered so far, taken from the heads of the columns (the loop only ever
        appends at their tails, each append one step under the GIL)."""
        source = self.frames
        n = len(source.times)
        taken = Columns(bytearray([FRAME]) * n, source.times[:n], source.channels[:n],
                        source.lengths[:n])
        size = sum(taken.lengths)
        taken.data = source.data[:size]
        del source.times[:n], source.channels[:n], source.lengths[:n], source.data[:size]
        return taken

    def _write_gathered(self) -> None:
        frames = self._take_frames()
        take = self._queue.popleft
        records = weave(frames, [take() for _ in range(len(self._queue))])
        period = self.rotate_seconds * 1_000_000_000
        while len(records):
            end = (records.times[0] // period + 1) * period  # the next file starts there
            cut = min(len(records), self.block_records,
                      bisect.bisect_left(records.times, end) or len(records))
            if cut == len(records):
                self._write(records)
                break
            head = Columns()
            head.extend(records, 0, cut)
            rest = Columns()
            rest.extend(records, cut)
            self._write(head)
            records = rest

    def _write(self, records: Columns) -> None:
        first, last, count = records.times[0], records.times[-1], len(records)
        if self._channels:
            table = orjson.dumps({str(k): v for k, v in self._channels.items()})
            records = weave(records, [(CHANNELS, first, 0, table)])
        block = pack_columns(records)
        compressed = self._compressor.compress(block)
        self._open_for(first)
        offset = self._file.tell()
        self._file.write(block_header(compressed, first, last, len(records)) + compressed)
        self._file.flush()
        self._index.write(INDEX.pack(offset, first, last))
        self._index.flush()
        self.blocks += 1
        self.records += count
        self.bytes_in += len(block)
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
