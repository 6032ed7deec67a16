"""A venue that drips, bombs or sends giants: the request and fetch deadlines and the size
bound stop it, with typed errors, bounded memory, and the other queries' results kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tradeflood import FetchError, Query, RetryPolicy, Session
from tradeflood.errors import FetchDeadlineError, ReplyTooLargeError, RequestTimeoutError
from tradeflood.models import Candle
from tradeflood.testing import BinanceVenue, BitgetVenue

from .hostile import HostileVenue, gzip_bomb

pytestmark = pytest.mark.integration

VENUES = {"bitget": (BitgetVenue, "BTCUSDT"), "binance": (BinanceVenue, "BTCUSDT")}
FEW_TRIES = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)


def _hostile(venue: str, **kw: object) -> HostileVenue:
    cls, native = VENUES[venue]
    return HostileVenue(cls(), native, **kw)


def _session(venue: str, hostile: HostileVenue, **kw: object) -> Session:
    return Session(urls={venue: {"rest": hostile.url}}, store=False, **kw)  # type: ignore[arg-type]


def _candles(s: Session, venue: str, symbol: str = "BTC/USDT") -> Query:
    return s.query(Candle, exchange=venue, symbol=symbol, interval="1h", start="-2d", end="-1d")


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@contextmanager
def _peak_rss() -> Iterator[list[int]]:
    """Samples this process's RSS every few ms; yields [baseline, peak] (peak filled at the end)."""
    out = [_rss(), 0]
    peak = out[0]
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss())
            stop.wait(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        out[1] = max(peak, _rss())


@pytest.mark.parametrize("venue", VENUES)
async def test_a_dripping_body_stops_at_the_request_deadline_and_is_retried(venue: str) -> None:
    async with (_hostile(venue, mode="drip", drip_every=0.2) as hostile,
                _session(venue, hostile, timeout=10, request_deadline=1.0, retry=FEW_TRIES) as s):
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            await s.agather(_candles(s, venue))
        took = time.monotonic() - started
    assert isinstance(caught.value.cause, RequestTimeoutError)
    assert "request deadline of 1 s" in str(caught.value.cause)
    assert hostile.hostile_requests == 2  # the deadline counts as a venue fault: retried, within tries
    assert took < 30  # two tries of 1 s each (the drip alone would run 200 s a try)


@pytest.mark.parametrize("venue", VENUES)
async def test_a_fetch_deadline_keeps_what_the_other_queries_gathered(venue: str) -> None:
    async with (_hostile(venue, mode="drip", drip_every=0.5) as hostile,
                _session(venue, hostile, deadline=2.0) as s):  # default tries and request deadline
        good, bad = _candles(s, venue, "ETH/USDT"), _candles(s, venue)
        started = time.monotonic()
        with pytest.raises(FetchDeadlineError) as caught:
            await s.agather(good, bad)
        took = time.monotonic() - started
        honest = await s.afetch(Candle, exchange=venue, symbol="ETH/USDT", interval="1h",
                                start="-2d", end="-1d")
    error = caught.value
    assert isinstance(error, FetchError) and error.deadline == 2.0
    assert "deadline of 2 s" in str(error)
    assert took < 20
    assert list(error.partial[0]) == list(honest) and len(honest) == 24  # the good query is whole
    assert list(error.partial[1]) == []


async def test_a_fetch_deadline_on_one_call() -> None:
    async with (_hostile("bitget", mode="drip", drip_every=0.5) as hostile,
                _session("bitget", hostile) as s):
        with pytest.raises(FetchDeadlineError):
            await s.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h",
                           start="-2d", end="-1d", deadline=1.0)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    packed: bytes = gzip_bomb(1 << 30)  # 1 GiB of zeros in about 1 MB
    return packed


@pytest.mark.parametrize("venue", VENUES)
async def test_a_gzip_bomb_stops_at_the_bound_and_is_not_retried(venue: str, bomb: bytes) -> None:
    assert len(bomb) < 2 << 20
    async with (_hostile(venue, mode="bomb", bomb=bomb) as hostile,
                _session(venue, hostile, max_reply_bytes=8 << 20) as s):
        with _peak_rss() as rss, pytest.raises(FetchError) as caught:
            await s.agather(_candles(s, venue))
    cause = caught.value.cause
    assert isinstance(cause, ReplyTooLargeError)
    assert cause.venue == venue and ("candles" in cause.endpoint or "klines" in cause.endpoint)
    assert "gzip" in str(cause) and "8,388,608 bytes" in str(cause)
    assert hostile.hostile_requests == 1  # final: not retried six times
    assert rss[1] - rss[0] < 100 << 20  # the issue saw 7.26 GB


@pytest.mark.slow
@pytest.mark.parametrize("venue", VENUES)
async def test_a_200_mb_reply_stops_at_the_default_bound_with_memory_bounded(venue: str) -> None:
    async with (_hostile(venue, mode="giant", giant=200 << 20) as hostile,
                _session(venue, hostile) as s):  # the default bound: 64 MiB
        with _peak_rss() as rss, pytest.raises(FetchError) as caught:
            await s.agather(_candles(s, venue))
    assert isinstance(caught.value.cause, ReplyTooLargeError)
    assert "67,108,864 bytes" in str(caught.value.cause)
    assert hostile.hostile_requests == 1
    assert rss[1] - rss[0] < 160 << 20  # the bound and some slack; the issue saw 462 MB


@pytest.mark.parametrize("venue", VENUES)
async def test_an_honest_venue_through_the_bounded_reader(venue: str) -> None:
    async with (_hostile(venue) as hostile,
                _session(venue, hostile) as s):
        candles = await s.afetch(Candle, exchange=venue, symbol="BTC/USDT", interval="1h",
                                 start="-2d", end="-1d")
    assert len(candles) == 24
