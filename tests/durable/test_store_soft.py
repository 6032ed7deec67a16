"""A store that cannot be opened or written is a warning naming SQLite's error; fetches go on."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tradeflood import Session, VirtualClock
from tradeflood.models import Candle
from tradeflood.store import CandleStore, StoreBusyError
from tradeflood.testing import BinanceVenue, BitgetVenue, SimulatorTransport

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
VENUES = {"bitget": BitgetVenue, "binance": BinanceVenue}


def _session(venue: str, store: Any) -> tuple[Session, Any]:
    clock = VirtualClock(start=NOW / 1000)
    sim = VENUES[venue](clock=clock)
    return Session(transport=SimulatorTransport({venue: sim}), clock=clock, store=store), sim


async def _fetch(s: Session, venue: str) -> list[Candle]:
    return list(await s.afetch(Candle, exchange=venue, symbol="BTC/USDT", interval="1m",
                               start=NOW - 3 * DAY, end=NOW - DAY))


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("problem", ["missing folder", "foreign file"])
async def test_a_store_that_cannot_be_opened_is_a_warning(venue: str, problem: str, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "no" / "candles.sqlite3"
    if problem == "foreign file":
        path = tmp_path / "candles.sqlite3"
        path.write_bytes(b"my notes, not a database\n" * 10)
    s, _ = _session(venue, path)
    async with s:
        with caplog.at_level(logging.WARNING, logger="tradeflood"):
            candles = await _fetch(s, venue)
        assert s.store is None
    assert len(candles) == 2 * 1440
    [record] = [r for r in caplog.records if "candle store" in r.getMessage()]
    assert record.levelno == logging.WARNING
    expected = "does not exist" if problem == "missing folder" else "not an SQLite database"
    assert expected in record.getMessage() and str(path) in record.getMessage()
    if problem == "foreign file":
        assert path.read_bytes() == b"my notes, not a database\n" * 10  # left untouched


@pytest.mark.parametrize("venue", VENUES)
async def test_a_full_disk_names_the_sqlite_error_and_the_fetch_goes_on(
        venue: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = CandleStore(tmp_path / "candles.sqlite3")
    assert store._conn is not None
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # a disk with two pages left
    s, _ = _session(venue, store)
    with store:
        async with s:
            with caplog.at_level(logging.WARNING, logger="tradeflood"):
                candles = await _fetch(s, venue)
    assert len(candles) == 2 * 1440
    assert [c.open_time for c in candles] == list(range(NOW - 3 * DAY, NOW - DAY, 60_000))
    messages = [r.getMessage() for r in caplog.records if "store" in r.getMessage()]
    assert messages and all("database or disk is full" in m for m in messages), messages
    assert not any("no transaction is active" in m for m in messages)
    assert len(messages) == 1  # once per query, not once per page


class _LockedStore:
    """A store another process keeps locked: every call fails as SQLite would say."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _busy(self, *args: Any, **kw: Any) -> Any:
        raise StoreBusyError(self.path, 30, "database is locked")

    missing = read = write = _busy


@pytest.mark.parametrize("venue", VENUES)
async def test_a_store_that_cannot_be_read_is_a_warning(venue: str, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    s, sim = _session(venue, _LockedStore(tmp_path / "c.sqlite3"))
    async with s:
        with caplog.at_level(logging.WARNING, logger="tradeflood"):
            candles = await _fetch(s, venue)
    assert len(candles) == 2 * 1440 and sim.stats.requests > 0
    [message] = [r.getMessage() for r in caplog.records if "store" in r.getMessage()]
    assert "could not read" in message and "database is locked" in message
