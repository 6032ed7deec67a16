"""Re-checking a store: the value checks of :mod:`tradeflood.checks` over what is stored.

A store written by an older TradeFlood (before the checks) may hold rows no
venue could have meant (a candle's high below its low, a negative price, an
open time off the grid, a funding rate of 500%, a negative open interest),
recorded as complete, so a fetch would serve them forever. :func:`verify_store`
finds them in every series, candles and the rows of other histories (funding
rates, open interest, mark and index bars, trades) alike; with ``fix=True`` it removes
them and forgets that their times are known (the coverage over each is cut), so
the next fetch asks the venue for them again. A stored row that cannot even be
read back as its model is reported (field ``row``) and removed the same way.
A series of a kind this TradeFlood has no model for is left alone.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import tradeflood.models
from tradeflood.checks import candle_violations, trade_violations, violations
from tradeflood.intervals import interval_end
from tradeflood.models import Candle, Model, trusted_builder

from . import _blocks as blocks
from . import _rows as history_rows
from . import _trades as trade_rows
from ._schema import transaction

if TYPE_CHECKING:
    from pathlib import Path

    from ._store import CandleStore

__all__ = ["BadRow", "VerifyReport", "verify_store"]

_build = trusted_builder(Candle)


@dataclass(frozen=True, slots=True)
class BadRow:
    """A stored row that fails a check: which series (``interval`` is the candle interval, or
    the kind of a series of other rows: ``FundingRate``, ``MarkCandle:1m``), its time, the
    field and what is wrong."""

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
    """What :func:`verify_store` found: rows checked (``rows`` of them not candles), the bad
    ones, and how many were removed."""

    path: Path
    checked: int = 0
    bad: list[BadRow] = field(default_factory=list)
    removed: int = 0
    rows: int = 0

    def __str__(self) -> str:
        lines = [str(row) for row in self.bad]
        what = (f"{self.checked} rows ({self.checked - self.rows} candles, {self.rows} of other histories)"
                if self.rows else f"{self.checked} candles")
        summary = f"{what} checked in {self.path}: {len(self.bad)} fail the checks"
        if self.removed:
            summary += f"; {self.removed} removed, their bars to be fetched again"
        return "\n".join([*lines, summary])


def verify_store(store: CandleStore, *, fix: bool = False) -> VerifyReport:
    """Check every stored row; with ``fix``, remove those that fail and un-complete their times.

    Each series is checked (and fixed) in one transaction of its own.
    """
    report = VerifyReport(store.path)
    with store._use() as conn:
        series = conn.execute("SELECT id, exchange, symbol, interval, native_symbol FROM series "
                              "ORDER BY exchange, symbol, interval").fetchall()
    for sid, exchange, symbol, interval, native in series:
        if interval == trade_rows.TRADE_KIND:
            _verify_trades(store, report, sid, exchange, symbol, native, fix=fix)
            continue
        if history_rows.is_row_kind(interval):
            _verify_rows(store, report, sid, exchange, symbol, interval, fix=fix)
            continue
        with store._use() as conn, transaction(conn):
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


def _verify_rows(store: CandleStore, report: VerifyReport, sid: int, exchange: str, symbol: str,
                 kind: str, *, fix: bool) -> None:
    """:func:`verify_store` for one series of other rows, in one transaction: each row read back
    as its model and checked by the rules of :mod:`tradeflood.checks`."""
    name, _, qualifier = kind.partition(":")
    found = getattr(tradeflood.models, name, None)
    if not (isinstance(found, type) and issubclass(found, Model)):
        return  # a kind this version does not know: nothing to judge it by
    model: type[Model] = found
    # Bars of one interval ("MarkCandle:1m") keep to its grid; other qualifiers (open
    # interest's statistic period) say nothing of the rows' times.
    interval = qualifier if "open_time" in model.model_fields else None
    with store._use() as conn, transaction(conn):
        if not history_rows.has_rows(conn):
            return
        stored = conn.execute("SELECT time, row FROM history_rows WHERE series_id = ? ORDER BY time",
                              (sid,)).fetchall()
        report.checked += len(stored)
        report.rows += len(stored)
        bad: dict[int, tuple[str, str]] = {}
        readable: list[tuple[int, Any]] = []
        for t, raw in stored:
            try:
                readable.append((t, model.model_validate_json(raw)))
            except ValueError as exc:  # pydantic's ValidationError too
                bad[t] = ("row", f"cannot be read back as a {name}: {_first_line(exc)}")
        for found in violations([row for _, row in readable], interval):
            bad.setdefault(readable[found.row][0], (found.field, found.detail))
        for t in sorted(bad):
            report.bad.append(BadRow(exchange, symbol, kind, t, *bad[t]))
        if fix and bad:
            conn.executemany("DELETE FROM history_rows WHERE series_id = ? AND time = ?",
                             [(sid, t) for t in bad])
            report.removed += len(bad)
            for t in bad:
                _uncover(conn, sid, t, interval_end(t, interval) if interval else t + 1)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _verify_trades(store: CandleStore, report: VerifyReport, sid: int, exchange: str, symbol: str,
                   native: str, *, fix: bool) -> None:
    """:func:`verify_store` for one series of trades, in one transaction: each trade read back and
    checked (a positive price and amount; each id once, which the id index also keeps)."""
    with store._use() as conn, transaction(conn):
        if not trade_rows.has_trades(conn):
            return
        bad: list[tuple[int, str, str, str]] = []
        for trades, unreadable in trade_rows.stored_trades(conn, sid, exchange=exchange, symbol=symbol,
                                                           native_symbol=native):
            report.checked += len(trades) + len(unreadable)
            report.rows += len(trades) + len(unreadable)
            bad.extend((t, ident, "row", why) for t, ident, why in unreadable)
            for found in trade_violations(trades):
                trade = trades[found.row]
                bad.append((trade.timestamp, trade.id, found.field, f"{found.detail} (trade {trade.id})"))
        for t, _, what, detail in sorted(bad):
            report.bad.append(BadRow(exchange, symbol, trade_rows.TRADE_KIND, t, what, detail))
        if fix and bad:
            conn.executemany("DELETE FROM trades WHERE series_id = ? AND time = ? AND id = ?",
                             [(sid, t, ident) for t, ident, _, _ in bad])
            report.removed += len(bad)
            for t in sorted({t for t, *_ in bad}):
                _uncover(conn, sid, t, t + 1)  # that millisecond's trades are asked for again
