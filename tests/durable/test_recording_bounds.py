"""A recording session reads replies as the live one does (issue 12 scope 3): bounded once
decoded, streamed, within the request's deadline; and its replay fails the same request the
same way.

The recording transport used to read each body whole (``aread``) before the
session's bounded reader saw it: a gzip bomb or a giant reply reached memory in
full while recording, however small ``max_reply_bytes`` was.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tradeflood import FetchError, RetryPolicy, Session
from tradeflood.errors import ReplyTooLargeError, RequestTimeoutError
from tradeflood.models import Candle
from tradeflood.recording._format import FILE_HEADER, REST, VERSION, RecordingFormatError
from tradeflood.recording._reader import RecordingFile
from tradeflood.recording._writer import BlockWriter
from tradeflood.testing import BinanceVenue, Faults, Simulator

from ..recording.records import rest_metas, rest_records
from .hostile import HostileVenue, gzip_bomb
from .test_hostile_replies import _peak_rss

BOUND = 8 << 20
DEADLINE = 3.0  # a recording's request deadline: generous beside an honest page on a loaded machine


def _recording(hostile: HostileVenue, directory: Path, **kw: object) -> Session:
    return Session(urls={"binance": {"rest": hostile.url}}, store=False, record=directory,
                   **kw)  # type: ignore[arg-type]


async def _fetch(s: Session, symbol: str = "BTC/USDT") -> object:
    return await s.afetch(Candle, exchange="binance", symbol=symbol, interval="1h", start="-2d", end="-1d")


@pytest.mark.parametrize("mode", ["giant", "bomb"])
async def test_an_oversize_reply_is_cut_off_while_recording(tmp_path: Path, mode: str) -> None:
    body = {"giant": {"giant": 48 << 20}, "bomb": {"bomb": gzip_bomb(1 << 30)}}[mode]
    venue = HostileVenue(BinanceVenue(), "BTCUSDT", mode=mode, **body)  # type: ignore[arg-type]
    async with venue as hostile, _recording(hostile, tmp_path, max_reply_bytes=BOUND) as s:
        with _peak_rss() as rss, pytest.raises(FetchError) as caught:
            await _fetch(s)
        honest = await _fetch(s, "ETH/USDT")
    cause = caught.value.cause
    assert isinstance(cause, ReplyTooLargeError), cause
    assert "8,388,608 bytes" in str(cause) and (mode != "bomb" or "gzip" in str(cause))
    assert hostile.hostile_requests == 1  # a venue fault that a retry cannot mend: not retried
    assert rss[1] - rss[0] < 40 << 20  # about the bound, not the 48 MB body or the 1 GiB bomb
    assert len(honest) == 24  # type: ignore[arg-type]

    # The replay fails that request the same way, and answers the honest one as recorded.
    async with Session(replay=tmp_path, speed="max", max_reply_bytes=BOUND) as s:
        with pytest.raises(FetchError) as again:
            await _fetch(s)
        replayed = await _fetch(s, "ETH/USDT")
    assert isinstance(again.value.cause, ReplyTooLargeError)
    assert str(again.value.cause) == str(cause)
    assert replayed == honest


async def test_a_dripping_reply_stops_at_the_request_deadline_while_recording(tmp_path: Path) -> None:
    tries = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)
    async with (HostileVenue(BinanceVenue(), "BTCUSDT", mode="drip", drip_every=0.2) as hostile,
                _recording(hostile, tmp_path, request_deadline=1.0, retry=tries) as s):
        with pytest.raises(FetchError) as caught:
            await _fetch(s)
    assert isinstance(caught.value.cause, RequestTimeoutError)
    assert hostile.hostile_requests == 2


async def _three_fetches(s: Session) -> tuple[object, BaseException, float, object]:
    """An honest fetch, the dripping one (its error, and the clock when it failed), another honest."""
    before = await _fetch(s, "ETH/USDT")
    with pytest.raises(FetchError) as caught:
        await _fetch(s)
    failed_at = s.clock.time()
    after = await _fetch(s, "SOL/USDT")
    return before, caught.value.cause, failed_at, after


async def test_a_reply_stopped_at_the_request_deadline_replays_stopped(tmp_path: Path) -> None:
    """Recorded, a reply that drips past the request deadline is kept as stopped; its replay
    fails the same request with the same error at the same clock time, and the honest replies
    around it replay with equal values (it used to be missing: ReplayMissError)."""
    tries = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)
    async with (HostileVenue(BinanceVenue(), "BTCUSDT", mode="drip", drip_every=0.2) as hostile,
                _recording(hostile, tmp_path, request_deadline=DEADLINE, retry=tries) as s):
        before, cause, _, after = await _three_fetches(s)
    assert isinstance(cause, RequestTimeoutError)
    assert str(cause).endswith("no complete answer within the request deadline of 3 s")
    assert hostile.hostile_requests == 2
    metas = rest_records(tmp_path)
    stopped = [(ns, m) for ns, m in metas if "stopped" in m]
    assert len(stopped) == 2 and all("symbol=BTCUSDT" in m["path"] for _, m in stopped)
    for ns, meta in stopped:  # each try ran its 3 s deadline, no more (the drip takes 200 s)
        assert DEADLINE - 0.1 <= meta["stopped"]["after_ns"] / 1e9 < DEADLINE + 5
        assert ns - meta["sent_ns"] == pytest.approx(meta["stopped"]["after_ns"], abs=1e6)
        assert meta["status"] == 200  # the headers had come; the body dripped
    stops = sorted(ns for ns, _ in stopped)
    last = max(stopped, key=lambda s: s[0])[1]["stopped"]["after_ns"] / 1e9
    next_reply = min(ns for ns, _ in metas if ns > stops[-1])  # SOL/USDT's

    # Replayed with the same deadline: the same error, where the live one came (the replay's own
    # deadline is not applied: the recording says when each request ended).
    async with Session(replay=tmp_path, speed="max", request_deadline=DEADLINE, retry=tries) as s:
        again_before, again, failed_at, again_after = await _three_fetches(s)
    assert type(again) is type(cause) and str(again) == str(cause)
    assert stops[-1] - 1_000 <= failed_at * 1e9 <= next_reply + 1_000
    assert again_before == before and len(before) == 24  # type: ignore[arg-type]
    assert again_after == after and len(after) == 24  # type: ignore[arg-type]

    # Replayed with a longer deadline: the recording holds no more of that body, so the request
    # still stops at the recorded instants (not 30 clock seconds later), then the same retry.
    async with Session(replay=tmp_path, speed="max", request_deadline=30.0, retry=tries) as s:
        again_before, again, failed_at, again_after = await _three_fetches(s)
    assert type(again) is type(cause)
    assert str(again).endswith("no complete answer within the request deadline of 30 s")
    assert isinstance(again.__cause__, TimeoutError)
    assert f"stopped after {last:g} s while recorded, before its last byte" in str(again.__cause__)
    assert stops[-1] - 1_000 <= failed_at * 1e9 <= next_reply + 1_000
    assert again_before == before and again_after == after


async def test_a_request_stopped_before_its_headers_replays_stopped(tmp_path: Path) -> None:
    """A venue that never answers (not even headers) is stopped by the request deadline; the
    recording keeps the stop with no status, and the replay stops the same tries the same way."""
    venue = BinanceVenue(faults=Faults(timeout_seconds=None))
    venue.faults.schedule("/api/v3/klines", "timeout", count=2)  # both tries of the first fetch hang
    tries = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)

    async def fetches(s: Session) -> tuple[BaseException, object]:
        with pytest.raises(FetchError) as caught:
            await _fetch(s)
        return caught.value.cause, await _fetch(s, "SOL/USDT")

    async with Simulator({"binance": venue}, ws=False) as sim, \
            Session(urls=sim.urls(), store=False, record=tmp_path, request_deadline=DEADLINE,
                    retry=tries) as s:
        cause, after = await fetches(s)
    assert isinstance(cause, RequestTimeoutError)
    stopped = [m for m in rest_metas(tmp_path) if "stopped" in m]
    assert [(m["status"], m["headers"]) for m in stopped] == [(0, []), (0, [])]
    async with Session(replay=tmp_path, speed="max", request_deadline=DEADLINE, retry=tries) as s:
        again, again_after = await fetches(s)
    assert type(again) is type(cause) and str(again) == str(cause)
    assert again_after == after and len(after) == 24  # type: ignore[arg-type]


def test_recordings_of_older_formats_still_read(tmp_path: Path) -> None:
    """A file whose header says format 1, 2 or 3 (no stopped or failed replies) is read as before; a newer
    format than this reader knows is refused."""
    writer = BlockWriter(tmp_path, "rest")
    meta = {"venue": "binance", "api": "rest", "method": "GET", "path": "/api/v3/time", "status": 200,
            "headers": [], "sent_ns": 1_000}
    writer.append(REST, 2_000, 0, orjson.dumps(meta) + b"\n{}")
    writer.close()
    (path,) = tmp_path.glob("rest-*.tfrec")
    raw = path.read_bytes()
    magic, version, length = FILE_HEADER.unpack_from(raw)
    assert version == VERSION == 4
    for old in (1, 2, 3):
        path.write_bytes(FILE_HEADER.pack(magic, old, length) + raw[FILE_HEADER.size:])
        (record,) = RecordingFile(path).records()
        assert (record.kind, record.ns, record.data) == (REST, 2_000, orjson.dumps(meta) + b"\n{}")
    path.write_bytes(FILE_HEADER.pack(magic, VERSION + 1, length) + raw[FILE_HEADER.size:])
    with pytest.raises(RecordingFormatError, match="newer"):
        list(RecordingFile(path).records())
