"""One owned topic: its upstream stream read through a Session, published under the topic's lease.

A worker starts after its process took the topic's lease. It looks at the
stream's tail first: if another process published before (a failover, a
handover, a restart), the first thing it publishes is the hole, as the event
the library uses for that kind of data (``TradeGap``, ``CandleGap``,
``BookResync``, ``Reconnected``), together with a fresh snapshot, and it never
republishes what is already there (trades and candles at or before the tail
are dropped). Candles are not left as a hole: the ones that closed since the
last published candle are fetched over REST, once and in order, and published
before the live ones (at most ``BACKFILL_BARS``; what is older, or what the
venue would not give, is still marked with a ``CandleGap``). Items the worker
could not take because its stream's queue overflowed leave a hole marked the
same way before the next item. Publishes are
batched: while one is on its way to Redis, the next items gather. A refused
publish (the lease is gone) stops the worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from tradeflood.errors import StreamOverflowError, TradeFloodError
from tradeflood.intervals import bar_open, interval_end, interval_ms
from tradeflood.models import Candle, Liquidation, OrderBook, PriceCandle, Trade
from tradeflood.streams import BookResync, CandleGap, Reconnected, StreamEvent, TradeGap

from ._codec import Entry, book_delta, book_fields, encode_book, encode_event, encode_item

if TYPE_CHECKING:
    from tradeflood.session import Session

    from ._backend import Bus, Trim
    from ._config import Subscription

__all__ = ["Worker"]

log = logging.getLogger("tradeflood.bus")
_MAX_PENDING = 100_000
_BATCH = 1000  # entries per publish script: big enough to amortise, small enough not to stall Redis
BACKFILL_BARS = 1000
"""Most candles a takeover fetches over REST to fill what closed while nobody published."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _trade_key(ident: str, timestamp: int) -> tuple[int, int, str]:
    """Trades in the order the venue made them: numeric id first where there is one, then time."""
    return (int(ident), timestamp, ident) if ident.isdigit() else (-1, timestamp, ident)


_BARS = (Candle, PriceCandle)
"""Trade candles and mark and index bars: published once closed, in open-time order, backfilled."""


def _venue_ts(item: Any) -> int | None:
    if isinstance(item, _BARS):
        return int(item.open_time)
    stamp: object = getattr(item, "timestamp", None)
    return stamp if isinstance(stamp, int) else None


