"""Rows of histories other than candles (funding rates, open interest...), one SQLite row each.

Such a series is keyed ``(exchange, symbol, kind)`` in the same ``series``
table as candles, ``kind`` being the model's name (``FundingRate``), or that name
and a qualifier after a colon (``OpenInterest:1h``, a statistic per period;
``MarkCandle:1m``), which no interval ("1m", "1d") can be; its coverage lives in
the same ``coverage`` table.
Each row is kept as its model's JSON (exact decimals as strings) under its time.
The ``history_rows`` table is made by the first such write, which also marks
the file as schema version 2, so an older TradeFlood refuses it with a clear
error instead of misreading it; a file of candles alone stays version 1.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from ._schema import SCHEMA_VERSION, raise_version

if TYPE_CHECKING:
    from tradeflood.models import Model

__all__ = ["ROWS_VERSION", "clear_rows", "count_rows", "has_rows", "is_row_kind", "read_rows",
           "row_model_name", "write_rows"]

#: The schema version of a file that holds rows of other histories.
ROWS_VERSION = 2
assert ROWS_VERSION <= SCHEMA_VERSION

_TABLE = """CREATE TABLE IF NOT EXISTS history_rows (
    series_id INTEGER NOT NULL REFERENCES series (id),
    time INTEGER NOT NULL,
    row BLOB NOT NULL,
    PRIMARY KEY (series_id, time)
) WITHOUT ROWID"""


def is_row_kind(kind: str) -> bool:
    """True for a series of rows (a model name such as ``FundingRate``, or ``Trade``, whose rows
    live in a table of their own: :mod:`._trades`), False for an interval."""
    return kind[:1].isupper()


def row_model_name(kind: str) -> str:
    """The model name of a series of rows: the kind itself, or what comes before a ``:`` that
    qualifies it (``MarkCandle:1m``, bars of one interval)."""
    return kind.partition(":")[0]


def _has_table(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        "AND name = 'history_rows'").fetchone() is not None


def has_rows(conn: sqlite3.Connection) -> bool:
    """Whether the file holds rows of other histories at all (their table is made by the first)."""
    return _has_table(conn)


def write_rows(conn: sqlite3.Connection, sid: int, rows: Sequence[Any], time_field: str) -> int:
    """Store ``rows`` (models) under their times, inside the caller's transaction; returns rows new."""
    if not _has_table(conn):
        conn.execute(_TABLE)
        raise_version(conn, ROWS_VERSION)
    before = conn.total_changes
    # Computed fields (a bar's close_time) are not inputs: kept out, they are computed again on reading.
    conn.executemany("INSERT OR IGNORE INTO history_rows VALUES (?, ?, ?)",
                     [(sid, getattr(r, time_field), orjson.dumps(r.model_dump(
                         mode="json", exclude=set(type(r).model_computed_fields) or None)))
                      for r in rows])
    return conn.total_changes - before


def read_rows(conn: sqlite3.Connection, sid: int, start: int, end: int, model: type[Model]) -> list[Any]:
    """The stored rows of ``[start, end)`` as ``model`` instances, in time order."""
    if not _has_table(conn):
        return []
    found = conn.execute("SELECT row FROM history_rows WHERE series_id = ? AND time >= ? AND time < ? "
                         "ORDER BY time", (sid, start, end)).fetchall()
    return [model.model_validate_json(raw) for (raw,) in found]


def count_rows(conn: sqlite3.Connection, sid: int) -> int:
    """How many rows a series of rows holds."""
    if not _has_table(conn):
        return 0
    return int(conn.execute("SELECT count(*) FROM history_rows WHERE series_id = ?", (sid,)).fetchone()[0])


def clear_rows(conn: sqlite3.Connection, ids: Sequence[tuple[int]]) -> int:
    """Forget the rows of the given series; returns how many there were."""
    if not _has_table(conn):
        return 0
    removed = sum(count_rows(conn, i) for (i,) in ids)
    conn.executemany("DELETE FROM history_rows WHERE series_id = ?", ids)
    return removed
