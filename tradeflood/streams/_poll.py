"""Polling: live data over REST, for what has no stream (or by choice).

``session.stream(Ticker, exchange=..., symbol=..., poll=5)`` polls every 5 s.
Identical polls (same query, same period) are one upstream subscription like
any other, so N consumers cause one poller, whose requests go through the
session's executor: the same rate limits, retries and in-flight sharing as
fetch. A list result (trades, candles) hands out only items not seen before, and
candles only from a poll asked after they closed; a single result (a ticker, a book) is handed out when
it changed. As on a candle stream, the bars that had closed before the first poll are
history, not news: a polled bar stream starts with the bar forming when it started (once
it closes), then each new one, never with the venue's page of old bars. Likewise, as on a
trade stream, the trades of the first poll's page are history: a polled trade stream hands
out the trades made after it, each once, in order. A page that no longer reaches back to the
last trade seen is reported as a :class:`~tradeflood.streams.TradeGap` before its trades when
trades may hide behind it: its numeric ids do not follow on from the last one, or (ids that
are not numbers) the page is full, so the venue may have had more than it showed; a shorter
page is all the venue had since. A trade the venue added late, behind trades already handed
out, is reported as a gap too (``late_id``; it is not handed out).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tradeflood.errors import QueryError, TradeFloodError
from tradeflood.intervals import bar_open

from ._events import TradeGap
from ._feed import Feed
from ._protocol import Topic
from ._tradefeed import RecentIds, trade_order

if TYPE_CHECKING:
    from tradeflood.query import Query

__all__ = ["PollFeed", "poll_topic"]

log = logging.getLogger("tradeflood.streams")

_PARAMS = ("exchange", "symbol", "interval", "depth", "limit")


def poll_topic(query: Query, every: float) -> Topic:
    """The upstream identity of a poll: the query's parameters and its period."""
    if isinstance(every, bool) or not every > 0:
        raise QueryError(f"poll={every!r}: give the polling period in seconds, e.g. poll=5")
    args = tuple((name, str(getattr(query, name))) for name in _PARAMS if getattr(query, name) is not None)
    extra = tuple(sorted((k, str(v)) for k, v in query.options.items() if k != "poll"))
    name = f"poll {query.model.__name__} " + " ".join(f"{k}={v}" for k, v in args + extra) + f" every={every}"
    return Topic(query.exchange, "poll", name, args + extra + (("every", str(every)),), expected_every=None)


