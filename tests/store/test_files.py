"""Foreign, damaged and newer files: one clear error, and the file left exactly as it was."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from storedata import MINUTE, bars

from tradeflood.store import CandleStore, StoreCorruptError

KEY = ("bitget", "BTC/USDT", "1m")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(path: Path) -> StoreCorruptError:
    before = _digest(path)
    with pytest.raises(StoreCorruptError) as caught:
        CandleStore(path)
    assert _digest(path) == before, "the file was modified"
    message = str(caught.value)
    assert str(path) in message and "tradeflood store clear" in message and "TRADEFLOOD_STORE" in message
    return caught.value


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "candles.sqlite3"
    path.write_bytes(os.urandom(50_000))
    assert "not an SQLite database" in str(_refused(path))


def test_foreign_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "candles.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount TEXT)")
        db.execute("INSERT INTO invoices VALUES (1, '12.50')")
    db.close()
    assert "another application" in str(_refused(path))


def test_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "candles.sqlite3"
    CandleStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    assert "newer TradeFlood" in str(_refused(path))


def test_truncated_store(tmp_path: Path) -> None:
    path = tmp_path / "candles.sqlite3"
    with CandleStore(path) as store:
        store.write(*KEY, 0, 20_000 * MINUTE, bars(0, 20_000 * MINUTE))
    size = path.stat().st_size
    assert not Path(f"{path}-wal").exists()  # closed cleanly: everything is in the main file
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    _refused(path)


def test_damaged_block_is_reported_not_returned(tmp_path: Path) -> None:
    path = tmp_path / "candles.sqlite3"
    with CandleStore(path) as store:
        store.write(*KEY, 0, 10 * MINUTE, bars(0, 10 * MINUTE))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE candles SET close = x'49'")
    db.close()
    with CandleStore(path) as store, pytest.raises(StoreCorruptError, match="could not be decoded"):
        store.read(*KEY, 0, 10 * MINUTE)


def test_empty_files_are_adopted(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    blank = tmp_path / "blank.sqlite3"
    sqlite3.connect(blank).close()
    for path in (empty, blank):
        with CandleStore(path) as store:
            store.write(*KEY, 0, MINUTE, bars(0, MINUTE))
        with CandleStore(path) as store:
            assert len(store.read(*KEY, 0, MINUTE)) == 1


def test_a_store_is_marked_as_one(tmp_path: Path) -> None:
    path = tmp_path / "candles.sqlite3"
    CandleStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x54466373
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert dict(db.execute("SELECT key, value FROM meta"))["schema_version"] == "1"
    db.close()
