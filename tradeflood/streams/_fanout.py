"""TopicFanout: one carried venue topic read by the feeds of several models.

Some venues publish several kinds of data on one topic (a perpetual's ticker topic
may carry the ticker, the funding rate and the open interest together). The hub keeps one feed per model and
subscribes the topic once; while more than one feed reads it, the connection hands
the topic's traffic to a fan-out that passes every frame and connection event to
each feed, which parses it with its own binding. A topic read by one feed goes to
that feed directly, so the common case pays nothing for this.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._connection import TopicSink
    from ._protocol import Frame

__all__ = ["TopicFanout"]

log = logging.getLogger("tradeflood.streams")


class TopicFanout:
    """A :class:`~tradeflood.streams._connection.TopicSink` passing everything on to several sinks."""

    __slots__ = ("sinks",)

    def __init__(self, sinks: Sequence[TopicSink]) -> None:
        self.sinks = tuple(sinks)

    def on_frame(self, frame: Frame, received_ms: int) -> None:
        for sink in self.sinks:
            try:
                sink.on_frame(frame, received_ms)
            except Exception:  # one model's bug must not starve the others of the frame
                log.exception("handling a frame of %s failed", frame.topic)

    def on_up(self, down_since_ms: int | None, now_ms: int) -> None:
        for sink in self.sinks:
            sink.on_up(down_since_ms, now_ms)

    def on_down(self, now_ms: int, reason: str) -> None:
        for sink in self.sinks:
            sink.on_down(now_ms, reason)

    def on_rejected(self, detail: str) -> None:
        for sink in self.sinks:
            sink.on_rejected(detail)
