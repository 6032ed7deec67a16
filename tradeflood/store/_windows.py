"""The store's side of a trade history: windows answered before planning, fetched windows recorded after.

A trade history is cut into windows (:class:`~tradeflood.trades.TradeHistoryBinding`);
the store answers the parts of each window it covers, and only the parts it
lacks become requests, so a range asked again sends none and a range that
overlaps one gathered before asks only for the rest. A fetched window is
recorded as soon as it is parsed, and only when it is complete: every page of
it came back (a window that failed or was cut off by a deadline has no
result), no row of it was dropped by the value checks, the venue's ids leave no
hole in it, and it ended the store's settle margin before the fetch (a venue
may still publish a late trade of the last moments).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tradeflood.binding import Part

from ._pages import settle_ms
from ._ranges import Range, complement
from ._trades import TRADE_KIND

if TYPE_CHECKING:
    from tradeflood.query import Query
    from tradeflood.trades import TradeHistoryBinding
    from tradeflood.turns import Turn

__all__ = ["StoredWindows", "stores_trades"]


def stores_trades(store: object) -> bool:
    """Whether a store keeps trade histories (``tradeflood.store.CandleStore`` does)."""
    return all(callable(getattr(store, name, None)) for name in ("missing", "read_trades", "write_trades"))


class StoredWindows:
    """The store's side of one trade-history query: which windows it answers, and recording the rest."""

    def __init__(self, store: Any, query: Query, binding: TradeHistoryBinding, now_ms: int) -> None:
        assert query.symbol is not None
        self.store = store
        self.query = query
        self.binding = binding
        self.now_ms = now_ms
        self.key = (query.exchange, query.symbol, TRADE_KIND)
        self.final = now_ms - settle_ms(store)  # windows ending after it are not final yet
        self.fetched: dict[object, Range] = {}  # turn key -> its window, for the windows sent
        self.recorded: set[object] = set()
        # Consecutive ids: each window's (first id, last id) by its start, and the spans of the
        # plan by their end, so a window is kept only when its first id follows the last id of
        # the window before it (a hole at a window's edge is as real as one inside it).
        self.ids: dict[int, tuple[int, int] | None] = {}
        self.before: dict[int, Range] = {}
        self.pending: dict[object, Part] = {}

    def split(self) -> tuple[list[Turn], list[Part]]:
        """The turns still to send (the binding's extra ones, and a window for each span the
        store lacks) and the parts the store answers (one per span it covers)."""
        binding, query = self.binding, self.query
        spans = binding.window_spans(query, self.now_ms)
        turns = list(binding.extra_turns(query))
        if not spans:
            return turns, []
        holes = self.store.missing(*self.key, spans[0][0], spans[-1][1])
        served: list[Range] = []
        for a, b in spans:
            for c, d in _within(holes, a, b):
                turn = binding.window_turn(query, c, d)
                self.fetched[turn.key] = (c, d)
                self.before[d] = (c, d)
                turns.append(turn)
            for c, d in complement(a, b, holes):
                served.append((c, d))
                self.before[d] = (c, d)
        exchange, symbol, _ = self.key
        first = spans[0][0]
        if binding.consecutive_ids and not self.store.missing(*self.key, first - 1, first):
            self.before[first] = (first - 1, first)  # the trades before the range, stored already
            earlier = self.store.read_trades(exchange, symbol, first - binding.window_ms, first)
            self.ids[first - 1] = _id_edges(earlier[-1:])
        if not served:
            return turns, []
        trades = self.store.read_trades(exchange, symbol, served[0][0], served[-1][1])
        times = [t.timestamp for t in trades]
        parts = []
        for a, b in served:
            i, j = bisect_left(times, a), bisect_left(times, b)
            parts.append(Part(binding.window_turn(query, a, b), trades[i:j]))
            self.ids[a] = _id_edges(trades[i:j])
        return turns, parts

    def record(self, parts: Sequence[Part]) -> int:
        """Store each complete window among ``parts`` that was fetched and is not stored yet;
        returns trades written. Called with each window's part as soon as it is parsed (a
        checkpoint), and once more with all parts at the end; a window is written once."""
        written = 0
        waiting: dict[object, Part] = {**self.pending, **{part.turn.key: part for part in parts}}
        while True:  # a window may have waited for the one before it: try it again after that
            self.pending = {}
            done = len(self.recorded)
            for part in waiting.values():
                written += self._record_one(part)
            if len(self.recorded) == done or not self.pending:
                return written
            waiting = self.pending

    def _record_one(self, part: Part) -> int:
        key = part.turn.key
        window = self.fetched.get(key)
        if window is None or key in self.recorded or part.dropped:
            return 0
        a, b = window
        if a >= self.final:
            return 0  # nothing of it has settled
        seen: set[str] = set()
        trades = []
        for t in part.items:  # a window's last page may reach past it: only its own trades
            if a <= t.timestamp < b and t.id not in seen:
                seen.add(t.id)
                trades.append(t)
        if not self.binding.window_complete(self.query, trades):
            return 0  # the venue left a hole: asked again next time, not trusted
        if self.binding.consecutive_ids:
            self.ids[a] = _id_edges(trades)
            if not self._follows(a):
                self.pending[key] = part  # the window before it is not in yet, or a hole lies between
                return 0
        exchange, symbol, _ = self.key
        written: int = self.store.write_trades(exchange, symbol, a, b, trades, now_ms=self.now_ms)
        self.recorded.add(key)
        return written

    def _follows(self, start: int) -> bool:
        """Whether the window starting at ``start`` continues the ids of the trades before it:
        the last id of the nearest earlier window with trades is one below its first (true when
        nothing before it is known: the range's first window, over nothing stored)."""
        edges = self.ids[start]
        if edges is None:
            return True  # no trades: no id to miss
        at = start
        while at in self.before:
            prev_start = self.before[at][0]
            if prev_start not in self.ids:
                return False  # not parsed yet (or failed): judged when it is, or next time
            prev = self.ids[prev_start]
            if prev is not None:
                return edges[0] - prev[1] == 1
            at = prev_start
        return True


def _id_edges(trades: Sequence[Any]) -> tuple[int, int] | None:
    """The first and last of the trades' consecutive ids (None for no trades)."""
    ids = [int(t.id) for t in trades]
    return (min(ids), max(ids)) if ids else None


def _within(ranges: Sequence[Range], start: int, end: int) -> list[Range]:
    """The parts of ``ranges`` (merged, in order) inside ``[start, end)``."""
    return [(max(a, start), min(b, end)) for a, b in ranges if a < end and b > start]
