"""Opening the store's SQLite file: recognise it, create it, or refuse it untouched."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._errors import StoreBusyError, StoreCorruptError, StoreError
from ._paths import cache_store_path

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "connect", "raise_version", "transaction", "translate_errors"]

#: ``PRAGMA application_id`` of a TradeFlood store: ASCII "TFcs" (TradeFlood candle store).
APPLICATION_ID = 0x54466373
#: The newest schema version this code reads: 1 holds candles only, 2 also rows of other
#: histories (``history_rows``, made by the first such write; see :mod:`._rows`), 3 also
#: trades (``trades``, made by the first trade written; see :mod:`._trades`).
SCHEMA_VERSION = 3
#: The version a new file starts at.
CREATED_VERSION = 1
_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    exchange TEXT NOT NULL, symbol TEXT NOT NULL, interval TEXT NOT NULL,
    native_symbol TEXT NOT NULL DEFAULT '',
    UNIQUE (exchange, symbol, interval)
);
CREATE TABLE candles (
    series_id INTEGER NOT NULL REFERENCES series (id),
    block INTEGER NOT NULL,
    first_time INTEGER NOT NULL, last_time INTEGER NOT NULL, count INTEGER NOT NULL,
    open_time BLOB NOT NULL,
    open BLOB NOT NULL, high BLOB NOT NULL, low BLOB NOT NULL, close BLOB NOT NULL,
    volume BLOB NOT NULL, quote_volume BLOB NOT NULL,
    PRIMARY KEY (series_id, block)
) WITHOUT ROWID;
CREATE TABLE coverage (
    series_id INTEGER NOT NULL REFERENCES series (id),
    start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    PRIMARY KEY (series_id, start)
) WITHOUT ROWID;
"""


@contextmanager
def translate_errors(path: Path, timeout: float) -> Iterator[None]:
    """SQLite's errors as store errors: damage -> StoreCorruptError, locks -> StoreBusyError."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or type(exc) is sqlite3.DatabaseError:
            raise StoreCorruptError(path, f"SQLite says {exc}") from exc
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc):
            raise StoreBusyError(path, timeout, str(exc)) from exc
        raise StoreError(path, f"{path}: the candle store failed: {exc}") from exc


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    """An open connection to the store at ``path``, created if missing; refuses foreign files.

    A missing folder is created only for the user's cache location; any other path
    must name an existing folder. Nothing is written to a file until it is known to be a TradeFlood store or
    an empty one (no bytes, or an SQLite database without tables).
    """
    if not path.parent.is_dir():
        if path != cache_store_path().expanduser().absolute():
            raise StoreError(path, f"cannot open the candle store {path}: folder {path.parent} does not "
                                   "exist (create it first, or check the path)")
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "rb") as f:
            head = f.read(len(_MAGIC))
    except FileNotFoundError:
        head = b""
    except OSError as exc:
        raise StoreError(path, f"{path}: cannot open the candle store: {exc}") from exc
    if head and head != _MAGIC:
        raise StoreCorruptError(path, "it is not an SQLite database")
    with translate_errors(path, timeout):
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        with translate_errors(path, timeout):
            _check_or_create(conn, path)
            _use_wal(conn, timeout)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("SELECT count(*) FROM series").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def _use_wal(conn: sqlite3.Connection, timeout: float) -> None:
    # Switching to WAL needs the file to itself and SQLite does not wait for that by itself:
    # a store being created by two processes at once gets here busy, so wait our turn.
    deadline = time.monotonic() + timeout
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _check_or_create(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN")  # one snapshot: the header and the schema as one process left them
    try:
        known = _recognised(conn, path)
    finally:
        conn.execute("COMMIT")
    if known:
        return
    # A new or empty file: create the schema, once, even if another process races us here.
    conn.execute("PRAGMA page_size=16384")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not _recognised(conn, path):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={CREATED_VERSION}")
            conn.executemany("INSERT INTO meta VALUES (?, ?)",
                             [("application", "tradeflood candle store"),
                              ("schema_version", str(CREATED_VERSION))])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _recognised(conn: sqlite3.Connection, path: Path) -> bool:
    """True for a TradeFlood store this code reads; False for an empty database; else raise."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APPLICATION_ID:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id == 0 and tables == 0:
            return False
        raise StoreCorruptError(path, f"it is an SQLite database of another application "
                                      f"(application_id {app_id:#x}, {tables} schema objects)")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row and str(row[0]).isdigit() else None
    if version is None:
        raise StoreCorruptError(path, "its schema version is missing")
    if version > SCHEMA_VERSION:
        raise StoreCorruptError(path, f"it was written by a newer TradeFlood (schema version "
                                      f"{version}; this one reads up to {SCHEMA_VERSION}); "
                                      "upgrade tradeflood to read it")
    return True


def raise_version(conn: sqlite3.Connection, version: int) -> None:
    """Mark the file as needing at least schema ``version`` (inside the caller's transaction), so
    an older TradeFlood refuses it with a clear error instead of misreading it; never lowers it."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and str(row[0]).isdigit() and int(row[0]) >= version:
        return
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    conn.execute(f"PRAGMA user_version={version}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: committed whole, or rolled back whole."""
    # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking.
    # SQLite may roll a transaction back by itself (a full disk, an I/O error): the statement's
    # own error is then the one to report, not a failing ROLLBACK or COMMIT after it.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    if not conn.in_transaction:
        raise sqlite3.OperationalError("SQLite rolled the write back by itself (is the disk full?)")
    try:
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
