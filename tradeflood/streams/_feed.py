"""Feeds: what one upstream subscription does with its parsed items before consumers see them.

A feed is the level-2 resource of the stream graph: one per upstream topic,
shared by every consumer of it. It parses each frame once (through the stream
binding) and publishes the result to its deliveries (one per distinct set of
consumer options). The model decides the feed: tickers pass through, candles
are closed exactly once and in order (backfilled over REST after an outage),
trades are de-duplicated and outages reported, books are kept in sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tradeflood.checks import Violation, frame_rule
from tradeflood.errors import PayloadError, StreamRejectedError

from ._events import FrameRefused, Reconnected, StreamEvent

# import cycle: types only: the hub makes feeds and subscriptions, which call back into it
if TYPE_CHECKING:
    from tradeflood.query import Query

    from ._binding import StreamBinding
    from ._delivery import Consumer, Delivery, Options
    from ._hub import StreamHub
    from ._protocol import Frame, Topic

__all__ = ["Feed"]

log = logging.getLogger("tradeflood.streams")


class Feed:
    """The shared state of one upstream subscription, fanning its items out to deliveries."""

    def __init__(self, hub: StreamHub, binding: StreamBinding | None, query: Query, topic: Topic,
                 native_symbol: str = "") -> None:
        self.hub = hub
        self.binding = binding  # None for a poller: it parses nothing itself
        self.query = query
        self.topic = topic
        self.native_symbol = native_symbol
        self.deliveries: list[Delivery] = []
        # With one delivery of one consumer and nothing to render or throttle, publishing is one
        # call of that consumer's sink (see rewire()); None: through the deliveries.
        self._direct: Consumer | None = None
        self._sink: Callable[[Any], None] | None = None
        self._sink_many: Callable[[list[Any]], None] | None = None  # the one consumer's, if it has one
        self.frames = 0
        self.bad_frames = 0
        self.closed = False
        #: Whether the topic was already carried (for another model) when this feed started.
        self.joined_live = False
        self._renders = type(self).render is not Feed.render  # else every delivery gets the item
        # The value checks of this stream's items (tradeflood.checks), by the items' class.
        self._kind: type | None = None
        self._rule: Callable[[Sequence[Any]], list[Violation]] | None = None

    # -- from the connection -----------------------------------------------------------

    def on_frames(self, frames: Sequence[Frame], received_ms: int) -> None:
        """The frames of this topic that came in one socket chunk, in order (see :meth:`on_frame`)."""
        for frame in frames:
            try:
                self.on_frame(frame, received_ms)
            except Exception:  # a bug in one frame's handling must not cost the frames after it
                log.exception("%s: handling a frame failed", self.topic.name)

    def on_frame(self, frame: Frame, received_ms: int) -> None:
        self.frames += 1
        try:
            assert self.binding is not None
            items = self.binding.parse(self.query, self.topic, frame, received_ms)
        except PayloadError as exc:
            # A frame the venue garbled is refused, not fatal: the next one carries on.
            self.refuse(exc, received_ms)
            return
        self.accept(items, frame, received_ms)

    def accept(self, items: Sequence[Any], frame: Frame, received_ms: int) -> None:
        """A frame's parsed items: checked (:mod:`tradeflood.checks`), then received, or refused."""
        if items:
            kind, rule = type(items[0]), self._rule
            if kind is not self._kind or rule is None:  # the rule of this stream's items, chosen once
                self._kind = kind
                rule = self._rule = frame_rule(kind, self.query.interval)
            found = rule(items)
            if found:
                self.refuse(found[0].error(self.topic.venue, f"ws {self.topic.name}", "item"), received_ms)
                return
        self.receive(items, frame, received_ms)

    def refuse(self, problem: PayloadError, received_ms: int) -> None:
        """A frame could not be read or held an impossible value (:mod:`tradeflood.checks`):
        nothing of it is delivered, consumers get a :class:`FrameRefused` event."""
        self.bad_frames += 1
        log.warning("%s: frame refused: %s", self.topic.name, problem)
        self.event(FrameRefused(self.query.exchange, self.query.symbol or "", received_ms,
                                topic=self.topic.name, reason=problem.detail))

    def receive(self, items: Sequence[Any], frame: Frame, received_ms: int) -> None:
        """What to do with a frame's parsed items; by default publish each."""
        for item in items:
            self.publish(item)

    def on_up(self, down_since_ms: int | None, now_ms: int) -> None:
        if down_since_ms is not None:
            self.event(Reconnected(self.query.exchange, self.query.symbol or "", now_ms,
                                   down_ms=now_ms - down_since_ms))

    def on_down(self, now_ms: int, reason: str) -> None:
        """The connection dropped; it is coming back by itself."""

    def on_rejected(self, detail: str) -> None:
        self.hub.fail_feed(self, StreamRejectedError(self.topic.venue, self.topic.name, detail))

    # -- to consumers -----------------------------------------------------------------------

    def add_delivery(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        delivery.changed = self.rewire
        self.rewire()

    def remove_delivery(self, delivery: Delivery) -> None:
        if delivery in self.deliveries:
            self.deliveries.remove(delivery)
        delivery.changed = None
        self.rewire()

    def rewire(self) -> None:
        """Choose how :meth:`publish` reaches the consumers, after any of them came or went."""
        direct = None
        if not self._renders and len(self.deliveries) == 1:
            direct = self.deliveries[0].only_consumer()
        self._direct = direct
        self._sink = direct.sink if direct is not None else None
        self._sink_many = direct.sink_many if direct is not None else None

    def publish(self, item: Any) -> None:
        sink = self._sink
        if sink is not None:  # the hot path: one consumer
            try:
                sink(item)
            except Exception as exc:
                self.sink_failed(exc)
            return
        if self._renders:
            for delivery in self.deliveries:
                delivery.deliver(self.render(item, delivery.options))
        else:
            for delivery in self.deliveries:
                delivery.deliver(item)

    def sink_failed(self, exc: Exception) -> None:
        """The one consumer's sink raised (see :meth:`publish`)."""
        assert self._direct is not None
        self._direct.sink_failed(exc)

    def event(self, event: StreamEvent) -> None:
        for delivery in self.deliveries:
            delivery.event(event)

    def render(self, item: Any, options: Options) -> Any:
        """What a delivery with ``options`` gets for ``item`` (a book cut to its depth...)."""
        return item

    def welcome(self, delivery: Delivery) -> Sequence[Any]:
        """What a consumer joining a live feed gets at once (the current book): by default the
        binding's :meth:`~tradeflood.streams.StreamBinding.current` state of a topic that is
        live (this feed has read it, or joined it already carried), never a stale one."""
        if self.binding is None or not (self.frames or self.joined_live):
            return ()
        try:
            return self.binding.current(self.query, self.topic)
        except PayloadError as exc:
            log.warning("%s: no current value for a joining consumer: %s", self.topic.name, exc)
            return ()

    def close(self) -> None:
        self.closed = True