class PollFeed(Feed):
    """One poller shared by every consumer of an identical poll."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.every = float(self.topic.arg("every"))
        self.polls = 0
        self.failures = 0
        self._last: Any = None
        self._seen: tuple[Any, ...] | None = None
        self._started = False
        fields = getattr(self.query.model, "model_fields", {})
        self._trades = (TradeCursor(limit=self.query.limit) if "id" in fields and "timestamp" in fields
                        else None)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = self.hub.spawn(self._run())

    async def _run(self) -> None:
        params = {k: v for k, v in self.query.options.items() if k != "poll"}
        for name in _PARAMS[1:]:
            value = getattr(self.query, name)
            if value is not None:
                params[name] = value
        while not self.closed:
            started = self.hub.clock.monotonic()
            asked_ms = self.hub.session.now_ms()
            try:
                result = await self.hub.session.afetch(self.query.model, exchange=self.query.exchange,
                                                       **params)
            except QueryError as exc:
                self.hub.fail_feed(self, exc)  # asking again will not help
                return
            except TradeFloodError as exc:
                self.failures += 1
                log.warning("%s: %s", self.topic.name, exc)
            else:
                self.polls += 1
                self._hand_out(result, asked_ms)
            await self.hub.clock.sleep(max(0.0, self.every - (self.hub.clock.monotonic() - started)))

    def _hand_out(self, result: Any, asked_ms: int | None = None) -> None:
        if isinstance(result, Sequence) and self._trades is not None:
            self._hand_out_trades(result)
            return
        if isinstance(result, Sequence):  # many models (a list, a series), or one
            if not self._started:  # the first answer: what had closed before it is history
                self._started = True
                self._seen = self._history(asked_ms)
            # A bar is handed out (once) from the first poll asked after it closed: one still
            # forming, or closed only while the answer travelled, may not hold its last trades.
            fresh = [item for item in sorted(result, key=_order)
                     if _final(item, asked_ms) and self._is_new(item)]
            for item in fresh:
                self.publish(item)
            return
        if result is not None and result != self._last:
            self._last = result
            self.publish(result)

    def _hand_out_trades(self, page: Sequence[Any]) -> None:
        cursor = self._trades
        assert cursor is not None
        if not self._started:  # the first answer: its trades are history, the starting point
            self._started = True
            cursor.start(page)
            return
        last = cursor.last
        fresh, gap_after, late = cursor.take(page)
        now_ms = self.hub.session.now_ms()
        for trade in late:
            self.event(TradeGap(self.query.exchange, self.query.symbol or "", now_ms,
                                start_ms=min(trade.timestamp, last.timestamp), end_ms=last.timestamp,
                                last_id=last.id, late_id=trade.id))
        if gap_after is not None:
            self.event(TradeGap(self.query.exchange, self.query.symbol or "", now_ms,
                                start_ms=gap_after.timestamp, end_ms=fresh[0].timestamp,
                                last_id=gap_after.id))
        for trade in fresh:
            self.publish(trade)

    def _history(self, asked_ms: int | None) -> tuple[Any, ...] | None:
        """The order key of the last bar that had closed before the first poll (the candle
        stream's baseline), for a bar model; None for anything else."""
        interval, fields = self.query.interval, getattr(self.query.model, "model_fields", {})
        if asked_ms is None or interval is None or "open_time" not in fields:
            return None
        return (bar_open(bar_open(asked_ms, interval) - 1, interval),)

    def _is_new(self, item: Any) -> bool:
        key = _order(item)
        if self._seen is not None and key <= self._seen:
            return False
        self._seen = key
        return True

    def welcome(self, delivery: Any) -> list[Any]:
        return [self._last] if self._last is not None else []

    def close(self) -> None:
        super().close()
        if self._task is not None:
            self._task.cancel()


class TradeCursor:
    """Where a polled trade stream stands: the newest trade seen (handed out, or on the first
    poll's page), and the ids seen lately, so that each trade of the pages is handed out once.

    ``limit`` is the page size asked for, when the query says it; without it (the venue's
    default page), the longest page seen stands for it. Either way it is never more than the
    venue's page holds, so a page that could have hidden trades always counts as full."""

    def __init__(self, limit: int | None = None) -> None:
        self.last: Any = None
        self.key: tuple[int, int, str] | None = None
        self.seen = RecentIds()
        self.limit = limit
        self.longest = 0

    def start(self, page: Sequence[Any]) -> None:
        """The first poll's page: history, which only sets the starting point."""
        self.longest = len(page)
        for trade in page:
            self._advance(trade)

    def take(self, page: Sequence[Any]) -> tuple[list[Any], Any, list[Any]]:
        """The trades of ``page`` made since the last one seen, in order (now seen); when the
        page no longer reaches back to that last one and trades between it and the page may
        be missing (:meth:`may_hide`), that last trade (else None); and the page's late trades:
        never seen, yet older than the last one and newer than a trade of the same page
        already seen, so the venue added them after an earlier page had covered their place
        (each reported once, never handed out, as a live trade stream does)."""
        before = self.last
        reached = before is None or any(not self._is_new(trade) for trade in page)
        known = [trade_order(trade) for trade in page if trade.id in self.seen]
        late = []
        if known and self.key is not None:
            floor = min(known)
            late = [trade for trade in page if trade.id not in self.seen
                    and floor < trade_order(trade) < self.key and not self._is_new(trade)]
            for trade in late:
                self.seen.add(trade.id)
        out = []
        for trade in sorted(page, key=trade_order):
            if self._is_new(trade):
                out.append(trade)
                self._advance(trade)
        gap = not reached and out and self.may_hide(page, before, out[0])
        self.longest = max(self.longest, len(page))
        return out, before if gap else None, sorted(late, key=trade_order)

    def may_hide(self, page: Sequence[Any], last: Any, first: Any) -> bool:
        """Whether trades may sit between ``last`` (seen) and ``first`` (the oldest new trade of
        ``page``, which holds nothing seen). Numeric ids tell: none can when they are one apart,
        some were when they are not. Other ids cannot, so it is the page's length: a full page
        may have left older trades out; a shorter one is everything the venue had since."""
        if last.id.isdecimal() and first.id.isdecimal():
            return not _follows(last, first)
        full = self.longest if self.limit is None else min(self.limit, self.longest or self.limit)
        return len(page) >= full

    def _is_new(self, trade: Any) -> bool:
        if self.key is None:
            return True
        if trade.id in self.seen:
            return False
        if trade_order(trade) > self.key:
            return True
        # Ids that are not numbers sort by time, then id: a trade of the last one's
        # millisecond not seen yet is new, whatever its id.
        return not trade.id.isdecimal() and trade.timestamp == self.last.timestamp

    def _advance(self, trade: Any) -> None:
        self.seen.add(trade.id)
        key = trade_order(trade)
        if self.key is None or key > self.key:
            self.key, self.last = key, trade


def _follows(last: Any, trade: Any) -> bool:
    """Whether ``trade`` is the very next trade after ``last`` (numeric ids one apart): no
    trade can sit between them, so a page starting with it left none out."""
    return last.id.isdecimal() and trade.id.isdecimal() and int(trade.id) == int(last.id) + 1


def _final(item: Any, asked_ms: int | None) -> bool:
    """Whether ``item`` is final: anything but a bar, or a bar that had closed when it was asked for."""
    if getattr(item, "closed", True) is False:
        return False
    close = getattr(item, "close_time", None)
    return asked_ms is None or not isinstance(close, int) or close <= asked_ms


def _order(item: Any) -> tuple[Any, ...]:
    for name in ("open_time", "timestamp"):
        if hasattr(item, name):
            return (getattr(item, name),)
    return (repr(item),)
