"""Live trades: each trade id once, in order; outages and late trades are reported as gaps.

Trades are ordered by the venue's trade id when it is numeric (venues' numeric
ids grow with time), else by time then id. A trade whose id was handed
out already is a duplicate (a resubscription's snapshot, a replayed frame, the
same id sent again with another timestamp) and is dropped, counted. A trade
that sorts before the last one handed out but was never seen arrived late: it
is not handed out (that would break the order), and a :class:`TradeGap`
spanning it tells the consumer the trades of that span are incomplete. A
snapshot the venue pushes on subscribing is history: the first one sets the
baseline; after a reconnection its trades newer than the baseline are handed
out, after a :class:`TradeGap` naming the outage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tradeflood.errors import PayloadError

from ._events import TradeGap
from ._feed import Feed
from ._protocol import Frame

__all__ = ["RecentIds", "TradeFeed", "trade_order"]

log = logging.getLogger("tradeflood.streams")


def trade_order(trade: Any) -> tuple[int, int, str]:
    """The sort key of a trade: its numeric id where there is one (the id alone, so the same
    id sent again with another timestamp is the same trade), else time then id."""
    ident = trade.id
    if ident.isdecimal():
        return (int(ident), 0, "")
    return (-1, trade.timestamp, ident)


class RecentIds:
    """The ids of at least the last ``size`` trades seen (at most ``2 * size``), to tell a
    duplicate from a late trade.

    Two generations of ids: new ids go in the current one; when it holds ``size``
    it becomes the previous one and the one before is forgotten whole. An add is
    one set insertion (this runs once per live trade).
    """

    __slots__ = ("_current", "_previous", "_size")

    def __init__(self, size: int = 4096) -> None:
        self._current: set[str] = set()
        self._previous: set[str] = set()
        self._size = size

    def __contains__(self, ident: str) -> bool:
        return ident in self._current or ident in self._previous

    def add(self, ident: str) -> None:
        current = self._current
        current.add(ident)
        if len(current) >= self._size:
            self.turn()

    def turn(self) -> None:
        """The current generation becomes the previous one; the one before is forgotten."""
        self._previous, self._current = self._current, set()

    @property
    def full(self) -> bool:
        """True once ``size`` ids were seen: older ids are forgotten from then on, so an unknown
        old id may be an old duplicate."""
        return bool(self._previous)


class TradeFeed(Feed):
    """De-duplicates and orders trades; turns outages and late trades into :class:`TradeGap` events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last: tuple[int, int, str] | None = None
        self.last_trade: Any = None
        self.duplicates = 0
        self.late = 0
        self.seen = RecentIds()
        self._oldest_seen: tuple[int, int, str] | None = None
        self._baseline_pending = True

    def on_frames(self, frames: Sequence[Frame], received_ms: int) -> None:
        """:meth:`Feed.on_frames` with the usual frame in line: one trade that passes the value
        rule and whose numeric id is above the last one handed out. Such a trade costs its parse
        and its check and no other call, and a queue consumer gets a chunk's trades in one put.
        Any other frame takes the general way (:meth:`Feed.accept`), after the trades before it."""
        binding, last, rule = self.binding, self.last, self._rule
        if binding is None or last is None or rule is None or self._baseline_pending:
            super().on_frames(frames, received_ms)  # until the first trades set the baseline and rule
            return
        self.frames += len(frames)
        parse, query, topic, seen, kind = binding.parse, self.query, self.topic, self.seen, self._kind
        top = last[0]  # the numeric id handed out last (-1 after a non-numeric one: all are above)
        newest: Any = None  # the trade of ``top`` when handed out here (self.last is set at the end)
        many = self._sink_many
        run: list[Any] = []  # the trades not yet given to ``many``
        for frame in frames:
            try:
                try:
                    items = parse(query, topic, frame, received_ms)
                except PayloadError as exc:
                    self._settle(run, top, newest)
                    newest = None
                    self.refuse(exc, received_ms)
                    continue
                if len(items) == 1:
                    trade = items[0]
                    ident = trade.id
                    if type(trade) is kind and ident.isdecimal() and not rule(items):
                        number = int(ident)
                        if number > top:
                            current = seen._current  # RecentIds.add, in line (once per live trade)
                            current.add(ident)
                            if len(current) >= seen._size:
                                seen.turn()
                            top, newest = number, trade
                            if many is not None:
                                run.append(trade)
                                continue
                            sink = self._sink  # Feed.publish, in line for its hot path
                            if sink is None:
                                self.publish(trade)
                                continue
                            try:
                                sink(trade)
                            except Exception as exc:
                                self.sink_failed(exc)
                            continue
                self._settle(run, top, newest)  # what came before goes first
                newest = None
                self.accept(items, frame, received_ms)
                top, many, kind = self.last[0], self._sink_many, self._kind  # type: ignore[index]
                rule = self._rule or rule  # accept() sets it on the first trades; kept from then on
            except Exception:  # a bug in one frame's handling must not cost the frames after it
                log.exception("%s: handling a frame failed", topic.name)
        self._settle(run, top, newest)

    def _settle(self, run: list[Any], top: int, newest: Any) -> None:
        """Bring what :meth:`on_frames` keeps in locals up to date: the last trade handed out,
        and the trades waiting for the consumer's put, which then go."""
        if newest is not None:
            self.last, self.last_trade = (top, 0, ""), newest
        if run:
            many = self._sink_many
            if many is None:  # the consumers changed meanwhile
                for trade in run:
                    self.publish(trade)
            else:
                try:
                    many(run)
                except Exception as exc:
                    self.sink_failed(exc)
            run.clear()

    def receive(self, items: Sequence[Any], frame: Frame, received_ms: int) -> None:
        if self._baseline_pending:
            self._baseline_pending = False
            if frame.action == "snapshot":
                self._baseline(items)
                return
        seen = self.seen
        for trade in sorted(items, key=trade_order) if len(items) > 1 else items:
            ident = trade.id  # the key of trade_order, in line: this runs once per live trade
            last = self.last
            if ident.isdecimal():
                number = int(ident)
                # The usual case first: a numeric id above the last one handed out (a numeric
                # key is above every non-numeric one, whose first element is -1).
                if last is not None and number > last[0]:
                    current = seen._current  # newer than the oldest seen too: RecentIds.add, in line
                    current.add(ident)
                    if len(current) >= seen._size:
                        seen.turn()
                    key = (number, 0, "")
                else:
                    key = (number, 0, "")
                    if last is None:
                        self._remember(trade, key)
                    elif key <= last:
                        self._behind(trade, key, frame.action == "snapshot", received_ms)
                        continue
            else:
                key = (-1, trade.timestamp, ident)
                if last is None:
                    self._remember(trade, key)
                elif key <= last:
                    self._behind(trade, key, frame.action == "snapshot", received_ms)
                    continue
                else:
                    seen.add(ident)
            self.last = key
            self.last_trade = trade
            sink = self._sink  # Feed.publish, in line for its hot path (one consumer)
            if sink is None:
                self.publish(trade)
                continue
            try:
                sink(trade)
            except Exception as exc:
                self.sink_failed(exc)

    def _baseline(self, items: Sequence[Any]) -> None:
        """The snapshot a venue pushes on subscribing is history: it only sets the baseline."""
        if items:
            for trade in items:
                self._remember(trade, trade_order(trade))
            newest = max(items, key=trade_order)
            self.last, self.last_trade = trade_order(newest), newest

    def _remember(self, trade: Any, key: tuple[int, int, str]) -> None:
        self.seen.add(trade.id)
        if self._oldest_seen is None or key < self._oldest_seen:
            self._oldest_seen = key

    def _behind(self, trade: Any, key: tuple[int, int, str], history: bool, received_ms: int) -> None:
        """A trade at or before the last one handed out: a duplicate, or a late arrival.

        A snapshot's trades are history the venue repeats, never late; so is a trade
        older than every id still remembered (it was seen, or is too old to matter).
        """
        forgotten = self._oldest_seen is None or (key < self._oldest_seen and self.seen.full)
        if history or trade.id in self.seen or forgotten:
            self.duplicates += 1
            return
        self.late += 1
        self.seen.add(trade.id)  # reported once, however often it is sent again
        last = self.last_trade
        self.event(TradeGap(self.query.exchange, self.query.symbol or "", received_ms,
                            start_ms=min(trade.timestamp, last.timestamp), end_ms=last.timestamp,
                            last_id=last.id, late_id=trade.id))

    def on_up(self, down_since_ms: int | None, now_ms: int) -> None:
        super().on_up(down_since_ms, now_ms)
        if down_since_ms is None:
            return
        last = self.last_trade
        start = min(down_since_ms, last.timestamp) if last is not None else down_since_ms
        self.event(TradeGap(self.query.exchange, self.query.symbol or "", now_ms, start_ms=start,
                            end_ms=now_ms, last_id=last.id if last is not None else None))
