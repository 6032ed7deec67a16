"""What a venue's WebSocket speaks: topics, subscribe frames, heartbeats and limits.

A connector declares its stream protocol as a subclass of :class:`StreamProtocol`
(``connectors/<venue>.py``), just as it declares REST endpoints with ``@turn``:
how a topic is named on the wire, what a subscribe or unsubscribe frame looks
like, how the venue wants to be pinged, and the venue's documented limits. The
core's connections use it; they never know a venue's wire format themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import orjson

__all__ = ["Frame", "OpArgsProtocol", "StreamProtocol", "Topic"]


@dataclass(frozen=True, slots=True)
class Topic:
    """One upstream subscription: a channel of one symbol on one venue endpoint.

    ``name`` is the venue's own identity of the topic as it appears on incoming
    frames (``btcusdt@trade``, ``SPOT/trade/BTCUSDT``), so frames
    route by a dictionary lookup. ``endpoint`` is the connector's URL key
    (``ws``, ``ws.futures``); ``args`` are what the subscribe frame needs.
    ``expected_every`` is how often data normally arrives (seconds), for stale
    detection; None means the topic may legitimately stay quiet.
    """

    venue: str
    endpoint: str
    name: str
    args: tuple[tuple[str, str], ...] = ()
    expected_every: float | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.venue, self.endpoint, self.name)

    def arg(self, name: str) -> str:
        return dict(self.args)[name]


class Frame:
    """An incoming WebSocket frame, decoded and classified by the protocol.

    ``kind`` is ``data`` (``topic`` names it, ``payload`` is the venue's data
    part, ``action`` e.g. the venue's snapshot/update), ``ack`` and ``error`` for
    replies to subscribe frames (``topic`` when the venue names it), ``pong``
    for heartbeats, and ``ignore`` for anything else worth no attention.
    ``many`` is one message carrying the data of several topics: ``payload`` is
    a tuple of frames (:meth:`Frame.many`), each routed by its own topic as if it
    had come alone. A plain slotted class: one is made per message, on the hot path.
    """

    __slots__ = ("action", "detail", "extra", "kind", "payload", "topic")

    def __init__(self, kind: Literal["data", "ack", "error", "pong", "ignore", "many"],
                 topic: str | None = None, payload: Any = None, action: str | None = None, detail: str = "",
                 extra: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.topic = topic
        self.payload = payload
        self.action = action
        self.detail = detail
        self.extra = extra

    @classmethod
    def many(cls, frames: Sequence[Frame]) -> Frame:
        """One message's frames of several topics (a push listing several symbols' data), for
        :meth:`StreamProtocol.decode` to return: the connection hands each to its own topic."""
        return cls("many", payload=tuple(frames))

    def __repr__(self) -> str:
        return f"Frame({self.kind!r}, {self.topic!r}, action={self.action!r}, detail={self.detail!r})"


class StreamProtocol:
    """Base of a venue's WebSocket protocol declaration.

    Subclass in the venue's connector module and set the limits from the
    venue's documentation; override the frame methods. Limits are per
    connection: ``max_topics`` (spread further topics over more connections)
    and ``max_messages_per_second`` (client to server, pings included).
    ``ping_every`` is the period of the venue's application-level ping
    (``ping_frame``), None when the venue pings us (WebSocket ping frames are
    answered by the library itself).
    """

    max_topics: ClassVar[int] = 100
    max_messages_per_second: ClassVar[float] = 5.0
    max_topics_per_message: ClassVar[int] = 50
    ping_every: ClassVar[float | None] = None

    def in_url(self, topics: Sequence[Topic]) -> Sequence[Topic]:
        """Which of ``topics`` the connection URL itself subscribes (the rest go by frames)."""
        return ()

    def url(self, base: str, named: Sequence[Topic]) -> str:
        """The URL to connect to, subscribing ``named`` (from :meth:`in_url`) on its own."""
        return base

    def subscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        """The frame subscribing ``topics`` (at most ``max_topics_per_message``); ``request_id``
        numbers it for venues whose acknowledgements name the request, not the topics."""
        raise NotImplementedError(f"{type(self).__name__} must define subscribe()")

    def unsubscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        """The frame unsubscribing ``topics``, as :meth:`subscribe`."""
        raise NotImplementedError(f"{type(self).__name__} must define unsubscribe()")

    def subscription(self, topic: Topic) -> str:
        """The venue subscription that carries ``topic``: topics naming the same one are
        subscribed once per connection, and unsubscribed when the last of them goes (a channel
        the venue serves for many symbols at once, whose pushes are routed by symbol).
        By default every topic is a subscription of its own."""
        return topic.name

    def ping_frame(self) -> str | None:
        """The venue's application-level ping sent every ``ping_every`` seconds, or None."""
        return None

    def decode(self, raw: str | bytes) -> Frame:
        """Classify one incoming frame; raise ValueError for one that is not understood.
        A message holding several topics' data decodes to :meth:`Frame.many` of their frames."""
        raise NotImplementedError(f"{type(self).__name__} must define decode()")


class OpArgsProtocol(StreamProtocol):
    """The common ``{"op": "subscribe", "args": [...]}`` WebSocket dialect.

    Requests are ``{"op", "args"}``; the venue answers ``{"event": "subscribe" |
    "unsubscribe" | "error", "arg", "code", "msg"}`` and pushes ``{"arg": {...},
    "action"?, "data": [...]}``; heartbeats are the texts ``ping`` and ``pong``. A
    venue speaking it fills in :meth:`topic_name` (how a push's ``arg`` names its
    topic) and, when a topic's args carry notes of the binding's own,
    :meth:`wire_args`::

        class ExampleStream(OpArgsProtocol):
            venue_label = "Example"

            def topic_name(self, arg):
                return f"{arg.get('channel')}:{arg.get('instId')}"
    """

    #: How errors name the venue (``"an Example frame must be a JSON object"``).
    venue_label: ClassVar[str] = "venue"

    def topic_name(self, arg: dict[str, Any]) -> str:
        """The name of the topic a push's ``arg`` object designates (the topic's ``name``)."""
        raise NotImplementedError(f"{type(self).__name__} must define topic_name()")

    def wire_args(self, topic: Topic) -> dict[str, Any]:
        """The ``args`` entry sent for ``topic``: by default all of the topic's args."""
        return dict(topic.args)

    def subscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        return self._op("subscribe", topics)

    def unsubscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        return self._op("unsubscribe", topics)

    def ping_frame(self) -> str | None:
        return "ping"

    def decode(self, raw: str | bytes) -> Frame:
        if raw == "pong" or raw == b"pong":
            return Frame("pong")
        message = orjson.loads(raw)
        if not isinstance(message, dict):
            raise ValueError(f"a {self.venue_label} frame must be a JSON object")
        arg = message.get("arg")
        name = self.topic_name(arg) if isinstance(arg, dict) else None
        event = message.get("event")
        if event is not None:
            if event == "error":
                return Frame("error", name, detail=f"{message.get('code')}: {message.get('msg')}")
            if event in ("subscribe", "unsubscribe"):
                return Frame("ack", name, detail=str(event))
            return Frame("ignore")
        if name is None or "data" not in message:
            raise ValueError(f"a {self.venue_label} push needs 'arg' and 'data'")
        return Frame("data", name, message["data"], action=message.get("action"))

    def _op(self, op: str, topics: Sequence[Topic]) -> str:
        return orjson.dumps({"op": op, "args": [self.wire_args(t) for t in topics]}).decode()
