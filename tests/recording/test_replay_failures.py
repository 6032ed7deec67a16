"""A request that failed on the way while recording (refused, dropped, reset mid-body) is
recorded as failed, and its replay fails the same try with the same error, so that the
retries and the final result replay as they happened live (it used to be missing from the
recording: ReplayMissError)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tradeflood import FetchError, RetryPolicy, Session
from tradeflood.clock import ScaledClock
from tradeflood.errors import NetworkError
from tradeflood.models import Candle, Trade
from tradeflood.recording._format import DOWN, FILE_HEADER, REST, UP, VERSION, RecordingFormatError
from tradeflood.recording._reader import RecordingFile, open_directory
from tradeflood.recording._replay import _failure
from tradeflood.recording._writer import BlockWriter
from tradeflood.streams import Backoff, Reconnected, StreamSettings
from tradeflood.testing import BinanceVenue, Faults, Simulator, SimulatorTransport

from .records import rest_metas, rest_records

pytestmark = pytest.mark.integration

TRIES = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.01)
KLINES = "/api/v3/klines"
DAY = ("2024-01-01", "2024-01-02")  # fixed, so that the replayed error names the same range


async def _fetch(s: Session, symbol: str = "BTC/USDT", start: str = "-2d", end: str = "-1d") -> Any:
    return await s.afetch(Candle, exchange="binance", symbol=symbol, interval="1h", start=start, end=end)


async def _two_fetches(s: Session) -> tuple[Any, Any, tuple[int, int, int]]:
    """The fetch whose first try fails, then another; the candles and (requests, retries, failures)."""
    first = await _fetch(s)
    second = await _fetch(s, "ETH/USDT")
    return first, second, (s.stats.requests, s.stats.retries, s.stats.failures)


@pytest.mark.parametrize(("fault", "error", "message"), [
    ("drop", "RemoteProtocolError", "Server disconnected without sending a response."),
    ("reset", "RemoteProtocolError", "peer closed connection without sending complete message body"),
])
async def test_a_try_that_failed_on_the_way_replays_failed_then_retried(
        tmp_path: Path, fault: str, error: str, message: str) -> None:
    venue = BinanceVenue()
    venue.faults.schedule(KLINES, fault, count=1)  # the first try of the first fetch fails
    async with Simulator({"binance": venue}, ws=False) as sim, \
            Session(urls=sim.urls(), store=False, record=tmp_path, retry=TRIES) as s:
        first, second, counts = await _two_fetches(s)
    assert venue.stats.faults[fault] == 1
    assert venue.stats.by_path[KLINES] == 3  # the failed try, its retry, the second fetch
    assert counts == (4, 1, 0)  # the instrument list and the three above; one retry; none given up
    assert len(first) == 24 and len(second) == 24
    assert first[0].open_time < first[-1].open_time

    klines = [(ns, m) for ns, m in rest_records(tmp_path) if m["path"].startswith(KLINES)]
    assert len(klines) == 3
    ns, failed = klines[0]
    assert "symbol=BTCUSDT" in failed["path"]
    assert (failed["headers"] == []) == (fault == "drop")
    assert failed["failed"]["error"][0] == error
    assert failed["failed"]["error"][-2:] == ["TransportError", "RequestError"]
    assert failed["failed"]["message"].startswith(message)
    assert failed["status"] == (200 if fault == "reset" else 0)  # the headers had come, or nothing
    assert ns - failed["sent_ns"] == pytest.approx(failed["failed"]["after_ns"], abs=1e6)
    assert all("failed" not in m for _, m in klines[1:])

    # Replayed: the same try fails, is retried, and the same candles come out, with the same counts.
    async with Session(replay=tmp_path, speed="max", retry=TRIES) as s:
        again_first, again_second, again_counts = await _two_fetches(s)
    assert again_counts == counts
    assert again_first == first and again_second == second


async def test_a_fetch_that_failed_for_good_replays_the_same_error(tmp_path: Path) -> None:
    """Every try refused (nothing listens on the port): the recorded fetch gives up with a
    NetworkError; its replay gives up the same way, with the same message, after as many tries."""
    with socket.socket() as probe:  # a port that was free a moment ago: connecting is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    urls = {"binance": {"rest": f"http://127.0.0.1:{port}"}}
    async with Session(urls=urls, store=False, record=tmp_path, retry=TRIES) as s:
        with pytest.raises(FetchError) as caught:
            await _fetch(s, start=DAY[0], end=DAY[1])
        counts = (s.stats.requests, s.stats.retries, s.stats.failures)
    cause = caught.value.cause
    assert type(cause) is NetworkError
    assert "connection failed: ConnectError(" in str(cause)
    assert counts == (3, 2, 1)
    metas = rest_metas(tmp_path)
    assert len(metas) == 3
    assert {m["failed"]["error"][0] for m in metas} == {"ConnectError"}
    assert all(m["status"] == 0 for m in metas)

    async with Session(replay=tmp_path, speed="max", retry=TRIES, urls=urls) as s:
        with pytest.raises(FetchError) as again:
            await _fetch(s, start=DAY[0], end=DAY[1])
        again_counts = (s.stats.requests, s.stats.retries, s.stats.failures)
    assert type(again.value.cause) is NetworkError
    assert str(again.value.cause) == str(cause)
    assert str(again.value) == str(caught.value)
    assert again_counts == counts


@pytest.mark.parametrize(("fault", "error", "message"), [
    ("reset", "RemoteProtocolError", "peer closed connection without sending complete message body"),
    ("timeout", "ReadTimeout", "simulated venue did not answer in time"),
])
async def test_an_in_process_failure_is_recorded_and_replayed(
        tmp_path: Path, fault: str, error: str, message: str) -> None:
    """The in-process simulator transport resets a body as the socket one does; a read timeout
    (an httpx timeout, not the request deadline) is a failed try too, and replays as one."""
    venue = BinanceVenue(faults=Faults(timeout_seconds=5.0))
    venue.faults.schedule(KLINES, fault, count=1)
    async with Session(transport=SimulatorTransport({"binance": venue}), store=False, record=tmp_path,
                       retry=TRIES, timeout=0.5) as s:
        first, second, counts = await _two_fetches(s)
    assert counts == (4, 1, 0) and len(first) == 24
    (failed,) = [m["failed"] for m in rest_metas(tmp_path) if "failed" in m]
    assert failed["error"][0] == error
    assert failed["message"].startswith(message)
    if fault == "timeout":  # the read timeout passed on the venue's (live) clock
        assert failed["error"][:2] == ["ReadTimeout", "TimeoutException"]
        assert 0.5 <= failed["after_ns"] / 1e9 < 5.0
    async with Session(replay=tmp_path, speed="max", retry=TRIES, timeout=0.5) as s:
        assert await _two_fetches(s) == (first, second, counts)


def test_a_failed_record_names_an_error_this_httpx_may_not_have() -> None:
    """Replayed, a failure is the first recorded class ``httpx`` has; a foreign or malformed
    record still fails the request as a transport error (a NetworkError), never as a reply."""
    request = httpx.Request("GET", "https://example.invalid/x")
    cases: list[tuple[Any, type[Exception]]] = [
        (["ConnectError", "NetworkError", "TransportError", "RequestError"], httpx.ConnectError),
        (["SomeFutureError", "ReadError", "NetworkError"], httpx.ReadError),
        (["HTTPStatusError", "Response", "NetworkError"], httpx.NetworkError),  # not request errors
        ("ConnectError", httpx.TransportError),
        ([1, None], httpx.TransportError),
        (None, httpx.TransportError),
    ]
    for names, kind in cases:
        error = _failure({"error": names, "message": "gone"}, request)
        assert type(error) is kind and str(error) == "gone" and error.request is request


def test_format_3_recordings_still_read_and_newer_ones_are_refused(tmp_path: Path) -> None:
    writer = BlockWriter(tmp_path, "rest")
    meta = {"venue": "binance", "api": "rest", "method": "GET", "path": "/api/v3/time", "status": 0,
            "headers": [], "sent_ns": 1_000,
            "failed": {"error": ["ConnectError"], "message": "refused", "after_ns": 1_000}}
    writer.append(REST, 2_000, 0, orjson.dumps(meta) + b"\n")
    writer.close()
    (path,) = tmp_path.glob("rest-*.tfrec")
    raw = path.read_bytes()
    magic, version, length = FILE_HEADER.unpack_from(raw)
    assert version == VERSION == 4
    path.write_bytes(FILE_HEADER.pack(magic, 3, length) + raw[FILE_HEADER.size:])
    (record,) = RecordingFile(path).records()
    assert (record.kind, record.ns, record.data) == (REST, 2_000, orjson.dumps(meta) + b"\n")
    path.write_bytes(FILE_HEADER.pack(magic, VERSION + 1, length) + raw[FILE_HEADER.size:])
    with pytest.raises(RecordingFormatError, match="newer"):
        list(RecordingFile(path).records())


async def test_a_refused_then_dropped_stream_replays_its_outages(tmp_path: Path) -> None:
    """The venue refuses the stream's first handshakes, later drops it and refuses its
    reconnections: the recording keeps each outage (a down, then an up saying since when) and
    the replay yields the same trades and the same Reconnected events, outage lengths included."""
    clock = ScaledClock(1.0)
    venue = BinanceVenue(clock=clock)
    settings = StreamSettings(backoff=Backoff(first=0.2, most=0.5), stale_after=5.0, open_timeout=5.0)
    live: list[Any] = []
    async with Simulator({"binance": venue}) as sim, Session(
            urls=sim.urls(), clock=clock, store=False, stream_settings=settings, record=tmp_path) as s:
        sim.reject_next_connect("binance", count=2)  # the first two handshakes are refused
        sub = s.subscribe(Trade, live.append, events=True, exchange="binance", symbol="BTC/USDT")
        await until(lambda: sum(isinstance(i, Trade) for i in live) >= 5)
        sim.reject_next_connect("binance", count=3)
        assert sim.drop_connections("binance") == 1
        await until(lambda: sum(isinstance(i, Reconnected) for i in live) >= 2)
        mark = len(live)
        await until(lambda: sum(isinstance(i, Trade) for i in live[mark:]) >= 5)
        await sub.close()
        assert sim.streams["binance"].stats.rejected_connects == 5
    events = [(r.kind, orjson.loads(r.data)) for f in open_directory(tmp_path, "ws") for r in f.records()
              if r.kind in (UP, DOWN)]
    kinds = [k for k, _ in events]
    assert kinds[:4] == [DOWN, UP, DOWN, UP]  # refused at first, up; dropped, up again
    assert "InvalidStatus" in events[0][1]["reason"] and events[1][1]["down_since_ms"] is not None
    assert events[3][1]["down_since_ms"] == events[2][1]["now_ms"]
    reconnected = [i for i in live if isinstance(i, Reconnected)]
    assert len(reconnected) == 2  # after the refused start, after the drop
    ups = [(events[1][1], events[1][1]["down_since_ms"]), (events[3][1], events[2][1]["now_ms"])]
    assert [r.down_ms for r in reconnected] == [up["now_ms"] - since for up, since in ups]

    async with Session(replay=tmp_path, speed="max") as s:
        stream = s.stream(Trade, events=True, exchange="binance", symbol="BTC/USDT")
        again = await asyncio.wait_for(_drain(stream), 60)
    assert again[:len(live)] == live
    assert len(again) <= len(live) + 50


async def _drain(stream: Any) -> list[Any]:
    return [item async for item in stream]


async def until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    async def run() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(run(), timeout)
