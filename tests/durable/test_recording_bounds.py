"""A recording session reads replies as the live one does (issue 12 scope 3): bounded once
decoded, streamed, within the request's deadline; and its replay fails the same request the
same way.

The recording transport used to read each body whole (``aread``) before the
session's bounded reader saw it: a gzip bomb or a giant reply reached memory in
full while recording, however small ``max_reply_bytes`` was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeflood import FetchError, RetryPolicy, Session
from tradeflood.errors import ReplyTooLargeError, RequestTimeoutError
from tradeflood.models import Candle
from tradeflood.testing import BinanceVenue

from .hostile import HostileVenue, gzip_bomb
from .test_hostile_replies import _peak_rss

BOUND = 8 << 20


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
