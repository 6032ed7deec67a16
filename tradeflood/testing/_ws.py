"""WebSocket plumbing shared by the simulated venues' streams: clients, feeds, fan-out, limits, faults.

A :class:`StreamServer` serves one venue's WebSocket API on its own port with
the ``websockets`` asyncio server. Every topic a client may subscribe to is a
:class:`Feed`, shared by all its subscribers: a pump polls each feed at its own
pace, and each message is encoded once per wire variant (Binance's raw and
combined envelopes) and written to every subscriber with ``broadcast``. Values
come from the venue's clock (through its :class:`Market`); pacing, keep-alive
and rate windows use this server's own clock, real time by default, so a
server in its own thread paces itself while a test moves the venue's clock.
Subclasses speak the venue's protocol (:meth:`StreamServer.on_open`,
:meth:`StreamServer.on_message`) and name its feeds.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tradeflood.clock import Clock, LiveClock
from tradeflood.testing._venue import Venue

if TYPE_CHECKING:
    from tradeflood.testing._grid import Grid
    from tradeflood.testing._market import Instrument, Market

__all__ = ["BarFeed", "Client", "Feed", "StreamServer", "StreamStats", "dumps", "new_trade_ids"]


def dumps(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"))


@dataclass
class StreamStats:
    """Counters of one venue's WebSocket side, for tests and benchmarks.

    ``subscriptions`` maps each active topic to the number of connections
    subscribed to it (a topic with no subscriber is absent), so "exactly one
    upstream subscription" is ``stats.subscriptions[topic] == 1``.
    ``subscribe_requests`` and ``unsubscribe_requests`` count what clients asked for, by
    topic, repeats included (a client asking twice for one topic counts twice).
    ``closed`` counts server-side closes by reason: ``rate`` (too many
    messages), ``streams`` (too many subscriptions), ``idle``, ``pong``,
    ``dropped`` (the fault). ``client_close_codes`` counts the close codes
    clients sent when they closed (1000 for a normal close).
    """

    connections_accepted: int = 0
    connections_open: int = 0
    accepted_by_ip: Counter[str] = field(default_factory=Counter)
    open_by_ip: Counter[str] = field(default_factory=Counter)
    rejected_connects: int = 0
    messages_received: int = 0
    subscribe_messages: int = 0
    messages_sent: int = 0
    subscriptions: Counter[str] = field(default_factory=Counter)
    subscribe_requests: Counter[str] = field(default_factory=Counter)
    unsubscribe_requests: Counter[str] = field(default_factory=Counter)
    closed: Counter[str] = field(default_factory=Counter)
    client_close_codes: Counter[int] = field(default_factory=Counter)

    def reset(self) -> None:
        """Zero the counters (the live ``connections_open``/``subscriptions`` views are kept)."""
        self.connections_accepted = self.rejected_connects = 0
        self.messages_received = self.subscribe_messages = self.messages_sent = 0
        self.accepted_by_ip.clear()
        self.subscribe_requests.clear()
        self.unsubscribe_requests.clear()
        self.closed.clear()
        self.client_close_codes.clear()


@dataclass(eq=False)
class Client:
    """One accepted WebSocket connection and what it has subscribed to."""

    ws: ServerConnection
    ip: str
    variant: str = "raw"
    topics: dict[str, Feed] = field(default_factory=dict)
    received: deque[float] = field(default_factory=deque)
    last_seen: float = 0.0
    silent_until: float = 0.0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    state: dict[str, Any] = field(default_factory=dict)  # whatever the venue's protocol keeps per connection


class Feed(ABC):
    """One topic, produced once for all its subscribers from the venue's clock.

    ``interval`` is the pause (seconds) between two polls; ``native`` is the
    venue symbol the topic is about, for the per-symbol faults.
    """

    def __init__(self, key: str, native: str, interval: float) -> None:
        self.key = key
        self.native = native
        self.interval = interval
        self.due = 0.0
        self.subscribers: dict[Client, None] = {}

    def first(self, now_ms: int) -> list[Any]:
        """Messages a new subscriber gets before the shared ones (Bitget's first snapshot)."""
        return []

    @abstractmethod
    def poll(self, now_ms: int) -> list[Any]:
        """Messages for every subscriber, as of ``now_ms`` on the venue's clock."""

    def skip_next(self) -> bool:
        """Withhold the next delta (book feeds only); False when the feed has no sequence."""
        return False

    def corrupt_next(self) -> bool:
        """Send the next checksum wrong (Bitget book feeds only)."""
        return False


class BarFeed(Feed):
    """A candle topic's bookkeeping: which bars a poll pushes, each closed bar once and in order.

    Mixed into a venue's candle feed, which sets ``grid`` and pushes :meth:`opens` in its own
    wire shape. However late the pump comes (a loaded machine, a sped-up clock), every bar closed
    since the last poll is pushed, not only the last, so a bar missing on the wire is a fault a
    test made on purpose.
    """

    #: At most this many closed bars are caught up in one poll (a feed left unpolled for long).
    catch_up = 1000
    grid: Grid
    open_ms: int | None = None  # the forming bar's open time as of the last poll

    def opens(self, now_ms: int) -> list[int]:
        """The bars to push at ``now_ms``: each closed since the last poll (the newest
        ``catch_up`` of them), oldest first, then the forming one."""
        open_ms = self.grid.floor(now_ms)
        last, self.open_ms = self.open_ms, open_ms
        if last is None or last >= open_ms:
            return [open_ms]
        closed = list(islice(self.grid.backward(self.grid.prev(open_ms), last), self.catch_up))
        return [*reversed(closed), open_ms]


def new_trade_ids(market: Market, inst: Instrument, last_id: int | None, now_ms: int,
                  most: int = 1000) -> tuple[int, range]:
    """A trade stream's poll at ``now_ms``: the id it has pushed up to after this poll, and the
    ids of the trades made since ``last_id`` (the newest ``most`` of them). A stream that has
    pushed nothing yet (``last_id`` None) starts after the market's last trade, with none."""
    last = market.last_trade_id(inst, now_ms)
    if last_id is None:
        return last, range(0)
    if last <= last_id:
        return last_id, range(0)
    return last, range(max(last_id + 1, last - most + 1), last + 1)


class StreamServer(ABC):
    """A venue's WebSocket API on 127.0.0.1: connections, feeds, limits and faults."""

    name = "venue"
    pump_interval = 0.01  # seconds between two looks at the feeds

    def __init__(self, venue: Venue, *, clock: Clock | None = None) -> None:
        self.venue = venue
        self.clock: Clock = clock if clock is not None else LiveClock()
        self.stats = StreamStats()
        self.feeds: dict[str, Feed] = {}
        self.clients: set[Client] = set()
        self.port = 0
        self.message_limit = 10  # incoming messages per second per connection
        self._server: Server | None = None
        self._pump: asyncio.Task[None] | None = None
        self._rejections: deque[int] = deque()
        self._quiet: dict[str, float] = {}  # topic key -> until when it sends no updates

    # -- lifecycle ---------------------------------------------------------
    async def start(self, host: str = "127.0.0.1") -> int:
        """Listen on a free port of ``host``; returns the port."""
        self._server = await serve(
            self._handle, host, 0, process_request=self._admit_request,
            ping_interval=None, ping_timeout=None, close_timeout=1, max_queue=None,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self._pump = asyncio.get_running_loop().create_task(self._run_pump())
        return self.port

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        if self._server is not None:
            for client in list(self.clients):
                client.ws.transport.abort()
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # -- the venue's protocol -------------------------------------------------
    def routes(self, path: str) -> bool:
        """Whether ``path`` (with its query) is one of the venue's WebSocket endpoints."""
        return True

    async def on_open(self, client: Client, path: str) -> None:
        """Called once the handshake is done (Binance subscribes the URL's streams here)."""
        client.state.setdefault("path", path)

    @abstractmethod
    async def on_message(self, client: Client, message: str | bytes) -> None:
        """Answer one message from ``client``."""

    @abstractmethod
    def malformed_frames(self) -> list[str]:
        """Frames a client cannot parse or that have the wrong shape, for :meth:`send_malformed`."""

    def frames(self, feed: Feed, message: Any, variants: Iterable[str]) -> dict[str, str]:
        """``message`` encoded once per wire variant in use."""
        text = message if isinstance(message, str) else dumps(message)
        return {v: text for v in variants}

    # -- subscriptions -----------------------------------------------------
    def subscribe(self, client: Client, feed: Feed, ack: str | None = None) -> None:
        """Add ``client`` to ``feed`` (the one already running under its key, if any) and send its firsts.

        ``ack`` is sent between the two, once the subscription is counted in the stats.
        """
        self.stats.subscribe_requests[feed.key] += 1
        feed = self.feeds.setdefault(feed.key, feed)
        if feed.key not in client.topics:
            client.topics[feed.key] = feed
            feed.subscribers[client] = None
            self.stats.subscriptions[feed.key] += 1
        if ack is not None:
            self.send(client, ack)
        for message in feed.first(self.venue.now_ms()):
            self.send(client, self.frames(feed, message, (client.variant,))[client.variant])

    def unsubscribe(self, client: Client, key: str) -> None:
        """``client`` asked to stop getting ``key`` (counted in the stats)."""
        self.stats.unsubscribe_requests[key] += 1
        self._drop(client, key)

    def _drop(self, client: Client, key: str) -> None:
        feed = client.topics.pop(key, None)
        if feed is None:
            return
        feed.subscribers.pop(client, None)
        self.stats.subscriptions[key] -= 1
        if self.stats.subscriptions[key] <= 0:
            del self.stats.subscriptions[key]
        if not feed.subscribers:
            self.feeds.pop(key, None)

    def send(self, client: Client, text: str) -> None:
        """Write one frame to ``client`` now (in order with the feeds' frames), unless it is silenced."""
        if client.silent_until > self.clock.monotonic():
            return
        broadcast([client.ws], text)
        self.stats.messages_sent += 1

    def publish(self, feed: Feed, message: Any) -> None:
        now = self.clock.monotonic()
        targets: dict[str, list[ServerConnection]] = {}
        for client in feed.subscribers:
            if client.silent_until <= now:
                targets.setdefault(client.variant, []).append(client.ws)
        if not targets:
            return
        for variant, text in self.frames(feed, message, targets).items():
            broadcast(targets[variant], text)
            self.stats.messages_sent += len(targets[variant])

    async def _run_pump(self) -> None:
        while True:
            now = self.clock.monotonic()
            now_ms = self.venue.now_ms()
            for feed in list(self.feeds.values()):
                if feed.due <= now and feed.subscribers and self._quiet.get(feed.key, 0.0) <= now:
                    feed.due = now + feed.interval
                    for message in feed.poll(now_ms):
                        self.publish(feed, message)
            await self.clock.sleep(self.pump_interval)

    # -- connections -------------------------------------------------------
    def _admit_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self._rejections:
            status = self._rejections.popleft()
            self.stats.rejected_connects += 1
            return connection.respond(status, "Service Unavailable\n" if status == 503 else "Refused\n")
        if not self.routes(request.path):
            return connection.respond(404, "Not Found\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        peer = ws.remote_address
        client = Client(ws, str(peer[0]) if peer else "127.0.0.1", last_seen=self.clock.monotonic())
        self.clients.add(client)
        self.stats.connections_accepted += 1
        self.stats.connections_open += 1
        self.stats.accepted_by_ip[client.ip] += 1
        self.stats.open_by_ip[client.ip] += 1
        watchdog = asyncio.get_running_loop().create_task(self.watch(client))
        try:
            await self.on_open(client, ws.request.path if ws.request else "/")
            async for message in ws:
                client.last_seen = self.clock.monotonic()
                self.stats.messages_received += 1
                if not self._within_limit(client):
                    self.stats.closed["rate"] += 1
                    await self.close(client, 1008, "Too many requests")
                    break
                await self.on_message(client, message)
        except ConnectionClosed:
            pass
        finally:
            received = ws.protocol.close_rcvd
            if received is not None and ws.protocol.close_rcvd_then_sent:  # the client closed first
                self.stats.client_close_codes[received.code] += 1
            watchdog.cancel()
            for task in client.tasks:
                task.cancel()
            for key in list(client.topics):
                self._drop(client, key)
            self.clients.discard(client)
            self.stats.connections_open -= 1
            self.stats.open_by_ip[client.ip] -= 1
            if self.stats.open_by_ip[client.ip] <= 0:
                del self.stats.open_by_ip[client.ip]

    def _within_limit(self, client: Client) -> bool:
        now = self.clock.monotonic()
        window = client.received
        window.append(now)
        while window and window[0] <= now - 1.0:
            window.popleft()
        return len(window) <= self.limit_for(client)

    def limit_for(self, client: Client) -> int:
        """Incoming messages per second allowed on ``client``."""
        return self.message_limit

    async def watch(self, client: Client) -> None:
        """Keep-alive for one connection (server pings, idle timeouts); nothing by default."""
        return None

    async def close_when_idle(self, client: Client, timeout: float, code: int = 1000,
                              reason: str = "idle") -> None:
        """A :meth:`watch` for venues that drop quiet connections: close ``client`` with
        ``code``/``reason`` once nothing has come from it for ``timeout`` seconds (while the
        server is silenced, the client is not held to it)."""
        while True:
            await self.clock.sleep(min(1.0, timeout / 4))
            if self.silenced(client):
                client.last_seen = self.clock.monotonic()
            elif self.clock.monotonic() - client.last_seen > timeout:
                self.stats.closed["idle"] += 1
                await self.close(client, code, reason)
                return

    def subscribe_allowed(self, client: Client, limit: int, per: float = 3600.0) -> bool:
        """Count one subscribe request from ``client``: whether it is within ``limit`` requests
        in any ``per`` seconds."""
        now = self.clock.monotonic()
        ops = [t for t in client.state.get("subscribe_ops", []) if t > now - per] + [now]
        client.state["subscribe_ops"] = ops
        return len(ops) <= limit

    async def close(self, client: Client, code: int, reason: str) -> None:
        """Close ``client`` with a close frame, without waiting long for a slow peer."""
        try:
            await asyncio.wait_for(client.ws.close(code, reason), 1.0)
        except (TimeoutError, ConnectionClosed):
            client.ws.transport.abort()

    def silenced(self, client: Client) -> bool:
        return client.silent_until > self.clock.monotonic()

    # -- faults ------------------------------------------------------------
    def drop_connections(self, ip: str | None = None) -> int:
        """Abruptly close (TCP reset, no close frame) every connection, or those from ``ip``."""
        dropped = 0
        for client in list(self.clients):
            if ip is None or client.ip == ip:
                client.ws.transport.abort()
                self.stats.closed["dropped"] += 1
                dropped += 1
        return dropped

    def go_silent(self, seconds: float) -> None:
        """Keep every open socket but send nothing and read nothing (no pongs either) for ``seconds``."""
        until = self.clock.monotonic() + seconds
        loop = asyncio.get_running_loop()
        for client in list(self.clients):
            client.silent_until = until
            client.ws.transport.pause_reading()

            def wake(c: Client = client) -> None:
                if not c.ws.transport.is_closing():
                    c.ws.transport.resume_reading()

            loop.call_later(seconds, wake)

    def quiet_topic(self, key: str, seconds: float) -> None:
        """Send no updates of topic ``key`` for ``seconds`` (an illiquid market: a kline topic
        sends nothing while nothing trades), whoever subscribes; everything else flows."""
        self._quiet[key] = self.clock.monotonic() + seconds

    def skip_sequence(self, native_symbol: str) -> int:
        """Withhold the next book delta of ``native_symbol``; returns the number of feeds affected."""
        return sum(f.skip_next() for f in self.feeds.values() if f.native == native_symbol.upper())

    def corrupt_checksum(self, native_symbol: str) -> int:
        """Send the next book checksum of ``native_symbol`` wrong; returns the number of feeds affected."""
        return sum(f.corrupt_next() for f in self.feeds.values() if f.native == native_symbol.upper())

    def send_malformed(self, n: int = 1) -> None:
        """Send ``n`` unparsable or wrongly shaped frames to every client."""
        frames = self.malformed_frames()
        for client in list(self.clients):
            for i in range(n):
                self.send(client, frames[i % len(frames)])

    def reject_next_connect(self, status: int = 503, count: int = 1) -> None:
        """Refuse the next ``count`` handshakes with HTTP ``status``."""
        self._rejections.extend([status] * count)
