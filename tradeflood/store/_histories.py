"""The store's series of other histories: rows of funding rates, open interest, price bars, and trades.

Mixed into :class:`~._store.CandleStore`, whose connection, series ids and
coverage these share; the SQL lives in :mod:`._rows` and :mod:`._trades`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tradeflood.intervals import INTERVALS
from tradeflood.models import Trade

from . import _rows as history_rows
from . import _trades as trade_rows
from ._rows import row_model_name
from ._schema import transaction
from ._settle import final_end

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from tradeflood.models import Model

__all__ = ["RowHistories"]


class RowHistories:
    """Reading and writing series of rows other than candles (mixed into the candle store)."""

    settle_ms: int

    if TYPE_CHECKING:
        def _use(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _series_id(self, conn: sqlite3.Connection, exchange: str, symbol: str, interval: str,
                       create: bool = False, native: str | None = None) -> int | None: ...

        def _cover(self, conn: sqlite3.Connection, sid: int, start: int, end: int) -> None: ...

    def read_rows(self, exchange: str, symbol: str, kind: str, start: int, end: int,
                  model: type[Model] | None) -> list[Any]:
        """The stored rows of another history's series (``kind``: its model's name) in ``[start, end)``."""
        if model is None or model.__name__ != row_model_name(kind):
            raise ValueError(f"reading {kind} rows needs their model (model={row_model_name(kind)})")
        if kind == trade_rows.TRADE_KIND:
            return self.read_trades(exchange, symbol, start, end)
        with self._use() as conn:
            sid = self._series_id(conn, exchange, symbol, kind)
            return [] if sid is None else history_rows.read_rows(conn, sid, start, end, model)

    def read_trades(self, exchange: str, symbol: str, start: int, end: int) -> list[Trade]:
        """The stored trades with ``start <= timestamp < end``, ordered by time, then id."""
        with self._use() as conn:
            sid = self._series_id(conn, exchange, symbol, trade_rows.TRADE_KIND)
            if sid is None:
                return []
            native = conn.execute("SELECT native_symbol FROM series WHERE id = ?", (sid,)).fetchone()[0]
            return trade_rows.read_trades(conn, sid, start, end, exchange=exchange, symbol=symbol,
                                          native_symbol=native)

    def write_trades(self, exchange: str, symbol: str, start: int, end: int, trades: Sequence[Trade], *,
                     now_ms: int | None = None) -> int:
        """Record that every trade of ``[start, end)`` is known: store them, mark the range covered.

        Given ``now_ms``, the range is covered (and its trades stored) only up to
        ``now_ms - settle_ms``: a venue may still publish a late trade of the last
        moments. The caller vouches that the trades passed the value checks and that
        the venue's pages covering the range were all fetched. A trade whose id the
        series holds already is left as it was. Returns the number of trades inserted.
        """
        limit = end if now_ms is None else min(end, now_ms - self.settle_ms)
        natives = set()
        for t in trades:
            if type(t) is not Trade or (t.exchange, t.symbol) != (exchange, symbol):
                raise ValueError(f"a {t.exchange} {t.symbol} {type(t).__name__} cannot be stored as "
                                 f"{exchange} {symbol} trades")
            natives.add(t.native_symbol)
        if len(natives) > 1:
            raise ValueError(f"trades of {exchange} {symbol} under several native symbols "
                             f"({', '.join(sorted(natives))}) cannot be stored as one series")
        kept = [t for t in trades if start <= t.timestamp < limit]
        with self._use() as conn, transaction(conn):
            sid = self._series_id(conn, exchange, symbol, trade_rows.TRADE_KIND, create=True,
                                  native=next(iter(natives), None))
            assert sid is not None
            inserted = trade_rows.write_trades(conn, sid, kept)
            if start < limit:
                self._cover(conn, sid, start, limit)
        return inserted

    def _write_rows(self, exchange: str, symbol: str, kind: str, start: int, end: int,
                    rows: Sequence[Any], now_ms: int | None) -> int:
        """``write`` for another history's rows: each kept whole; the window is covered up to
        ``now_ms`` at most (the caller writes only rows that never change), and bars of a
        price only up to the last closed ``settle_ms`` before ``now_ms``."""
        if kind == trade_rows.TRADE_KIND:
            return self.write_trades(exchange, symbol, start, end, rows, now_ms=now_ms)
        time_field = getattr(rows, "row_time_field", None) or (
            "open_time" if len(rows) and "open_time" in type(rows[0]).model_fields else "timestamp")
        for row in rows:
            if type(row).__name__ != row_model_name(kind) or (row.exchange, row.symbol) != (exchange, symbol):
                raise ValueError(f"a {row.exchange} {row.symbol} {type(row).__name__} row cannot be "
                                 f"stored as {exchange} {symbol} {kind}")
        limit = end if now_ms is None else min(end, now_ms + 1)
        qualifier = kind.partition(":")[2]
        if time_field == "open_time" and qualifier in INTERVALS:  # bars: final once closed and settled
            if now_ms is not None:
                limit = min(limit, final_end(qualifier, now_ms, self.settle_ms))
            limit = min([limit, *(getattr(r, time_field) for r in _open_bars(rows))])
            rows = [r for r in rows if getattr(r, time_field) < limit]
        with self._use() as conn, transaction(conn):
            sid = self._series_id(conn, exchange, symbol, kind, create=True)
            assert sid is not None
            inserted = history_rows.write_rows(conn, sid, rows, time_field)
            if start < limit:
                self._cover(conn, sid, start, limit)
        return inserted

    def _count_rows(self, conn: sqlite3.Connection, sid: int, kind: str) -> int:
        if kind == trade_rows.TRADE_KIND:
            return trade_rows.count_trades(conn, sid)
        return history_rows.count_rows(conn, sid)

    @staticmethod
    def _clear_rows(conn: sqlite3.Connection, ids: Sequence[tuple[int]]) -> int:
        return history_rows.clear_rows(conn, ids) + trade_rows.clear_trades(conn, ids)


def _open_bars(rows: Sequence[Any]) -> Iterator[Any]:
    return (r for r in rows if getattr(r, "closed", True) is False)
