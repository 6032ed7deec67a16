"""One WebSocket connection to a venue endpoint, kept alive for the topics it carries.

A :class:`Connection` owns its socket and nothing else: it connects, subscribes
its topics (paced to the venue's message limit, batched per frame), pings the
way the venue wants, hands decoded data frames to each topic's sink, notices a
topic that has gone quiet for several times its usual interval, and after any
failure reconnects with capped exponential backoff and full jitter, then
subscribes everything again. What the data means is the sinks' business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import websockets
from websockets.asyncio.client import connect

from tradeflood.clock import Clock, LiveClock
from tradeflood.errors import NetworkError

from ._protocol import Frame, StreamProtocol, Topic
from ._wire import FastConnection

if TYPE_CHECKING:
    from tradeflood.proxy import StreamEgress

__all__ = ["Backoff", "Connection", "ConnectionTap", "TopicSink"]

log = logging.getLogger("tradeflood.streams")


class TopicSink(Protocol):
    """What a connection hands a topic's traffic to (a feed). A sink that also has
    ``on_frames(frames, received_ms)`` gets the consecutive frames of its topic in one socket
    chunk at once, in order; it then answers for each frame's failure itself."""

    def on_frame(self, frame: Frame, received_ms: int) -> None: ...

    def on_up(self, down_since_ms: int | None, now_ms: int) -> None: ...

    def on_down(self, now_ms: int, reason: str) -> None: ...

    def on_rejected(self, detail: str) -> None: ...


