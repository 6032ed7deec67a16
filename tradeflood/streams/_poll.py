"""Polling: live data over REST, for what has no stream (or by choice).

``session.stream(Ticker, exchange=..., symbol=..., poll=5)`` polls every 5 s.
Identical polls (same query, same period) are one upstream subscription like
any other, so N consumers cause one poller, whose requests go through the
session's executor: the same rate limits, retries and in-flight sharing as
fetch. A list result (trades, candles) hands out only items not seen before, and
candles only from a poll asked after they closed; a single result (a ticker, a book) is handed out when
it changed. As on a candle stream, the bars that had closed before the first poll are
history, not news: a polled bar stream starts with the bar forming when it started (once
it closes), then each new one, never with the venue's page of old bars.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tradeflood.errors import QueryError, TradeFloodError
from tradeflood.intervals import bar_open

from ._feed import Feed
from ._protocol import Topic
from ._tradefeed import trade_order

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


def _final(item: Any, asked_ms: int | None) -> bool:
    """Whether ``item`` is final: anything but a bar, or a bar that had closed when it was asked for."""
    if getattr(item, "closed", True) is False:
        return False
    close = getattr(item, "close_time", None)
    return asked_ms is None or not isinstance(close, int) or close <= asked_ms


def _order(item: Any) -> tuple[Any, ...]:
    if hasattr(item, "id") and hasattr(item, "timestamp"):
        return trade_order(item)
    for name in ("open_time", "timestamp"):
        if hasattr(item, name):
            return (getattr(item, name),)
    return (repr(item),)
