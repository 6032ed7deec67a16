"""Re-checking a store: the value checks of :mod:`tradeflood.checks` over what is stored.

A store written by an older TradeFlood (before the checks) may hold candles no
venue could have meant (a high below the low, a negative price, an open time
off the grid), recorded as complete, so a fetch would serve them forever.
:func:`verify_store` finds them; with ``fix=True`` it removes them and forgets
that their bars are known (the coverage over each is cut), so the next fetch
asks the venue for those bars again. Series of other histories are counted
but not judged: their rows keep no rules here yet.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tradeflood.checks import candle_violations
from tradeflood.intervals import interval_end
from tradeflood.models import Candle, trusted_builder

from . import _blocks as blocks
from . import _rows as history_rows

if TYPE_CHECKING:
    from pathlib import Path

    from ._store import CandleStore

__all__ = ["BadRow", "VerifyReport", "verify_store"]

_build = trusted_builder(Candle)


@dataclass(frozen=True, slots=True)
class BadRow:
    """A stored candle that fails a check: which series and bar, the field and what is wrong."""

    exchange: str
    symbol: str
    interval: str
    open_time: int
    field: str
    detail: str

    def __str__(self) -> str:
        from tradeflood.models import ms_to_datetime

        when = ms_to_datetime(self.open_time).isoformat()
        return f"{self.exchange} {self.symbol} {self.interval} {when}: {self.field} {self.detail}"


@dataclass(slots=True)
class VerifyReport:
    """What :func:`verify_store` found: candles checked, the bad ones, and how many were removed."""

    path: Path
    checked: int = 0
    bad: list[BadRow] = field(default_factory=list)
    removed: int = 0

    def __str__(self) -> str:
        lines = [str(row) for row in self.bad]
        summary = f"{self.checked} candles checked in {self.path}: {len(self.bad)} fail the checks"
        if self.removed:
            summary += f"; {self.removed} removed, their bars to be fetched again"
        return "\n".join([*lines, summary])


def verify_store(store: CandleStore, *, fix: bool = False) -> VerifyReport:
    """Check every stored candle; with ``fix``, remove those that fail and un-complete their bars.

    Each series is checked (and fixed) in one transaction of its own.
    """
    from ._store import _transaction

    report = VerifyReport(store.path)
    with store._use() as conn:
        series = conn.execute("SELECT id, exchange, symbol, interval, native_symbol FROM series "
                              "ORDER BY exchange, symbol, interval").fetchall()
    for sid, exchange, symbol, interval, native in series:
        if history_rows.is_row_kind(interval):
            continue
        with store._use() as conn, _transaction(conn):
            rows = conn.execute("SELECT block, count, open_time, open, high, low, close, volume, "
                                "quote_volume FROM candles WHERE series_id = ? ORDER BY block",
                                (sid,)).fetchall()
            bad_times: dict[int, set[int]] = {}
            for row, (times, columns) in zip(rows, store._decoded(rows), strict=True):
                candles = [_build({"exchange": exchange, "symbol": symbol, "native_symbol": native,
                                   "interval": interval, "open_time": t, "open": o, "high": h, "low": lo,
                                   "close": c, "volume": v, "quote_volume": q, "closed": True})
                           for t, o, h, lo, c, v, q in zip(times, *columns, strict=True)]
                report.checked += len(candles)
                for found in candle_violations(candles, interval):
                    t = times[found.row]
                    report.bad.append(BadRow(exchange, symbol, interval, t, found.field, found.detail))
                    bad_times.setdefault(row[0], set()).add(t)
            if fix and bad_times:
                report.removed += _remove(store, conn, sid, interval, rows, bad_times)
    return report


def _remove(store: CandleStore, conn: sqlite3.Connection, sid: int, interval: str, rows: list[Any],
            bad_times: dict[int, set[int]]) -> int:
    """Rewrite each block without its bad candles, and cut their bars out of the coverage."""
    removed = 0
    for row in rows:
        bad = bad_times.get(row[0])
        if not bad:
            continue
        [(times, columns)] = list(store._decoded([row]))
        keep = [k for k, t in enumerate(times) if t not in bad]
        removed += len(times) - len(keep)
        if not keep:
            conn.execute("DELETE FROM candles WHERE series_id = ? AND block = ?", (sid, row[0]))
            continue
        kept_times = [times[k] for k in keep]
        encoded = [blocks.encode_column([column[k] for k in keep]) for column in columns]
        conn.execute("INSERT OR REPLACE INTO candles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (sid, row[0], kept_times[0], kept_times[-1], len(kept_times),
                      blocks.encode_times(kept_times), *encoded))
    for t in sorted(t for times in bad_times.values() for t in times):
        _uncover(conn, sid, t, interval_end(t, interval))
    return removed


def _uncover(conn: sqlite3.Connection, sid: int, start: int, end: int) -> None:
    """Forget that ``[start, end)`` is known: the coverage ranges over it keep only what is outside."""
    over = conn.execute('SELECT start, "end" FROM coverage WHERE series_id = ? AND start < ? AND "end" > ?',
                        (sid, end, start)).fetchall()
    for a, b in over:
        conn.execute("DELETE FROM coverage WHERE series_id = ? AND start = ?", (sid, a))
        for x, y in ((a, start), (end, b)):
            if x < y:
                conn.execute("INSERT INTO coverage VALUES (?, ?, ?)", (sid, x, y))