class ConnectionTap(Protocol):
    """What sees a connection's raw traffic (a recorder): each frame as it arrived, with the
    receive time in ns, and the connection going down and up with the topics it carried."""

    def frame(self, raw: bytes, received_ns: int) -> None: ...

    def carry(self, topic: str) -> None: ...

    def up(self, down_since_ms: int | None, now_ms: int, topics: list[str]) -> None: ...

    def down(self, now_ms: int, reason: str, topics: list[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnection delays: ``first * 2**attempt`` capped at ``most``, with full jitter."""

    first: float = 0.5
    most: float = 30.0
    jitter: bool = True

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.most, self.first * (2 ** min(attempt, 30)))
        return rng.uniform(0, ceiling) if self.jitter else ceiling


PONG_FLOOR = 2.0  # real seconds a ping's answer is always waited for (see Connection._answers_ping)


class _Stale(Exception):
    """The connection as a whole went silent and did not answer a ping."""


class _Closed(Exception):
    """The venue closed the connection."""


class Connection:
    """A WebSocket connection carrying up to ``protocol.max_topics`` topics of one endpoint."""

    def __init__(
        self,
        *,
        label: str,
        base_url: str,
        protocol: StreamProtocol,
        clock: Clock,
        backoff: Backoff | None = None,
        stale_after: float = 3.0,
        open_timeout: float = 10.0,
        ping_timeout: float = 10.0,
        egress: Callable[[], StreamEgress] | None = None,
        rng: random.Random | None = None,
        tap: ConnectionTap | None = None,
        local_address: str | None = None,
    ) -> None:
        self.label = label
        self.base_url = base_url
        self.protocol = protocol
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.stale_after = stale_after
        self.open_timeout = open_timeout
        self.ping_timeout = ping_timeout
        self._egress = egress
        self._rng = rng or random.Random()
        self._tap = tap
        self.local_address = local_address
        self._topics: dict[str, Topic] = {}
        self._sinks: dict[str, TopicSink] = {}
        # The carried topics of each venue subscription (several when one serves many symbols).
        self._sharing: dict[str, list[str]] = {}
        self._last_seen: dict[str, float] = {}
        self._allowance: dict[str, float] = {}  # a quiet topic's learned silence, beyond its usual
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._sent: deque[float] = deque()
        self._ws: FastConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._request_id = 0
        self._requests: dict[object, list[str]] = {}  # subscribe request id -> its topics
        self._down_since_ms: int | None = None
        self._now = 0.0
        self._now_ms = 0
        self._now_ns = 0
        # What _tick reads once per socket chunk: the system clock itself for a LiveClock (the
        # same readings, without a method call each), else the clock's own methods.
        live = type(clock) is LiveClock
        self._monotonic: Callable[[], float] = time.monotonic if live else clock.monotonic
        self._time: Callable[[], float] = time.time if live else clock.time
        self.connects = 0
        self.frames = 0
        self.malformed = 0
        self.quiet_resubscribes = 0

    # -- topics -------------------------------------------------------------------------

    @property
    def topics(self) -> Sequence[Topic]:
        return tuple(self._topics.values())

    def add(self, topic: Topic, sink: TopicSink) -> None:
        """Carry ``topic`` and hand its frames to ``sink``; subscribes at once when connected
        (unless the venue subscription carrying it is already made for another topic)."""
        known = topic.name in self._topics
        self._topics[topic.name] = topic
        self._sinks[topic.name] = sink
        self._last_seen[topic.name] = self.clock.monotonic()
        if self._tap is not None:
            self._tap.carry(topic.name)
        sharing = self._sharing.setdefault(self.protocol.subscription(topic), [])
        if not known:
            sharing.append(topic.name)
        if self._ws is not None and sharing[0] == topic.name:  # it holds the venue subscription
            self._queue_frames(self.protocol.subscribe, [topic])
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"tradeflood {self.label}")

    def route(self, topic: Topic, sink: TopicSink) -> None:
        """Hand ``topic``'s frames to ``sink`` from now on; the subscription stays as it is
        (when another model's feed starts or stops reading a topic already carried)."""
        if topic.name in self._topics:
            self._sinks[topic.name] = sink

    def remove(self, topic: Topic) -> None:
        """Stop carrying ``topic``; unsubscribes when connected and no other carried topic
        shares its venue subscription."""
        if self._topics.pop(topic.name, None) is None:
            return
        self._sinks.pop(topic.name, None)
        self._last_seen.pop(topic.name, None)
        self._allowance.pop(topic.name, None)
        key = self.protocol.subscription(topic)
        sharing = self._sharing.get(key, [])
        if topic.name in sharing:
            sharing.remove(topic.name)
        if sharing:
            return  # the venue subscription still carries other topics
        self._sharing.pop(key, None)
        if self._ws is not None:
            self._queue_frames(self.protocol.unsubscribe, [topic])

    def resubscribe(self, topic: Topic) -> None:
        """Unsubscribe and subscribe ``topic`` again, e.g. to get a fresh book snapshot."""
        if self._ws is not None and topic.name in self._topics:
            self._queue_frames(self.protocol.unsubscribe, [topic])
            self._queue_frames(self.protocol.subscribe, [topic])

    async def close(self) -> None:
        """Close the socket with a normal closing handshake (code 1000), then stop the connection."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            # Cancelling the task inside ``async with connect()`` would close with 1011
            # (internal error); a session closing is a normal close. The handshake is bounded
            # by the connection's close_timeout.
            with contextlib.suppress(websockets.WebSocketException, OSError):
                await ws.close(1000, "client closing")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- the connection's life -------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self._closing and self._topics:
            reason = "closed"
            try:
                await self._session()
                attempt = 0
            except asyncio.CancelledError:
                raise
            except _Stale as exc:
                reason = f"stale: {exc}"
                attempt = 0
            except (OSError, TimeoutError, websockets.WebSocketException, _Closed, NetworkError) as exc:
                # NetworkError: the proxy scheme has no usable proxy right now; try again later.
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                self._ws = None
            if self._closing or not self._topics:
                break
            now_ms = int(self.clock.time() * 1000)
            if self._down_since_ms is None:
                self._down_since_ms = now_ms
                if self._tap is not None:
                    self._tap.down(now_ms, reason, list(self._topics))
                for sink in list(self._sinks.values()):
                    sink.on_down(now_ms, reason)
            delay = self.backoff.delay(attempt, self._rng)
            attempt += 1
            log.info("%s down (%s); reconnecting in %.2fs", self.label, reason, delay)
            await self.clock.sleep(delay)
        self._task = None

    async def _session(self) -> None:
        topics = list(self._topics.values())
        named = list(self.protocol.in_url(topics))
        url = self.protocol.url(self.base_url, named)
        options: dict[str, Any] = {"open_timeout": self.open_timeout, "max_size": 2**24,
                                   "ping_interval": 20.0, "ping_timeout": 20.0, "compression": None,
                                   "close_timeout": 2.0, "create_connection": FastConnection}
        # With a proxy scheme the connection stays on one proxy for its life (None: direct);
        # a failure is reported so that a dead proxy is quarantined and the reconnection
        # comes back through another.
        if self.local_address is not None:  # leave from this egress IP (to the venue, or to the proxy)
            options["local_addr"] = (self.local_address, 0)
        egress = self._egress() if self._egress is not None else None
        if egress is not None:
            options["proxy"] = egress.proxy_url
        try:
            await self._connected(url, named, options, egress)
        except (OSError, TimeoutError, websockets.WebSocketException, _Closed) as exc:
            if egress is not None:
                egress.report_failure(exc)
            raise
        finally:
            if egress is not None:
                egress.release()

    async def _connected(self, url: str, named: list[Topic], options: dict[str, Any],
                         egress: StreamEgress | None) -> None:
        async with connect(url, **options) as ws:
            assert isinstance(ws, FastConnection)
            if egress is not None:
                egress.report_ok()
            self._ws = ws
            self.connects += 1
            self._outbox = asyncio.Queue()
            self._sent.clear()
            unnamed = self._subscriptions([t for t in self._topics.values() if t not in named])
            if unnamed:
                self._queue_frames(self.protocol.subscribe, unnamed)
            now = self._now = self.clock.monotonic()
            for name in self._topics:
                self._last_seen[name] = now
            now_ms = int(self.clock.time() * 1000)
            down_since, self._down_since_ms = self._down_since_ms, None
            if self._tap is not None:
                self._tap.up(down_since, now_ms, list(self._topics))
            for sink in list(self._sinks.values()):
                sink.on_up(down_since, now_ms)
            ws.take_over(on_chunk=self._tick, on_messages=self._receive_many)
            tasks = [asyncio.create_task(self._closed(ws)), asyncio.create_task(self._send(ws)),
                     asyncio.create_task(self._watch(ws))]
            if self.protocol.ping_frame() is not None and self.protocol.ping_every:
                tasks.append(asyncio.create_task(self._ping()))
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
            except _Stale:
                ws.transport.abort()  # a silent peer would not answer a closing handshake either
                raise
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _closed(self, ws: FastConnection) -> None:
        await ws.wait_closed()
        raise _Closed(f"closed by the venue (code {ws.close_code}, {ws.close_reason!r})")

    def _tick(self) -> None:
        # The time of a chunk from the socket: every message in it arrived at once.
        self._now = self._monotonic()
        self._now_ns = now_ns = int(self._time() * 1e9)
        self._now_ms = now_ns // 1_000_000

    def _receive(self, raw: bytes) -> None:
        """One message, as :meth:`_receive_many` (a replay hands them over one at a time)."""
        self._receive_many((raw,))

    def _receive_many(self, batch: Sequence[bytes]) -> None:
        # Called with the messages of each socket chunk within data_received: no await per
        # message, and what the loop needs is looked up once per chunk. Consecutive data frames
        # of one topic go to its sink together (a run), in order with everything else.
        self.frames += len(batch)
        tap, decode = self._tap, self.protocol.decode
        run: list[Frame] = []
        run_topic: str | None = None
        for raw in batch:
            if tap is not None:
                tap.frame(raw, self._now_ns)
            try:
                frame = decode(raw)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                self.malformed += 1
                log.warning("%s: unreadable frame skipped (%s): %.200r", self.label, exc, raw)
                continue
            if frame.kind != "data":
                if run:
                    self._hand_on(run_topic, run)
                    run = []
                self._control(frame)
                continue
            if frame.topic != run_topic:
                if run:
                    self._hand_on(run_topic, run)
                    run = []
                run_topic = frame.topic
            run.append(frame)
        if run:
            self._hand_on(run_topic, run)

    def _hand_on(self, name: str | None, frames: list[Frame]) -> None:
        """Data frames of topic ``name``, in order, to its sink: at once to a sink that takes a
        list (``on_frames(frames, received_ms)``), else one by one."""
        sink = self._sinks.get(name)  # type: ignore[arg-type]
        if sink is None:
            return
        self._last_seen[name] = self._now  # type: ignore[index]
        on_frames = getattr(sink, "on_frames", None)
        if on_frames is not None:
            try:
                on_frames(frames, self._now_ms)
            except Exception:  # a bug downstream must not take the socket down
                log.exception("%s: handling the frames of %s failed", self.label, name)
            return
        for frame in frames:
            try:
                sink.on_frame(frame, self._now_ms)
            except Exception:  # a bug downstream must not take the socket down
                log.exception("%s: handling a frame of %s failed", self.label, name)

    def _control(self, frame: Frame) -> None:
        kind = frame.kind
        if kind == "many":
            self._route_each(frame.payload)
        elif kind == "error":
            self._rejected(frame)
        elif kind == "ack" and frame.extra is not None:
            self._requests.pop(frame.extra.get("id"), None)

    def _route_each(self, frames: Sequence[Frame]) -> None:
        """The frames of one message carrying several topics, each handed on as if it came alone
        (off the one-frame path of :meth:`_receive_many`, which stays as short as it was)."""
        for frame in frames:
            if frame.kind != "data":
                self._control(frame)
                continue
            name = frame.topic
            sink = self._sinks.get(name)  # type: ignore[arg-type]
            if sink is None:
                continue
            self._last_seen[name] = self._now  # type: ignore[index]
            try:
                sink.on_frame(frame, self._now_ms)
            except Exception:  # a bug downstream must not take the socket down
                log.exception("%s: handling a frame of %s failed", self.label, name)

    def _subscriptions(self, topics: Sequence[Topic]) -> list[Topic]:
        """One topic of each venue subscription among ``topics``: what subscribing them sends."""
        seen: set[str] = set()
        out = []
        for topic in topics:
            key = self.protocol.subscription(topic)
            if key not in seen:
                seen.add(key)
                out.append(topic)
        return out

    def _rejected(self, frame: Frame) -> None:
        log.warning("%s: venue refused a subscription: %s", self.label, frame.detail)
        shared = self._sharing.get(frame.topic or "", [])  # a refused shared subscription: all its topics
        names = [frame.topic] if frame.topic in self._sinks else list(shared)
        if not names and frame.extra is not None:  # the venue names the request, not the topic
            names = [n for n in self._requests.pop(frame.extra.get("id"), ()) if n in self._sinks]
        if not names and len(self._sinks) == 1:
            names = list(self._sinks)
        for name in names:
            sink = self._sinks.get(name)
            if sink is not None:
                sink.on_rejected(frame.detail)

    async def _send(self, ws: FastConnection) -> None:
        per_second = self.protocol.max_messages_per_second
        while True:
            text = await self._outbox.get()
            await self._pace(per_second)
            await ws.send(text)

    async def _ping(self) -> None:
        # The venue's application-level ping (a text frame), paced like any frame.
        ping, every = self.protocol.ping_frame(), self.protocol.ping_every
        assert ping is not None and every
        while True:
            await self.clock.sleep(every)
            self._outbox.put_nowait(ping)

    async def _pace(self, per_second: float) -> None:
        # Stay under the venue's per-connection message limit: at most
        # floor(per_second) frames in any one-second window, pings included.
        most = max(1, int(per_second))
        while True:
            now = self.clock.monotonic()
            while self._sent and now - self._sent[0] >= 1.0:
                self._sent.popleft()
            if len(self._sent) < most:
                self._sent.append(now)
                return
            await self.clock.sleep(1.0 - (now - self._sent[0]) + 0.01)

    async def _watch(self, ws: FastConnection) -> None:
        """Tell a dead connection from a quiet market.

        A topic is quiet when it has sent nothing for ``stale_after`` times its usual
        interval (or its learned allowance). If the whole socket is silent too, a ping
        decides: no answer means the connection is dead and it reconnects. Otherwise the
        connection is alive and only that topic is quiet (an illiquid symbol's klines):
        it is resubscribed by itself and allowed that much silence from then on, so
        the other topics never lose a frame to it.
        """
        while True:
            await self.clock.sleep(1.0)
            now = self.clock.monotonic()
            quiet = self._quiet_topics(now)
            if not quiet:
                continue
            silent = now - self._now  # since the socket last delivered anything at all
            if silent >= min(limit for _, _, limit in quiet) and not await self._answers_ping(ws):
                raise _Stale(f"nothing at all for {silent:.1f}s and no answer to a ping")
            for name, silence, _ in quiet:
                topic = self._topics.get(name)
                if topic is None:
                    continue
                log.info("%s: %s quiet for %.1fs while the connection is alive; resubscribing it",
                         self.label, name, silence)
                self.quiet_resubscribes += 1
                self._allowance[name] = max(self._allowance.get(name, 0.0), silence)
                self._last_seen[name] = now
                self.resubscribe(topic)

    def _quiet_topics(self, now: float) -> list[tuple[str, float, float]]:
        """``(name, silence, limit)`` of the topics silent past their limit."""
        quiet = []
        for name, topic in self._topics.items():
            if topic.expected_every is None:
                continue
            limit = self.stale_after * max(topic.expected_every, self._allowance.get(name, 0.0))
            silence = now - self._last_seen.get(name, now)
            if silence > limit:
                quiet.append((name, silence, limit))
        return quiet

    async def _answers_ping(self, ws: FastConnection) -> bool:
        """Whether the peer answers a WebSocket ping within ``ping_timeout`` clock seconds, and
        at least ``PONG_FLOOR`` real ones: a round trip takes real time, and on a sped-up clock
        (10 s is 0.17 s at 60x) a loaded machine's event loop alone took longer than that to
        read the pong, so a live connection was called dead and torn down."""
        try:
            pong = asyncio.ensure_future(await ws.ping())
        except websockets.WebSocketException:
            return False
        timer: asyncio.Future[Any] = asyncio.gather(self.clock.sleep(self.ping_timeout),
                                                    asyncio.sleep(PONG_FLOOR))
        waiting: set[asyncio.Future[Any]] = {pong, timer}
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if not pong.done():
            pong.cancel()
            return False
        return not pong.cancelled() and pong.exception() is None

    def _queue_frames(self, build: Callable[[Sequence[Topic], int], str], topics: Sequence[Topic]) -> None:
        step = max(1, self.protocol.max_topics_per_message)
        for i in range(0, len(topics), step):
            self._request_id += 1
            batch = topics[i:i + step]
            if build == self.protocol.subscribe:
                # A refusal of a shared venue subscription concerns every topic it carries.
                self._requests[self._request_id] = [
                    n for t in batch for n in self._sharing.get(self.protocol.subscription(t), [t.name])]
                while len(self._requests) > 1000:  # answered requests are never reported back
                    del self._requests[next(iter(self._requests))]
            self._outbox.put_nowait(build(batch, self._request_id))
