"""Trades of trade histories, one SQLite row each, in the ``trades`` table.

A series of trades is keyed ``(exchange, symbol, "Trade")`` in the ``series``
table (its native symbol kept there once); its coverage lives in the
``coverage`` table like every other series': the time ranges whose trades are
all stored. A trade keeps its time, id, price and amount (exact decimal text,
read back with the digits and exponent it was written with) and its side. Rows
are ordered by (time, id) on disk, so a window is one range read; a second
index keeps each id once per series. The table is made by the first trade
written, which also marks the file as schema version 3, so an older TradeFlood
refuses it with a clear error instead of misreading it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation

from tradeflood.models import Trade, trusted_builder

from ._schema import SCHEMA_VERSION, raise_version

__all__ = ["TRADES_VERSION", "TRADE_KIND", "clear_trades", "count_trades", "has_trades",
           "read_trades", "stored_trades", "write_trades"]

#: The schema version of a file that holds trades.
TRADES_VERSION = 3
assert TRADES_VERSION <= SCHEMA_VERSION
#: The kind of a series of trades in the ``series`` table.
TRADE_KIND = "Trade"

_TABLE = """CREATE TABLE IF NOT EXISTS trades (
    series_id INTEGER NOT NULL REFERENCES series (id),
    time INTEGER NOT NULL,
    id TEXT NOT NULL,
    price TEXT NOT NULL, amount TEXT NOT NULL,
    buy INTEGER NOT NULL,
    PRIMARY KEY (series_id, time, id)
) WITHOUT ROWID"""
_IDS = "CREATE UNIQUE INDEX IF NOT EXISTS trade_ids ON trades (series_id, id)"
_build = trusted_builder(Trade)


def has_trades(conn: sqlite3.Connection) -> bool:
    """Whether the file holds trades at all (their table is made by the first)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        "AND name = 'trades'").fetchone() is not None


def write_trades(conn: sqlite3.Connection, sid: int, trades: Sequence[Trade]) -> int:
    """Store ``trades`` inside the caller's transaction; returns how many were new (a trade
    whose id the series holds already is left as it is)."""
    if not has_trades(conn):
        conn.execute(_TABLE)
        conn.execute(_IDS)
        raise_version(conn, TRADES_VERSION)
    before = conn.total_changes
    conn.executemany("INSERT OR IGNORE INTO trades VALUES (?, ?, ?, ?, ?, ?)",
                     [(sid, t.timestamp, t.id, str(t.price), str(t.amount), t.side == "buy") for t in trades])
    return conn.total_changes - before


def read_trades(conn: sqlite3.Connection, sid: int, start: int, end: int, *, exchange: str, symbol: str,
                native_symbol: str) -> list[Trade]:
    """The stored trades with ``start <= time < end`` as models, ordered by time, then id."""
    if not has_trades(conn):
        return []
    rows = conn.execute("SELECT time, id, price, amount, buy FROM trades WHERE series_id = ? "
                        "AND time >= ? AND time < ? ORDER BY time, id", (sid, start, end)).fetchall()
    build = _build
    return [build({"exchange": exchange, "symbol": symbol, "native_symbol": native_symbol, "id": ident,
                   "timestamp": t, "price": Decimal(price), "amount": Decimal(amount),
                   "side": "buy" if buy else "sell"}) for t, ident, price, amount, buy in rows]


def stored_trades(conn: sqlite3.Connection, sid: int, *, exchange: str, symbol: str, native_symbol: str,
                  chunk: int = 50_000) -> Iterator[tuple[list[Trade], list[tuple[int, str, str]]]]:
    """Every stored trade of a series, ``chunk`` at a time, for :func:`~._verify.verify_store`: the
    trades that read back as models, and ``(time, id, why)`` for each row that does not."""
    after: tuple[int, str] = (-(2**63), "")
    while True:
        rows = conn.execute("SELECT time, id, price, amount, buy FROM trades WHERE series_id = ? "
                            "AND (time, id) > (?, ?) ORDER BY time, id LIMIT ?",
                            (sid, *after, chunk)).fetchall()
        if not rows:
            return
        good: list[Trade] = []
        bad: list[tuple[int, str, str]] = []
        for t, ident, price, amount, buy in rows:
            try:
                values = Decimal(price), Decimal(amount)
            except (InvalidOperation, TypeError) as exc:
                bad.append((t, ident, f"cannot be read back as a Trade ({type(exc).__name__})"))
                continue
            good.append(_build({"exchange": exchange, "symbol": symbol, "native_symbol": native_symbol,
                                "id": ident, "timestamp": t, "price": values[0], "amount": values[1],
                                "side": "buy" if buy else "sell"}))
        yield good, bad
        after = (rows[-1][0], rows[-1][1])


def count_trades(conn: sqlite3.Connection, sid: int) -> int:
    """How many trades a series holds."""
    if not has_trades(conn):
        return 0
    return int(conn.execute("SELECT count(*) FROM trades WHERE series_id = ?", (sid,)).fetchone()[0])


def clear_trades(conn: sqlite3.Connection, ids: Sequence[tuple[int]]) -> int:
    """Forget the trades of the given series; returns how many there were."""
    if not has_trades(conn):
        return 0
    removed = sum(count_trades(conn, i) for (i,) in ids)
    conn.executemany("DELETE FROM trades WHERE series_id = ?", ids)
    return removed
