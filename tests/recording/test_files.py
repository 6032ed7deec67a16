"""Recording files: round trip, hourly rotation, seeking by the index, and damage of every kind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tradeflood.recording import RecordingCorruptError, RecordingFile, RecordingFormatError, Replayer, merged
from tradeflood.recording._format import BLOCK, FRAME, INDEX
from tradeflood.recording._writer import BlockWriter

HOUR_NS = 3600 * 1_000_000_000
T0 = 1_796_144_400 * 1_000_000_000  # 2026-12-01T17:00:00Z


def write(directory: Path, records: list[tuple[int, bytes]], per_block: int = 100) -> BlockWriter:
    writer = BlockWriter(directory, "ws", flush_every=3600)
    writer.channel(1, {"venue": "binance", "endpoint": "ws", "label": "binance ws #0", "url": "ws://x"})
    for i, (ns, data) in enumerate(records):
        writer.append(FRAME, ns, 1, data)
        if (i + 1) % per_block == 0:
            writer.flush()
            deadline = time.monotonic() + 10
            while writer.records < i + 1 and time.monotonic() < deadline:
                time.sleep(0.001)
    writer.close()
    return writer


def frames(directory: Path, start: int | None = None) -> list[tuple[int, bytes]]:
    return [(r.ns, r.data) for _, r in merged(directory, ("ws",), start) if r.kind == FRAME]


def test_records_come_back_as_written_across_hourly_files(tmp_path: Path) -> None:
    records = [(T0 + i * 20_000_000_000, b'{"e":"trade","t":%d}' % i) for i in range(400)]  # 2h13m
    writer = write(tmp_path, records)
    assert frames(tmp_path) == records
    names = sorted(p.name for p in tmp_path.glob("*.tfrec"))
    assert names == ["ws-20261201T17Z.tfrec", "ws-20261201T18Z.tfrec", "ws-20261201T19Z.tfrec"]
    assert writer.bytes_out < writer.bytes_in / 4  # repetitive JSON compresses well


def test_seeking_reads_from_the_block_that_holds_the_time(tmp_path: Path) -> None:
    records = [(T0 + i * 1_000_000, b"frame %d" % i) for i in range(1000)]
    write(tmp_path, records)
    (path,) = tmp_path.glob("ws-*.tfrec")
    blocks = RecordingFile(path).blocks()
    assert len(blocks) == 10 and len(Path(str(path) + ".idx").read_bytes()) == 10 * INDEX.size
    # Damage the first block: a seek past it never reads it.
    with open(path, "r+b") as f:
        f.seek(blocks[0][0] + BLOCK.size + 5)
        f.write(b"\xff\xff\xff\xff")
    start = T0 + 555 * 1_000_000
    assert frames(tmp_path, start) == records[555:]
    with pytest.raises(RecordingCorruptError, match="damaged block"):
        frames(tmp_path)


def test_a_damaged_block_stops_the_reading_there_and_says_where(tmp_path: Path) -> None:
    records = [(T0 + i * 1_000_000, b"frame %d" % i) for i in range(500)]
    write(tmp_path, records)
    (path,) = tmp_path.glob("ws-*.tfrec")
    third = RecordingFile(path).blocks()[2][0]
    with open(path, "r+b") as f:
        f.seek(third + BLOCK.size + 10)
        f.write(b"\x00" * 8)
    got = []
    with pytest.raises(RecordingCorruptError) as caught:
        for _, record in merged(tmp_path, ("ws",)):
            if record.kind == FRAME:
                got.append((record.ns, record.data))
    assert got == records[:200]
    assert caught.value.offset == third and caught.value.last_ns == records[199][0]
    assert f"at byte {third}" in str(caught.value)


def test_a_cut_file_keeps_every_whole_block(tmp_path: Path) -> None:
    records = [(T0 + i * 1_000_000, b"frame %d" % i) for i in range(300)]
    write(tmp_path, records)
    (path,) = tmp_path.glob("ws-*.tfrec")
    os.truncate(path, path.stat().st_size - 7)
    got = []
    with pytest.raises(RecordingCorruptError, match="truncated block"):
        for _, record in merged(tmp_path, ("ws",)):
            if record.kind == FRAME:
                got.append((record.ns, record.data))
    assert got == records[:200]


def test_foreign_and_missing_recordings_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(RecordingFormatError, match="no such recording directory"):
        Replayer(tmp_path / "nowhere")
    with pytest.raises(RecordingFormatError, match="no TradeFlood recording files"):
        Replayer(tmp_path)
    (tmp_path / "ws-20261201T17Z.tfrec").write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(RecordingFormatError, match="not a TradeFlood recording"):
        Replayer(tmp_path)
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(RecordingFormatError, match="not a TradeFlood recording"):
        Replayer(other)


CHILD = """
import sys, time
from tradeflood.recording._format import FRAME
from tradeflood.recording._writer import BlockWriter
w = BlockWriter(sys.argv[1], "ws", flush_every=0.02)
i = 0
while True:
    w.append(FRAME, {t0} + i * 1000, 1, b'{{"e":"trade","t":%d,"p":"42000.10"}}' % i)
    i += 1
    if i % 50 == 0:
        time.sleep(0.001)
"""


def test_a_recorder_killed_with_sigkill_loses_only_its_last_block(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(t0=T0), str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        index = None
        while time.monotonic() < deadline:
            found = list(tmp_path.glob("*.idx"))
            if found and found[0].stat().st_size >= 20 * INDEX.size:
                index = found[0]
                break
            time.sleep(0.01)
        assert index is not None, "the child wrote no blocks"
        written = index.stat().st_size // INDEX.size  # blocks known to be on disk before the kill
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    got = []
    try:
        for _, record in merged(tmp_path, ("ws",)):
            got.append(record)
    except RecordingCorruptError as exc:  # the kill may cut the block being written
        assert "truncated" in str(exc)
    (path,) = tmp_path.glob("ws-*.tfrec")
    assert len(RecordingFile(path).blocks()) >= written
    # Every frame up to the last whole block, in order, none missing: a prefix of what was sent.
    assert len(got) >= written
    assert [r.ns for r in got] == [T0 + i * 1000 for i in range(len(got))]
    assert got[-1].data == b'{"e":"trade","t":%d,"p":"42000.10"}' % (len(got) - 1)


def test_replay_options_are_checked_up_front(tmp_path: Path) -> None:
    import tradeflood
    from tradeflood.errors import ConfigError

    write(tmp_path, [(T0, b"frame")])
    for speed in (0, -1, "fast"):
        with pytest.raises(ConfigError, match="speed must be a positive number or 'max'"):
            tradeflood.Session(replay=tmp_path, speed=speed)
    with pytest.raises(ConfigError, match="apply to a replay"):
        tradeflood.Session(speed=10)
    with pytest.raises(ConfigError, match="either records or replays"):
        tradeflood.Session(replay=tmp_path, record=tmp_path / "out")
    with tradeflood.Session(replay=tmp_path, speed=10, start="2026-12-01T17:30Z") as s:
        assert s.clock.time() >= T0 / 1e9 + 1800
