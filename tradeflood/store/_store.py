"""CandleStore: closed candles on disk, and which open-time ranges are known."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tradeflood.intervals import interval_end, interval_ms
from tradeflood.models import Candle, trusted_builder

from . import _blocks as blocks
from . import _rows as history_rows
from ._errors import StoreCorruptError
from ._histories import RowHistories
from ._ranges import Range, complement, union
from ._schema import connect, transaction, translate_errors
from ._settle import DEFAULT_SETTLE_MS, check_settle_ms, final_end

if TYPE_CHECKING:
    import pyarrow

    from tradeflood.candles import CandleSeries
    from tradeflood.models import Model
    from tradeflood.series import Series

__all__ = ["CandleStore", "SeriesInfo", "StoreInfo"]

_VALUES = ("open", "high", "low", "close", "volume", "quote_volume")
_BLOCK_COLUMNS = "block, count, open_time, " + ", ".join(_VALUES)
_build = trusted_builder(Candle)
Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One stored series: its candle (or row, or trade) count and the time ranges known to be complete;
    ``interval`` is the interval of candles, or the kind of other rows (``FundingRate``, ``Trade``)."""

    exchange: str
    symbol: str
    interval: str
    candles: int
    covered: list[Range] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What a store holds: its file, its size on disk (with the WAL) and its series."""

    path: Path
    size_bytes: int
    series: list[SeriesInfo]


class CandleStore(RowHistories):
    """Closed candles (and other histories' rows) kept in one SQLite file, with the time ranges
    known to be complete.

    ``write`` records that a window is known (its closed candles, and that the
    venue had no others there); ``missing`` says what is still to fetch. Writes
    are single transactions, so a crash loses nothing already stored, and
    processes sharing the file take turns (``timeout`` seconds at most, then
    :class:`StoreBusyError`). Open candles are never stored, nor (given the time of
    the reply) bars closed less than ``settle_ms`` ago, which a venue may still change
    (see :data:`~tradeflood.store.DEFAULT_SETTLE_MS`); trade histories are kept too
    (:meth:`write_trades`, :meth:`read_trades`), in a table of their own.

    >>> import tempfile, pathlib
    >>> with CandleStore(pathlib.Path(tempfile.mkdtemp()) / "c.sqlite3") as store:
    ...     c = Candle(exchange="example", symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
    ...                open_time=60_000, open="1", high="2", low="0.5", close="1.5", volume="3")
    ...     store.write("example", "BTC/USDT", "1m", 0, 120_000, [c])
    ...     store.missing("example", "BTC/USDT", "1m", 0, 180_000)
    1
    [(120000, 180000)]
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0,
                 settle_ms: int = DEFAULT_SETTLE_MS) -> None:
        self.path = Path(path).expanduser().absolute()
        self.timeout = timeout
        #: How long after its end a bar, or a window of trades, is taken as final (ms).
        self.settle_ms = check_settle_ms(settle_ms)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = connect(self.path, timeout)
        self._series: dict[tuple[str, str, str], int] = {}

    # -- reading ---------------------------------------------------------------------

    def covered(self, exchange: str, symbol: str, interval: str, start: int, end: int) -> bool:
        """True when every open time in ``[start, end)`` is known (stored, or known not to exist)."""
        return not self.missing(exchange, symbol, interval, start, end)

    def missing(self, exchange: str, symbol: str, interval: str, start: int, end: int) -> list[Range]:
        """The sub-ranges of ``[start, end)`` not known yet, merged, in order."""
        if start >= end:
            return []
        with self._use() as conn:
            sid = self._series_id(conn, exchange, symbol, interval)
            if sid is None:
                return [(start, end)]
            rows = conn.execute('SELECT start, "end" FROM coverage WHERE series_id = ? AND start < ? '
                                'AND "end" > ? ORDER BY start', (sid, end, start)).fetchall()
        return complement(start, end, rows)

    def read(self, exchange: str, symbol: str, interval: str, start: int, end: int) -> list[Candle]:
        """The stored candles with ``start <= open_time < end``, in order (all closed)."""
        with self._use() as conn:
            rows, native = self._blocks(conn, exchange, symbol, interval, start, end)
        out: list[Candle] = []
        append, build = out.append, _build
        for times, (o, h, lo, c, v, q) in self._decoded(rows):
            for t, o_, h_, l_, c_, v_, q_ in zip(times, o, h, lo, c, v, q, strict=True):
                if start <= t < end:
                    append(build({"exchange": exchange, "symbol": symbol, "native_symbol": native,
                                  "interval": interval, "open_time": t, "open": o_, "high": h_,
                                  "low": l_, "close": c_, "volume": v_, "quote_volume": q_,
                                  "closed": True}))
        return out

    def read_series(self, exchange: str, symbol: str, interval: str, start: int, end: int, *,
                    model: type[Model] | None = None) -> CandleSeries | Series:
        """The stored candles of ``[start, end)`` as a :class:`~tradeflood.candles.CandleSeries`.

        With pyarrow installed the series is backed by a Candle table built from the
        stored columns (no model per candle until it is read; its decimals carry their
        column's scale); otherwise it holds :meth:`read`'s models. For a series of
        another history (``interval`` is then the model's name, e.g. ``FundingRate``)
        ``model`` says what to build: a :class:`~tradeflood.Series` of its rows.
        """
        from tradeflood.candles import CandleSeries

        if history_rows.is_row_kind(interval):
            from tradeflood.series import Series

            return Series(self.read_rows(exchange, symbol, interval, start, end, model), model=model)
        from tradeflood.columnar._candles import arrow_available

        if not arrow_available():
            return CandleSeries(self.read(exchange, symbol, interval, start, end))
        from ._arrow import candle_table

        with self._use() as conn:
            rows, native = self._blocks(conn, exchange, symbol, interval, start, end)
        try:
            table = candle_table(rows, start, end, exchange=exchange, symbol=symbol, native_symbol=native,
                                 interval=interval)
        except (ValueError, IndexError) as exc:
            raise StoreCorruptError(self.path, f"a stored block could not be decoded ({exc})") from exc
        if table is None:  # a value decimal128 cannot keep: the exact models instead
            return CandleSeries(self.read(exchange, symbol, interval, start, end))
        return CandleSeries.from_table(table)

    def read_arrow(self, exchange: str, symbol: str, interval: str, start: int,
                   end: int) -> pyarrow.Table:
        """The stored candles of ``[start, end)`` as an Arrow table (needs ``pip install pyarrow``).

        Columns: ``open_time`` int64 (ms), then open, high, low, close, volume and
        quote_volume as ``decimal128(38, s)``, ``s`` the most decimal places stored
        in the column (as :func:`tradeflood.columnar.to_arrow` picks for models); a
        column holding a value that type cannot keep exactly (over 18 decimals or
        20 integer digits) comes back as strings instead.
        """
        from ._arrow import to_table  # imports pyarrow, or says how to install it

        with self._use() as conn:
            rows, _ = self._blocks(conn, exchange, symbol, interval, start, end)
        try:
            return to_table(rows, start, end, fit=True)
        except (ValueError, IndexError) as exc:
            raise StoreCorruptError(self.path, f"a stored block could not be decoded ({exc})") from exc

    def info(self) -> StoreInfo:
        """The store's file, size on disk and series (with candle or row counts and covered ranges)."""
        with self._use() as conn:
            series = conn.execute(
                "SELECT s.id, s.exchange, s.symbol, s.interval, "
                "(SELECT coalesce(sum(count), 0) FROM candles WHERE series_id = s.id) "
                "FROM series s ORDER BY s.exchange, s.symbol, s.interval").fetchall()
            coverage: dict[int, list[Range]] = {}
            for sid, a, b in conn.execute('SELECT series_id, start, "end" FROM coverage '
                                          "ORDER BY series_id, start"):
                coverage.setdefault(sid, []).append((a, b))
            series = [(sid, e, s, i, n + self._count_rows(conn, sid, i)
                       if history_rows.is_row_kind(i) else n) for sid, e, s, i, n in series]
        found = [SeriesInfo(e, s, i, n, coverage.get(sid, [])) for sid, e, s, i, n in series
                 if n or sid in coverage]
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return StoreInfo(self.path, size, found)

    # -- writing ---------------------------------------------------------------------

    def write(self, exchange: str, symbol: str, interval: str, start: int, end: int,
              candles: Sequence[Candle], *, now_ms: int | None = None) -> int:
        """Record that ``[start, end)`` is known: store its closed candles, mark it covered.

        Open candles are ignored, and the range is marked covered only up to the
        first open candle and no later than the end of the newest closed candle
        the series has, so a window reaching into the future is never taken as
        complete. Given ``now_ms`` (when the reply came), only bars closed
        ``settle_ms`` before it are stored and covered: a bar that has just closed
        may still change at the venue for a moment. Re-writing a window is a
        no-op. Returns the number of candles inserted.
        """
        if history_rows.is_row_kind(interval):
            return self._write_rows(exchange, symbol, interval, start, end, candles, now_ms)
        bar_ms = interval_ms(interval)
        table = self._writable_table(candles, exchange, symbol, interval)
        if table is not None:
            return self._write_table(exchange, symbol, interval, start, end, table, now_ms)
        closed: dict[int, Candle] = {}
        limit = end
        for c in candles:
            if (c.exchange, c.symbol, c.interval) != (exchange, symbol, interval):
                raise ValueError(f"a {c.exchange} {c.symbol} {c.interval} candle cannot be stored "
                                 f"as {exchange} {symbol} {interval}")
            if c.closed:
                closed.setdefault(c.open_time, c)
            else:
                limit = min(limit, c.open_time)
        if now_ms is not None:
            limit = min(limit, final_end(interval, now_ms, self.settle_ms))
            closed = {t: c for t, c in closed.items() if t < limit}
        native = next(iter(closed.values())).native_symbol if closed else None
        with self._use() as conn, transaction(conn):
            sid = self._series_id(conn, exchange, symbol, interval, create=True, native=native)
            assert sid is not None
            inserted = self._insert(conn, sid, bar_ms, closed)
            self._cover_written(conn, sid, interval, start, limit, now_ms is None)
        return inserted

    def _cover_written(self, conn: sqlite3.Connection, sid: int, interval: str, start: int, limit: int,
                       up_to_newest: bool) -> None:
        if up_to_newest:
            newest = conn.execute("SELECT max(last_time) FROM candles WHERE series_id = ?",
                                  (sid,)).fetchone()[0]
            limit = start if newest is None else min(limit, interval_end(newest, interval))
        if start < limit:
            self._cover(conn, sid, start, limit)

    @staticmethod
    def _writable_table(candles: Sequence[Candle], exchange: str, symbol: str,
                        interval: str) -> pyarrow.Table | None:
        """The candle table behind ``candles`` when it can be written column by column
        (one series, open times increasing), else None (the models are written)."""
        from tradeflood.candles import CandleSeries

        table = candles.table if isinstance(candles, CandleSeries) else None
        if table is None or not table.num_rows:
            return None
        from tradeflood.columnar._candles import series_of, strictly_increasing

        names = series_of(table)
        if names is None or not strictly_increasing(table):
            return None
        if (names[0], names[1], names[3]) != (exchange, symbol, interval):
            raise ValueError(f"a {names[0]} {names[1]} {names[3]} candle cannot be stored "
                             f"as {exchange} {symbol} {interval}")
        return table

    def _write_table(self, exchange: str, symbol: str, interval: str, start: int, end: int,
                     table: pyarrow.Table, now_ms: int | None) -> int:
        """:meth:`write` for a candle table: its columns become blocks without a model per candle."""
        from tradeflood.columnar._candles import open_times, series_of

        def require_compute() -> Any:
            import pyarrow.compute

            return pyarrow.compute

        names = series_of(table)
        assert names is not None
        closed = table.column("closed")
        limit = end
        if closed.null_count or not require_compute().all(closed).as_py():
            flags = closed.to_pylist()
            opened = [t for t, f in zip(open_times(table), flags, strict=True) if not f]
            if opened:
                limit = min(limit, opened[0])
            table = table.filter(closed.fill_null(False))
        if now_ms is not None:
            limit = min(limit, final_end(interval, now_ms, self.settle_ms))
            times = open_times(table)
            if times and times[-1] >= limit:  # bars still settling: not final yet
                table = table.slice(0, sum(1 for t in times if t < limit))
        with self._use() as conn, transaction(conn):
            sid = self._series_id(conn, exchange, symbol, interval, create=True,
                                  native=names[2] if table.num_rows else None)
            assert sid is not None
            inserted = self._insert_table(conn, sid, interval_ms(interval), table)
            self._cover_written(conn, sid, interval, start, limit, now_ms is None)
        return inserted

    def clear(self, exchange: str | None = None, symbol: str | None = None,
              interval: str | None = None) -> int:
        """Forget the stored candles, rows and trades, and the coverage, of the matching series
        (``interval`` also names other kinds: ``FundingRate``, ``Trade``); returns rows removed."""
        where, args = [], []
        for column, value in (("exchange", exchange), ("symbol", symbol), ("interval", interval)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        query = "SELECT id FROM series" + (" WHERE " + " AND ".join(where) if where else "")
        with self._use() as conn, transaction(conn):
            ids = [(sid,) for (sid,) in conn.execute(query, args)]
            removed = sum(conn.execute("SELECT coalesce(sum(count), 0) FROM candles "
                                       "WHERE series_id = ?", i).fetchone()[0] for i in ids)
            removed += self._clear_rows(conn, ids)
            conn.executemany("DELETE FROM candles WHERE series_id = ?", ids)
            conn.executemany("DELETE FROM coverage WHERE series_id = ?", ids)
        return int(removed)

    def close(self) -> None:
        """Close the file; the store cannot be used afterwards."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> CandleStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CandleStore({str(self.path)!r})"

    # -- internals -------------------------------------------------------------------

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        with self._lock, translate_errors(self.path, self.timeout):
            if self._conn is None:
                raise ValueError(f"{self!r} is closed; open a new CandleStore")
            yield self._conn

    def _series_id(self, conn: sqlite3.Connection, exchange: str, symbol: str, interval: str,
                   create: bool = False, native: str | None = None) -> int | None:
        # Series rows are never deleted (clear() empties them), so ids can be cached.
        key = (exchange, symbol, interval)
        sid = self._series.get(key)
        if sid is None:
            row = conn.execute("SELECT id FROM series WHERE exchange = ? AND symbol = ? "
                               "AND interval = ?", key).fetchone()
            if row is None and not create:
                return None
            if row is None:
                row = conn.execute("INSERT INTO series (exchange, symbol, interval) VALUES (?, ?, ?) "
                                   "RETURNING id", key).fetchone()
            sid = self._series[key] = int(row[0])
        if native:
            conn.execute("UPDATE series SET native_symbol = ? WHERE id = ? AND native_symbol = ''",
                         (native, sid))
        return sid

    def _blocks(self, conn: sqlite3.Connection, exchange: str, symbol: str, interval: str,
                start: int, end: int) -> tuple[list[Row], str]:
        sid = self._series_id(conn, exchange, symbol, interval)
        if sid is None or start >= end:
            return [], ""
        bar_ms = interval_ms(interval)
        rows = conn.execute(
            f"SELECT {_BLOCK_COLUMNS} FROM candles WHERE series_id = ? AND block BETWEEN ? AND ? "
            "AND last_time >= ? AND first_time < ? ORDER BY block",
            (sid, blocks.block_of(start, bar_ms), blocks.block_of(end - 1, bar_ms), start, end),
        ).fetchall()
        native = conn.execute("SELECT native_symbol FROM series WHERE id = ?", (sid,)).fetchone()[0]
        return rows, native

    def _decoded(self, rows: Sequence[Row]) -> Iterator[tuple[Sequence[int], list[list[Any]]]]:
        for row in rows:
            try:
                n = row[1]
                times = blocks.decode_times(row[2])
                columns = [blocks.decode_column(raw, n) for raw in row[3:]]
                if len(times) != n or any(len(c) != n for c in columns):
                    raise ValueError(f"{len(times)} open times for {n} candles")
            except (ValueError, IndexError, UnicodeDecodeError, ArithmeticError) as exc:
                raise StoreCorruptError(self.path, f"block {row[0]} could not be decoded ({exc})") from exc
            yield times, columns

    def _insert(self, conn: sqlite3.Connection, sid: int, bar_ms: int, closed: dict[int, Candle]) -> int:
        by_block: dict[int, list[Candle]] = {}
        for t in sorted(closed):
            by_block.setdefault(blocks.block_of(t, bar_ms), []).append(closed[t])
        inserted = 0
        for block, new in by_block.items():
            merged: dict[int, tuple[Decimal | None, ...]] = {}
            row = conn.execute(f"SELECT {_BLOCK_COLUMNS} FROM candles WHERE series_id = ? AND block = ?",
                               (sid, block)).fetchone()
            if row is not None:
                have = set(blocks.decode_times(row[2]))
                new = [c for c in new if c.open_time not in have]
                if not new:
                    continue
                for times, columns in self._decoded([row]):
                    merged.update(zip(times, zip(*columns, strict=True), strict=True))
            for c in new:
                merged[c.open_time] = (c.open, c.high, c.low, c.close, c.volume, c.quote_volume)
            inserted += len(new)
            times = sorted(merged)
            values = [merged[t] for t in times]
            encoded = [blocks.encode_column([v[k] for v in values]) for k in range(len(_VALUES))]
            conn.execute("INSERT OR REPLACE INTO candles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (sid, block, times[0], times[-1], len(times), blocks.encode_times(times),
                          *encoded))
        return inserted

    def _insert_table(self, conn: sqlite3.Connection, sid: int, bar_ms: int, table: pyarrow.Table) -> int:
        """Store a table of closed candles (open times increasing): a block not stored yet is
        encoded from the columns; one that exists is merged through models (at most a block's)."""
        from tradeflood.columnar._candles import candle_models, open_times

        from ._arrow import encode_decimals

        times = open_times(table)
        inserted = i = 0
        while i < len(times):
            block = blocks.block_of(times[i], bar_ms)
            j = i + 1
            while j < len(times) and blocks.block_of(times[j], bar_ms) == block:
                j += 1
            rows = table.slice(i, j - i)
            exists = conn.execute("SELECT 1 FROM candles WHERE series_id = ? AND block = ?",
                                  (sid, block)).fetchone()
            encoded = None if exists else [encode_decimals(rows.column(name)) for name in _VALUES]
            if encoded is None or any(e is None for e in encoded):
                inserted += self._insert(conn, sid, bar_ms, {c.open_time: c for c in candle_models(rows)})
            else:
                conn.execute("INSERT INTO candles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (sid, block, times[i], times[j - 1], j - i, blocks.encode_times(times[i:j]),
                              *encoded))
                inserted += j - i
            i = j
        return inserted

    def _cover(self, conn: sqlite3.Connection, sid: int, start: int, end: int) -> None:
        touching = conn.execute('SELECT start, "end" FROM coverage WHERE series_id = ? AND start <= ? '
                                'AND "end" >= ?', (sid, end, start)).fetchall()
        [(a, b)] = union([*touching, (start, end)])
        conn.executemany("DELETE FROM coverage WHERE series_id = ? AND start = ?",
                         [(sid, s) for s, _ in touching])
        conn.execute("INSERT INTO coverage VALUES (?, ?, ?)", (sid, a, b))
