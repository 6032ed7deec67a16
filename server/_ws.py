"""``/v1/stream``: one WebSocket carrying many subscriptions, each a sink of a shared topic.

Every socket has ONE bounded outgoing queue. Books and tickers conflate in it
(a subscription holds at most one unsent value, the latest); a trade or candle
subscription that finds the queue full is closed with an error frame naming it,
never silently thinned; events are never dropped. A socket that does not read
only fills its own queue: topics hand items over without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from tradeflood.errors import QueryError, StreamOverflowError, TradeFloodError

from ._frames import item_time_ms
from ._topics import Entry, Topic, topic_key

if TYPE_CHECKING:
    from ._state import ServerState

__all__ = ["serve_socket"]

log = logging.getLogger("tradeflood.server")
OPS = ("subscribe", "unsubscribe", "ping")
_MAX_ID = 128


def _frame(op: str, sub_id: Any, **fields: Any) -> bytes:
    return orjson.dumps({"op": op, "id": sub_id, **fields})


class ClientSubscription:
    """One subscription of one socket: a sink of its topic."""

    __slots__ = ("conn", "entries_missed", "id", "id_json", "pending", "started", "topic", "waiting")

    def __init__(self, conn: Connection, sub_id: str) -> None:
        self.conn = conn
        self.id = sub_id
        self.id_json = orjson.dumps(sub_id)
        self.topic: Topic | None = None
        self.started = False
        self.waiting: list[Entry] = []  # items that arrived before "subscribed" was sent
        self.pending: Entry | None = None  # the conflated value not sent yet
        self.entries_missed = 0

    def offer(self, topic: Topic, entry: Entry) -> None:
        if not self.started:
            self.waiting.append(entry)
            return
        self.conn.push(self, entry)

    def ended(self, topic: Topic, error: BaseException) -> None:
        """The stream failed for everyone (refused upstream, say): tell the client, free the slot."""
        self.conn.control(_frame("error", self.id, error=type(error).__name__, message=str(error)))
        if self.conn.subs.get(self.id) is self:
            del self.conn.subs[self.id]
            self.conn.state.leave_key(self.conn.key, 1)


class Connection:
    """One WebSocket client: its subscriptions and its outgoing queue."""

    def __init__(self, state: ServerState, ws: WebSocket, key: str) -> None:
        self.state = state
        self.ws = ws
        self.key = key
        self.subs: dict[str, ClientSubscription] = {}
        self.out: deque[tuple[ClientSubscription | None, Any]] = deque()
        self.wake = asyncio.Event()
        self.limit = state.settings.client_queue_size
        self.closing = False

    # -- queueing (called by topics, never waits) --------------------------------------

    def push(self, sub: ClientSubscription, entry: Entry) -> None:
        if self.subs.get(sub.id) is not sub:  # closed already (overflow, unsubscribe)
            return
        if entry.event:
            self.out.append((sub, entry))
        elif sub.topic is not None and sub.topic.conflate:
            if sub.pending is not None:
                self.state.metrics.queue_drops.inc()
                sub.pending = entry
                return
            sub.pending = entry
            self.out.append((sub, None))
        elif len(self.out) >= self.limit:
            self._overflow(sub)
            return
        else:
            self.out.append((sub, entry))
        self.wake.set()

    def control(self, frame: bytes) -> None:
        self.out.append((None, frame))
        self.wake.set()
        if len(self.out) > 4 * self.limit and not self.closing:  # not reading even its errors
            self.closing = True
            self.state.track(asyncio.ensure_future(self._close(1013, "client too slow")))

    def _overflow(self, sub: ClientSubscription) -> None:
        self.state.metrics.queue_closes.inc()
        topic = sub.topic
        described = topic.key.describe() if topic else sub.id
        error = StreamOverflowError(self.limit, self.limit, f"subscription {sub.id!r} ({described})")
        log.warning("closing subscription %r of a slow client: %s", sub.id, described)
        self._drop(sub)
        self.control(_frame("error", sub.id, error=type(error).__name__, message=str(error)))

    def _drop(self, sub: ClientSubscription) -> None:
        self.subs.pop(sub.id, None)
        if sub.topic is not None:
            self.state.topics.leave(sub.topic, sub)
            self.state.leave_key(self.key, 1)

    # -- the socket -------------------------------------------------------------------

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):  # already gone
            await self.ws.close(code, reason)

    async def writer(self) -> None:
        send = self.ws.send
        sent = self.state.metrics.messages_out.labels("websocket")
        latency = self.state.metrics.venue_latency
        out = self.out
        count = 0
        while True:
            if not out:
                if count:
                    sent.inc(count)  # counted per burst, not per frame: this loop is the hot path
                    count = 0
                self.wake.clear()
                await self.wake.wait()
                continue
            sub, what = out.popleft()
            if sub is None:
                frame = what
            else:
                if what is None:
                    what, sub.pending = sub.pending, None
                    if what is None:
                        continue
                frame = b'{"id":' + sub.id_json + b"," + what.key + b":" + what.value + b"}"
                if not count & 7:  # the venue-to-client latency, sampled one frame in eight
                    at = item_time_ms(what.item)
                    if at is not None:
                        latency.observe(max(0.0, time.time() - at / 1000))
            await send({"type": "websocket.send", "text": frame.decode()})
            count += 1
            if count >= 256:
                sent.inc(count)
                count = 0

    async def handle(self, raw: Mapping[str, Any]) -> None:
        text = raw.get("text")
        data = text if text is not None else raw.get("bytes") or b""
        size = len(data.encode() if isinstance(data, str) else data)
        if size > self.state.settings.max_ws_message_bytes:
            self.control(_frame("error", None, error="MessageTooLarge",
                                message=f"a message of {size} bytes is over the limit of "
                                        f"{self.state.settings.max_ws_message_bytes}"))
            return
        try:
            msg = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            self.control(_frame("error", None, error="MalformedJSON", message=f"not JSON: {exc}"))
            return
        if not isinstance(msg, dict):
            self.control(_frame("error", None, error="MalformedMessage",
                                message='a message is a JSON object such as {"op": "subscribe", ...}'))
            return
        op, sub_id = msg.get("op"), msg.get("id")
        if op not in OPS:
            self.control(_frame("error", sub_id if isinstance(sub_id, str) else None, error="UnknownOp",
                                message=f"op={op!r}: valid choices: {', '.join(OPS)}", valid=list(OPS)))
            return
        if op == "ping":
            self.control(_frame("pong", sub_id if isinstance(sub_id, str) else None))
            return
        if not isinstance(sub_id, str) or not sub_id or len(sub_id) > _MAX_ID:
            self.control(_frame("error", None, error="MalformedMessage",
                                message=f"{op} needs an 'id': a string of 1 to {_MAX_ID} characters"))
            return
        if op == "unsubscribe":
            sub = self.subs.get(sub_id)
            if sub is None:
                self.control(_frame("error", sub_id, error="UnknownSubscription",
                                    message=f"no subscription {sub_id!r} on this socket"))
                return
            self._drop(sub)
            self.control(_frame("unsubscribed", sub_id))
            return
        self.subscribe(sub_id, msg)

    def subscribe(self, sub_id: str, msg: dict[str, Any]) -> None:
        settings = self.state.settings
        if sub_id in self.subs:
            self.control(_frame("error", sub_id, error="DuplicateSubscription",
                                message=f"subscription {sub_id!r} already exists on this socket"))
            return
        if len(self.subs) >= settings.max_subscriptions_per_socket:
            self.control(_frame("error", sub_id, error="TooManySubscriptions",
                                message=f"at most {settings.max_subscriptions_per_socket} subscriptions "
                                        "per socket; unsubscribe one or open another socket"))
            return
        try:
            key = topic_key(msg)
        except QueryError as exc:
            self.control(_frame("error", sub_id, error=type(exc).__name__, message=str(exc)))
            return
        if not self.state.join_key(self.key, 1):
            self.control(_frame("error", sub_id, error="TooManySubscriptions",
                                message=f"this API key holds {settings.max_subscriptions_per_key} "
                                        "subscriptions, its limit"))
            return
        sub = self.subs[sub_id] = ClientSubscription(self, sub_id)
        task = asyncio.ensure_future(self._start(sub, key))
        self.state.track(task)

    async def _start(self, sub: ClientSubscription, key: Any) -> None:
        try:
            topic = await self.state.topics.join(key, sub)
        except (TradeFloodError, ValueError) as exc:
            self.subs.pop(sub.id, None)
            self.state.leave_key(self.key, 1)
            self.control(_frame("error", sub.id, error=type(exc).__name__, message=str(exc)))
            return
        if self.subs.get(sub.id) is not sub:  # unsubscribed or socket closed meanwhile
            self.state.topics.leave(topic, sub)
            return
        sub.topic = topic
        self.control(_frame("subscribed", sub.id))
        waiting, sub.waiting = sub.waiting, []
        if topic.conflate and not waiting:
            last = next((e for e in reversed(topic.history) if not e.event), None)
            waiting = [last] if last is not None else []
        sub.started = True
        for entry in waiting:
            self.push(sub, entry)

    def release(self) -> None:
        for sub in list(self.subs.values()):
            self._drop(sub)


async def serve_socket(state: ServerState, ws: WebSocket) -> None:
    """Run one client socket until it closes or the server shuts down."""
    key = ws.scope.get("tradeflood.key") or f"addr:{ws.client.host if ws.client else '?'}"
    await ws.accept()
    if not state.open_socket(key):
        await ws.send_text(_frame("error", None, error="TooManySockets",
                                  message=f"at most {state.settings.max_sockets_per_key} sockets per "
                                          "API key").decode())
        await ws.close(1008)
        return
    conn = Connection(state, ws, key)
    state.connections.add(conn)
    state.metrics.clients.inc()
    writer = asyncio.ensure_future(conn.writer())
    try:
        while True:
            receiving = asyncio.ensure_future(ws.receive())
            done, _ = await asyncio.wait({receiving, writer}, return_when=asyncio.FIRST_COMPLETED)
            if writer in done:
                receiving.cancel()
                writer.result()
                break
            raw = receiving.result()
            if raw["type"] == "websocket.disconnect":
                break
            await conn.handle(raw)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        conn.release()
        state.connections.discard(conn)
        state.close_socket(key)
        state.metrics.clients.dec()
