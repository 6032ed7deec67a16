"""StreamHub: one session's live streams as a three-level RedFlow graph.

Level 1 clusters consumers by **connection** (venue endpoint, at most the
venue's topic limit per connection), level 2 by **upstream subscription**
(venue, channel, symbol, params, and the model read from it: one :class:`Feed`), level 3 by
**consumer options** (depth, throttle, open candles: one :class:`Delivery`). The graph's
hooks start and stop the resources: a new level-2 cluster subscribes upstream,
an evicted one unsubscribes, and an evicted level-1 cluster closes its socket.
So N consumers of one stream cause one upstream subscription, whatever their
options, and the last one leaving takes the subscription (and an emptied
connection) with it. One venue topic may serve several models (a perpetual's ticker
topic may carry the ticker, the funding rate and the open interest): each model
has its own feed, and the feeds share the one upstream subscription.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Coroutine
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tradeflood.errors import QueryError, UnknownSymbolError
from tradeflood.redflow import ClusterEvent, RedFlow, Source, SourceEvent

from ._binding import StreamBinding
from ._candlefeed import CandleFeed
from ._connection import Backoff, Connection
from ._delivery import Delivery
from ._fanout import TopicFanout
from ._feed import Feed
from ._host import StreamHost
from ._poll import PollFeed, poll_topic
from ._protocol import Topic
from ._tradefeed import TradeFeed

if TYPE_CHECKING:
    from tradeflood.models import Instrument
    from tradeflood.query import Query

    from ._connection import ConnectionTap
    from ._subscription import Subscription

__all__ = ["StreamHub", "StreamSettings"]

log = logging.getLogger("tradeflood.streams")


class ConnectionTaps(Protocol):
    """Gives each new connection its :class:`ConnectionTap` (see ``tradeflood.recording``)."""

    def connection(self, venue: str, endpoint: str, label: str, base_url: str) -> ConnectionTap: ...

    def hand_over(self) -> AbstractContextManager[None]:
        """Wraps a feed's REST fetch whose result it applies among its frames (a book
        snapshot): a recorder marks when the reply was handed over, a replay ignores it."""
        ...


@dataclass
class StreamSettings:
    """How a session's streams behave: reconnection backoff, stale detection (a topic
    quiet for ``stale_after`` times its usual interval reconnects), WebSocket keepalive,
    the default consumer queue size, and the local address WebSocket connections leave
    from (``local_address``: an egress IP of this machine; None lets the system choose)."""

    backoff: Backoff = field(default_factory=Backoff)
    stale_after: float = 3.0
    open_timeout: float = 10.0
    queue_size: int = 10_000
    tap: ConnectionTaps | None = None  # sees every connection's raw traffic (a recorder)
    connection_class: type[Connection] = Connection  # what carries a connection (a replay swaps it)
    local_address: str | None = None


@dataclass(frozen=True, slots=True)
class _Attachment:
    """A subscription attached to the graph: what its source carries to every level (the
    binding, the upstream topic, the connection slot it was placed on)."""

    sub: Subscription
    binding: StreamBinding | None
    topic: Topic
    connection: tuple[str, str, int]
    native_symbol: str = ""


class StreamHub:
    """The live streams of one :class:`~tradeflood.Session` (its :class:`StreamHost`)."""

    def __init__(self, session: StreamHost, settings: StreamSettings | None = None) -> None:
        self.session = session
        self.clock = session.clock
        self.settings = settings or StreamSettings()
        self.connections = RedFlow(self._by_connection, name="connection")
        self.upstreams = RedFlow(self._by_topic, name="upstream")
        self.deliveries = RedFlow(self._by_options, name="delivery")
        self.connections.link_child("upstream", self.upstreams)
        self.upstreams.link_child("delivery", self.deliveries)
        self.connections.on_cluster_new(self._open_connection)
        self.connections.on_cluster_evict(self._close_connection)
        self.upstreams.on_cluster_new(self._start_feed)
        self.upstreams.on_cluster_evict(self._stop_feed)
        self.deliveries.on_cluster_new(self._start_delivery)
        self.deliveries.on_cluster_evict(self._stop_delivery)
        self.deliveries.on_source_add(self._join)
        self.deliveries.on_source_remove(self._leave)
        self._placed: dict[tuple[str, str, str], tuple[str, str, int]] = {}
        # The feeds reading each carried topic (several when models share a venue topic).
        self._readers: dict[tuple[str, str, str], list[Feed]] = {}
        self._load: dict[tuple[str, str, int], int] = defaultdict(int)
        self._instruments: dict[str, asyncio.Task[list[Instrument]]] = {}
        self._bindings: dict[type[StreamBinding], StreamBinding] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Sockets being closed: never cancelled (a cancelled close could leave one open), awaited
        # by aclose(), and forgotten once done.
        self._closing: set[asyncio.Task[None]] = set()

    # -- for subscriptions ------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task owned by the hub (cancelled when the session closes)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def prepare(self, query: Query) -> None:
        """What a new subscription needs done before anything of it is in flight: a candle
        feed backfills over REST into tables, and importing the column libraries holds the
        interpreter for seconds on a loaded machine. Paid here, it delays no request and no
        ping; paid at the first backfill (just after a reconnection), it stalled the loop past
        the venue's idle timeout, and the venue dropped the connection again."""
        from tradeflood.models import Candle, PriceCandle

        if query.model is Candle or issubclass(query.model, PriceCandle):
            from tradeflood.columnar._series import warm_up

            warm_up()

    async def attach(self, sub: Subscription) -> None:
        """Resolve the subscription's symbol and topic, then add it to the graph."""
        query = sub.query
        poll = query.options.get("poll")
        binding: StreamBinding | None = None
        native = ""
        if poll is not None:
            topic = poll_topic(query, float(poll))
        else:
            binding = self._binding(query)
            instrument = await self._instrument(query, binding)
            topic = binding.topic(query, instrument)
            native = instrument.native_symbol
        key = topic.key
        placed = self._placed.get(key)
        if placed is None:
            placed = self._place(topic, binding)
        self.connections.add_source(Source(sub.id, _Attachment(sub, binding, topic, placed, native)))

    def detach(self, sub: Subscription) -> None:
        if sub.id in self.connections.sources:
            self.connections.remove(sub.id)

    def fail_feed(self, feed: Feed, exc: BaseException) -> None:
        """End every consumer of ``feed`` with ``exc`` (the venue refused the topic)."""
        for delivery in list(feed.deliveries):
            for consumer in list(delivery.consumers):
                consumer.fail(exc)
        ids = [sid for sid, src in self.connections.sources.items()
               if src.data.topic.key == feed.topic.key and src.data.sub.query.model is feed.query.model]
        self.connections.remove_sources(ids)

    async def aclose(self) -> None:
        ids = list(self.connections.sources)
        if ids:
            self.connections.remove_sources(ids)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._closing, return_exceptions=True)

    def stats(self) -> dict[str, int]:
        """Counts for tests and dashboards: consumers, upstream subscriptions, connections."""
        return {
            "consumers": len(self.connections.sources),
            # Venue subscriptions: the feeds of several models reading one topic count once.
            "upstreams": len({c.data.topic.key for c in self.upstreams.iter_clusters()}),
            "deliveries": sum(1 for _ in self.deliveries.iter_clusters()),
            "connections": sum(1 for c in self.connections.iter_clusters() if c.ctx.__dict__.get("ws")),
            "tasks": len(self._tasks) + len(self._closing),
        }

    # -- resolving a query --------------------------------------------------------------------

    def _binding(self, query: Query) -> StreamBinding:
        from tradeflood import registry

        cls = registry.lookup_stream(query.model, query.exchange)
        binding = self._bindings.get(cls)
        if binding is None:
            binding = self._bindings[cls] = cls(self.session.connector(cls.connector))
        return binding

    async def _instrument(self, query: Query, binding: StreamBinding) -> Instrument:
        """The listed instrument of the query's symbol, from the listing the binding names
        (fetched once per session and listing)."""
        from tradeflood import registry
        from tradeflood.models import Instrument

        if query.symbol is None:
            raise QueryError(f"a {query.model.__name__} stream needs a symbol")
        params = dict(binding.instruments(query))
        venue = str(params.get("exchange", query.exchange))
        if (Instrument, venue) not in registry.bindings_for(Instrument):
            raise QueryError(
                f"{type(binding).__name__} streams look symbols up in {venue}'s instrument list, but "
                f"no Instrument binding serves {venue}: define one (a Binding with model=Instrument), "
                "or override instruments() to name a listing that exists")
        key = repr(sorted(params.items()))
        listing = self._instruments.get(key)
        if listing is None or (listing.done() and listing.exception() is not None):
            listing = asyncio.ensure_future(self.session.afetch(Instrument, **params))
            self._instruments[key] = listing
        instruments = await asyncio.shield(listing)
        for instrument in instruments:
            if instrument.symbol == query.symbol:
                return instrument
        raise UnknownSymbolError(query.exchange, query.symbol, [i.symbol for i in instruments])

    def _place(self, topic: Topic, binding: StreamBinding | None) -> tuple[str, str, int]:
        """The connection a new topic goes on: the first of its endpoint with room, or a new one."""
        if binding is None:
            slot = (topic.venue, topic.endpoint, 0)
        else:
            most = binding.connector.streams[topic.endpoint].max_topics
            n = 0
            while self._load[(topic.venue, topic.endpoint, n)] >= most:
                n += 1
            slot = (topic.venue, topic.endpoint, n)
        self._load[slot] += 1
        self._placed[topic.key] = slot
        return slot

    # -- the graph's mappers -----------------------------------------------------------------

    @staticmethod
    def _by_connection(source: Source, creator: Any, parent: Any) -> None:
        attached: _Attachment = source.data
        is_new, cluster = creator.get_or_create(attached.connection)
        if is_new:
            cluster.data = attached

    @staticmethod
    def _by_topic(source: Source, creator: Any, parent: Any) -> None:
        attached: _Attachment = source.data
        is_new, cluster = creator.get_or_create((attached.topic.key, attached.sub.query.model))
        if is_new:
            cluster.data = attached

    @staticmethod
    def _by_options(source: Source, creator: Any, parent: Any) -> None:
        attached: _Attachment = source.data
        is_new, cluster = creator.get_or_create(attached.sub.options)
        if is_new:
            cluster.data = attached.sub.options

    # -- the graph's hooks: resources follow clusters ----------------------------------------

    def _open_connection(self, event: ClusterEvent) -> None:
        attached: _Attachment = event.cluster.data
        if attached.binding is None:
            return  # pollers need no socket
        api = attached.binding.api
        venue, endpoint, n = attached.connection
        label = f"{venue} {endpoint} #{n}"
        scheme = self.session.proxies
        egress = None if scheme is None else (lambda: scheme.stream_egress(venue, key=label))
        taps = self.settings.tap
        event.cluster.ctx.ws = self.settings.connection_class(
            label=label, base_url=api.base_urls[endpoint],
            protocol=attached.binding.connector.streams[endpoint], clock=self.clock,
            backoff=self.settings.backoff, stale_after=self.settings.stale_after,
            open_timeout=self.settings.open_timeout, egress=egress,
            tap=None if taps is None else taps.connection(venue, endpoint, label, api.base_urls[endpoint]),
            local_address=self.settings.local_address)

    def _close_connection(self, event: ClusterEvent) -> None:
        ws: Connection | None = event.cluster.ctx.__dict__.get("ws")
        if ws is not None:
            task = asyncio.get_running_loop().create_task(ws.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _start_feed(self, event: ClusterEvent) -> None:
        attached: _Attachment = event.cluster.data
        if attached.binding is None:
            feed: Feed = PollFeed(self, None, attached.sub.query, attached.topic)
        else:
            feed = self._feed_class(attached.binding)(self, attached.binding, attached.sub.query,
                                                      attached.topic, attached.native_symbol)
        event.cluster.ctx.feed = feed
        ws: Connection | None = event.parent_cluster.ctx.__dict__.get("ws") if event.parent_cluster else None
        if ws is not None:
            feed.connection = ws  # type: ignore[attr-defined]
            readers = self._readers.setdefault(attached.topic.key, [])
            readers.append(feed)
            if len(readers) == 1:
                ws.add(attached.topic, feed)
            else:  # another model of a topic already carried: read it too, subscribe once
                feed.joined_live = True  # its consumers start from the topic's current state
                ws.route(attached.topic, TopicFanout(readers))
        elif isinstance(feed, PollFeed):
            feed.start()

    def _stop_feed(self, event: ClusterEvent) -> None:
        attached: _Attachment = event.cluster.data
        feed: Feed = event.cluster.ctx.feed
        feed.close()
        parent = event.parent_cluster
        ws: Connection | None = parent.ctx.__dict__.get("ws") if parent is not None else None
        readers = self._readers.get(attached.topic.key, [])
        if feed in readers:
            readers.remove(feed)
        if readers:  # other models still read the topic: keep it, without this feed
            if ws is not None:
                ws.route(attached.topic, readers[0] if len(readers) == 1 else TopicFanout(readers))
            return
        self._readers.pop(attached.topic.key, None)
        if ws is not None:
            ws.remove(attached.topic)
        slot = self._placed.pop(attached.topic.key, None)
        if slot is not None:
            self._load[slot] -= 1
            if self._load[slot] <= 0:
                del self._load[slot]

    def _start_delivery(self, event: ClusterEvent) -> None:
        feed: Feed = event.parent_cluster.ctx.feed  # type: ignore[union-attr]
        delivery = Delivery(event.cluster.data, self.clock, self.spawn)
        event.cluster.ctx.delivery = delivery
        feed.add_delivery(delivery)

    def _stop_delivery(self, event: ClusterEvent) -> None:
        delivery: Delivery = event.cluster.ctx.delivery
        feed: Feed = event.parent_cluster.ctx.feed  # type: ignore[union-attr]
        feed.remove_delivery(delivery)
        delivery.close()

    def _join(self, event: SourceEvent) -> None:
        delivery: Delivery = event.cluster.ctx.delivery
        consumer = event.source.data.sub.consumer
        delivery.add(consumer)
        feed: Feed = event.cluster.parent.ctx.feed  # type: ignore[union-attr]
        for item in feed.welcome(delivery):
            consumer.deliver(item)

    def _leave(self, event: SourceEvent) -> None:
        delivery: Delivery = event.cluster.ctx.delivery
        consumer = event.source.data.sub.consumer
        delivery.remove(consumer)

    @staticmethod
    def _feed_class(binding: StreamBinding) -> type[Feed]:
        from tradeflood.models import Candle, OrderBook, PriceCandle, Trade

        if binding.model is Candle or issubclass(binding.model, PriceCandle):
            return CandleFeed
        if binding.model is Trade:
            return TradeFeed
        if binding.model is OrderBook:
            from ._bookfeed import BookFeed

            return BookFeed
        return Feed
