"""ReplayConnection: a stream connection whose socket is a recording.

The stream hub opens one for each connection a replaying session needs (the
session's ``StreamSettings.connection_class``); it registers with the
:class:`~tradeflood.recording.Replayer`, which hands it the recorded frames of its
venue endpoint to pass to the live ``Connection._receive``, and the recorded downs
and ups to tell its topics. It never opens a socket and never sends anything.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx

from tradeflood.streams._connection import Connection, TopicSink
from tradeflood.streams._protocol import Topic

from ._format import DOWN

# import cycle: a replay connection is driven by its Replayer, which builds it (types only).
if TYPE_CHECKING:
    from ._replay import Replayer

__all__ = ["ReplayConnection", "ReplayTransport"]


class _Handle:
    """What the hub gives a replay connection in place of a recorder's tap."""

    def __init__(self, replayer: Replayer, venue: str, endpoint: str) -> None:
        self.replayer = replayer
        self.venue = venue
        self.endpoint = endpoint

    def frame(self, raw: bytes, received_ns: int) -> None:  # a replay records nothing
        pass

    def carry(self, topic: str) -> None:
        pass

    def up(self, down_since_ms: int | None, now_ms: int, topics: list[str]) -> None:
        pass

    def down(self, now_ms: int, reason: str, topics: list[str]) -> None:
        pass


class ReplayConnection(Connection):
    """A connection whose socket is the recording: it plays the frames it is handed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        handle = self._tap
        assert isinstance(handle, _Handle), "a ReplayConnection needs a Replayer as the stream tap"
        self._handle = handle
        self._tap = None  # nothing to record

    def add(self, topic: Topic, sink: TopicSink) -> None:
        super().add(topic, sink)
        handle = self._handle
        why = handle.replayer.missing(handle.venue, handle.endpoint, topic.name)
        if why is not None:  # told once the hub has finished placing the topic
            asyncio.get_running_loop().call_soon(sink.on_rejected, why)

    async def _run(self) -> None:
        self._handle.replayer.attach(self, self._handle)
        try:
            await asyncio.Event().wait()  # until the hub closes the connection
        finally:
            self._handle.replayer.detach(self, self._handle)
            self._task = None

    def play(self, raw: bytes, received_ns: int, monotonic: float) -> None:
        """One recorded frame, as if it had just come off the socket."""
        self._now_ns = received_ns
        self._now_ms = received_ns // 1_000_000
        self._now = monotonic
        self._receive(raw)

    def play_event(self, kind: int, event: dict[str, Any]) -> None:
        """A recorded down or up, told to the topics this connection carries that it concerned."""
        names = [n for n in event["topics"] if n in self._sinks]
        for name in names:
            sink = self._sinks.get(name)
            if sink is None:
                continue
            if kind == DOWN:
                sink.on_down(event["now_ms"], event["reason"])
            else:
                sink.on_up(event["down_since_ms"], event["now_ms"])

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


class ReplayTransport(httpx.AsyncBaseTransport):
    """An HTTP transport that answers from a recording (see :class:`Replayer`)."""

    def __init__(self, replayer: Replayer) -> None:
        self.replayer = replayer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.replayer.answer(request)
