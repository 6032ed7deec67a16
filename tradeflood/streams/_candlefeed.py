"""Live candles: every closed candle exactly once, in order, even across outages.

The venue pushes the forming candle over and over (some until a flag on the
last push says it closed). A candle counts as closed when the venue says so
(a binding's ``closes_explicitly``) or, for venues without such a flag, when
the next one appears: its last push is taken as final. The time a push
arrives never closes a bar by itself, since a push sent just before a bar's
end can arrive just after it. The first closed candle after subscribing sets
the baseline; from then on a closed candle that does not follow the last one
handed out (a reconnection, a missed push) holds the stream while the missing
candles are fetched over REST through the session (same rate limits, same
store), and the held ones follow them; closed candles that REST cannot give
either (the fetch failed, or the venue has no such bar) are reported as a
:class:`CandleGap` naming their open times, never skipped silently. Consumers that asked for ``partial``
also get the forming candle's updates (``closed=False``). Any bar model with
``open_time``, ``interval`` and ``closed`` (trade candles, price candles) is
served alike, backfilled with a fetch of the stream's own model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from tradeflood.errors import TradeFloodError
from tradeflood.intervals import bar_open, interval_end

from ._delivery import Options
from ._events import CandleGap
from ._feed import Feed
from ._protocol import Frame

__all__ = ["CandleFeed"]

log = logging.getLogger("tradeflood.streams")


class CandleFeed(Feed):
    """Closes candles exactly once and in order; backfills over REST what a gap hid."""

    backfill_attempts = 3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interval: str = self.query.interval or "1m"
        self.last_closed: int | None = None  # open time of the last closed candle handed out
        self.forming: Any = None
        self._held: list[Any] = []
        self._backfill: asyncio.Task[None] | None = None
        self.backfilled = 0
        #: Whether the venue flags the final push of a bar; otherwise the next bar closes it.
        self.explicit: bool = bool(getattr(self.binding, "closes_explicitly", False))

    def render(self, item: Any, options: Options) -> Any:
        if not item.closed and not options.partial:
            return None
        return item

    def receive(self, items: Sequence[Any], frame: Frame, received_ms: int) -> None:
        if self.last_closed is None:
            # Baseline: the candles closed before we subscribed are history, not news.
            self.last_closed = bar_open(received_ms, self.interval) - 1
            self.last_closed = bar_open(self.last_closed, self.interval)
        for candle in sorted(items, key=lambda c: c.open_time):
            self._see(candle, received_ms)

    def _see(self, candle: Any, received_ms: int) -> None:
        forming = self.forming
        if self.explicit and candle.closed:  # the venue says this one is final
            if forming is not None and forming.open_time <= candle.open_time:
                self.forming = None
            self._close(candle)
            return
        if forming is not None and candle.open_time > forming.open_time:
            # A newer bar: the one forming has closed, as last pushed (the venue sends no flag).
            self.forming = None
            self._close(forming.model_copy(update={"closed": True}))
        if forming is None or candle.open_time >= forming.open_time:
            if candle.closed:
                candle = candle.model_copy(update={"closed": False})
            self.forming = candle
            if candle.open_time > (self.last_closed or 0):
                self.publish(candle)

    def _close(self, candle: Any) -> None:
        assert self.last_closed is not None
        if candle.open_time <= self.last_closed:
            return  # already handed out (or history from before we subscribed)
        if self._backfill is not None:
            self._held.append(candle)
            return
        expected = interval_end(self.last_closed, self.interval)
        if candle.open_time > expected:
            self._held.append(candle)
            self._start_backfill(expected, candle.open_time)
            return
        self.last_closed = candle.open_time
        self.publish(candle)

    def on_up(self, down_since_ms: int | None, now_ms: int) -> None:
        super().on_up(down_since_ms, now_ms)
        if down_since_ms is None or self.last_closed is None or self._backfill is not None:
            return
        expected = interval_end(self.last_closed, self.interval)
        last_closed_now = bar_open(now_ms, self.interval)
        if expected < last_closed_now:
            self._start_backfill(expected, last_closed_now)

    def _start_backfill(self, start: int, end: int) -> None:
        self._backfill = self.hub.spawn(self._fill(start, end))

    async def _fill(self, start: int, end: int) -> None:
        candles: Sequence[Any] = ()
        for attempt in range(self.backfill_attempts):
            try:
                candles = await self.hub.session.afetch(
                    self.query.model, exchange=self.query.exchange, symbol=self.query.symbol,
                    interval=self.interval, start=start, end=end)
                break
            except TradeFloodError as exc:
                log.warning("%s: backfill of %d..%d failed (%s)", self.topic.name, start, end, exc)
                await self.hub.clock.sleep(min(30.0, 2.0 ** attempt))
        self._backfill = None
        # What the stream closed inside the range while the fetch ran counts as found too.
        found = {c.open_time: c for c in self._held if start <= c.open_time < end}
        fetched = {c.open_time: c for c in candles if c.closed and start <= c.open_time < end}
        found.update(fetched)
        last = self.last_closed
        expected = start if last is None else max(start, interval_end(last, self.interval))
        for open_time in sorted(found):
            if open_time < expected:
                continue  # already handed out
            if open_time > expected:
                self._gap(expected, open_time)
            self.backfilled += open_time in fetched
            self.last_closed = open_time
            expected = interval_end(open_time, self.interval)
            self.publish(found[open_time])
        if expected < end:
            self._gap(expected, end)
        # The range is covered now: what the venue has no candle for stays a hole, not a new wait.
        self.last_closed = max(self.last_closed or 0, bar_open(end - 1, self.interval))
        held, self._held = sorted(self._held, key=lambda c: c.open_time), []
        for candle in held:
            self._close(candle)

    def _gap(self, start: int, end: int) -> None:
        """Closed candles opening in ``[start, end)`` will never be handed out: say so."""
        log.warning("%s: no closed candles from %d to %d, on the stream or over REST", self.topic.name,
                    start, end)
        self.event(CandleGap(self.query.exchange, self.query.symbol or "",
                             int(self.hub.clock.time() * 1000), start_ms=start, end_ms=end))