class Worker:
    """Gathers one topic and publishes it; ``task`` ends when the topic stops or is lost."""

    def __init__(self, bus: Bus, session: Session, sub: Subscription, lease: str, trim: Trim,
                 member: str) -> None:
        self.bus = bus
        self.session = session
        self.sub = sub
        self.topic = sub.topic
        self.lease = lease
        self.trim = trim
        self.member = member
        self.published = 0
        self.lost = False
        self.error: BaseException | None = None
        self._pending: list[Entry] = []
        self._snapshot: Entry | None = None
        self._wake = asyncio.Event()
        self._prev_book: OrderBook | None = None
        self._last_trade: tuple[int, int, str] | None = None
        self._last_open: int | None = None
        self._last_liquidation: int | None = None
        self._hole: dict[str, Any] | None = None
        self._last_venue_ts: int | None = None  # of the last item taken
        self._backfilling = False  # until the first live candle after a takeover
        self._stopping = False
        self.task: asyncio.Task[None] = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        # The flag as well as the cancellation: redis-py can swallow a cancellation that lands
        # in the middle of a command, and the loops must end all the same.
        self._stopping = True
        self._wake.set()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    # -- reading upstream -----------------------------------------------------------------

    async def _run(self) -> None:
        flusher = asyncio.get_running_loop().create_task(self._flush_loop())
        try:
            await self._look_at_tail()
            if self._stopping:
                return
            stream = self.session.stream(self.topic.model, events=True, **self.sub.stream_params())
            try:
                await stream.ready()
                if self._last_open is not None:  # a candle topic taken over: what closed meanwhile
                    await self._backfill(bar_open(int(self.session.clock.time() * 1000), self._interval))
                taken = 0
                while not flusher.done() and not self._stopping:
                    try:
                        item = await stream.get()
                    except StreamOverflowError as exc:
                        log.warning("%s: the gatherer fell behind its upstream: %s", self.topic, exc)
                        self._missed(exc.missed)
                        continue
                    except StopAsyncIteration:  # the stream ended (a replay reached its end)
                        await self._drain(flusher)
                        break
                    if self._backfilling and isinstance(item, _BARS):
                        # The first live candle: whatever closed between the backfill and it.
                        self._backfilling = False
                        await self._backfill(item.open_time)
                    self._take(item)
                    taken += 1
                    if taken % 256 == 0:
                        # get() does not suspend while items wait: let the publisher and the lease
                        # renewals run, or a busy topic would starve them (and lose its lease).
                        await asyncio.sleep(0)
            finally:
                await stream.close()
        except TradeFloodError as exc:
            self.error = exc
            log.error("%s: upstream failed: %s", self.topic, exc)
        finally:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)

    async def _drain(self, flusher: asyncio.Task[None]) -> None:
        """Wait until what is queued has been published (or publishing has stopped)."""
        while (self._pending or self._snapshot is not None) and not flusher.done():
            self._wake.set()
            await asyncio.sleep(0.01)

    @property
    def _interval(self) -> str:
        return self.topic.interval or "1m"

    async def _backfill(self, end: int) -> None:
        """Publish the closed candles after the last published one and before ``end`` (over REST)."""
        assert self._last_open is not None
        start = interval_end(self._last_open, self._interval)
        start = max(start, end - BACKFILL_BARS * interval_ms(self._interval))
        if start >= end:
            return
        try:
            candles = await self.session.afetch(self.topic.model, exchange=self.topic.exchange,
                                                symbol=self.topic.symbol, interval=self._interval,
                                                start=start, end=end)
        except TradeFloodError as exc:  # the hole stays, marked when the first live candle comes
            log.warning("%s: could not backfill the candles of %d..%d: %s", self.topic, start, end, exc)
            return
        for candle in sorted(candles, key=lambda c: c.open_time):
            if start <= candle.open_time < end and candle.closed:
                self._take(candle)
        log.info("%s: %d candles backfilled after the takeover", self.topic, len(candles))

    async def _look_at_tail(self) -> None:
        """What was published before this worker: the last item, to skip and to measure the hole."""
        tail = await self.bus.last_entries(self.topic, 50)
        if not tail:
            return
        last_item = next((f for _, f in tail if f.get("type") in ("item", "delta", "snapshot")), None)
        self._hole = {"pub_ts": int(tail[0][1].get("pub_ts", "0")),
                      "venue_ts": int(last_item["venue_ts"]) if last_item else None}
        if last_item is not None and last_item["type"] == "item":
            data = orjson.loads(last_item["data"])
            if self.topic.model is Trade:
                self._last_trade = _trade_key(str(data["id"]), int(data["timestamp"]))
                self._hole["last_id"] = str(data["id"])
            elif issubclass(self.topic.model, _BARS):
                self._last_open = self._hole["last_open"] = int(data["open_time"])
                self._backfilling = True
            elif self.topic.model is Liquidation:
                self._last_liquidation = int(data["timestamp"])

    def _take(self, item: Any) -> None:
        recv = _now_ms()
        if isinstance(item, StreamEvent):
            if isinstance(item, BookResync):
                self._prev_book = None
            self._queue(encode_event(item, "upstream"))
            return
        if isinstance(item, Trade):
            key = _trade_key(item.id, item.timestamp)
            if self._last_trade is not None and key <= self._last_trade:
                return  # published before this worker took over
            self._last_trade = key
        elif isinstance(item, _BARS):
            if not item.closed or (self._last_open is not None and item.open_time <= self._last_open):
                return  # a forming bar (its closed version comes later), or published before
            self._last_open = item.open_time
        elif isinstance(item, Liquidation):
            if self._last_liquidation is not None and item.timestamp < self._last_liquidation:
                return  # older than the last one published before this worker took over
            self._last_liquidation = item.timestamp
        if self._hole is not None:
            self._mark_hole(item, recv)
        self._last_venue_ts = _venue_ts(item)
        if isinstance(item, OrderBook):
            fields = book_fields(item)
            self._snapshot = encode_book("snapshot", fields, recv)
            prev, self._prev_book = self._prev_book, item
            if prev is None:
                self._queue(self._snapshot)
            else:
                delta = book_delta(prev, item)
                if delta is not None:
                    self._queue(encode_book("delta", delta, recv))
            return
        entry = encode_item(item, recv)
        self._snapshot = entry
        self._queue(entry)

    def _missed(self, count: int) -> None:
        """Items this gatherer could not take (its queue overflowed): the next item is published
        after the event that marks the hole, as after a takeover, so no consumer takes the bus
        for whole where it is not."""
        if self._hole is not None:  # a hole not marked yet (a takeover's, or an earlier overflow's)
            return
        now = _now_ms()
        self._hole = {"pub_ts": now, "venue_ts": self._last_venue_ts or now,
                      "note": f"{self.member} fell behind: {count} item(s) missed"}
        if self._last_trade is not None:
            self._hole["last_id"] = self._last_trade[2]
        if self._last_open is not None:
            self._hole["last_open"] = self._last_open

    def _mark_hole(self, item: Any, now: int) -> None:
        """The first thing published after a takeover or an overflow: the span of the hole."""
        hole, self._hole = self._hole, None
        assert hole is not None
        exchange, symbol = self.topic.exchange, self.topic.symbol
        since = hole["venue_ts"] or hole["pub_ts"]
        event: StreamEvent
        if isinstance(item, Trade):
            event = TradeGap(exchange, symbol, now, start_ms=since, end_ms=item.timestamp,
                             last_id=hole.get("last_id"))
        elif isinstance(item, _BARS):
            last_open = hole.get("last_open")
            if last_open is not None and item.open_time <= interval_end(last_open, self._interval):
                return  # it follows the last published candle: no hole (the backfill filled it)
            event = CandleGap(exchange, symbol, now, start_ms=since, end_ms=item.open_time)
        elif isinstance(item, OrderBook):
            event = BookResync(exchange, symbol, now, reason="a new gatherer took the topic over")
        else:
            event = Reconnected(exchange, symbol, now, down_ms=max(0, now - hole["pub_ts"]))
        self._queue(encode_event(event, hole.get("note") or f"takeover by {self.member}"))

    def _queue(self, entry: Entry) -> None:
        if len(self._pending) >= _MAX_PENDING:
            log.warning("%s: %d entries wait for Redis; dropping the oldest", self.topic, len(self._pending))
            del self._pending[: len(self._pending) // 2]
        self._pending.append(entry)
        self._wake.set()

    # -- publishing ----------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        from ._errors import FencedError

        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending[:_BATCH], self._pending[_BATCH:]
            if self._pending:
                self._wake.set()  # the rest goes in the next script call
            snapshot, self._snapshot = self._snapshot, None
            if not batch and snapshot is None:
                continue
            try:
                await self.bus.publish(self.topic, self.lease, batch, snapshot, self.trim)
            except FencedError as exc:
                self.lost = True
                log.warning("%s", exc)
                return
            except (OSError, ConnectionError) as exc:
                await self._retry_later(batch, snapshot, exc)
                continue
            except Exception as exc:  # redis-py's own connection errors
                if type(exc).__module__.startswith("redis"):
                    await self._retry_later(batch, snapshot, exc)
                    continue
                raise
            self.published += len(batch)

    async def _retry_later(self, batch: list[Entry], snapshot: Entry | None, exc: BaseException) -> None:
        log.warning("%s: the bus did not take %d entries (%s); retrying", self.topic, len(batch), exc)
        self._pending[:0] = batch
        if self._snapshot is None:
            self._snapshot = snapshot
        self._wake.set()
        await asyncio.sleep(0.5)
