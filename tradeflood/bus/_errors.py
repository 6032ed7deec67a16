"""The bus's errors, in the library's hierarchy (``tradeflood.errors``)."""

from __future__ import annotations

from tradeflood.errors import ConfigError, StreamError

__all__ = ["BusConfigError", "BusError", "FencedError"]


class BusConfigError(ConfigError):
    """An agent's configuration, a topic name or a bus URL is invalid; says what and how to fix it."""


class BusError(StreamError):
    """The bus cannot carry on: Redis unreachable, or an entry it cannot read."""


class FencedError(BusError):
    """A publish was refused because this process no longer holds the topic's lease."""

    def __init__(self, topic: str, holder: str) -> None:
        super().__init__(f"{topic}: this process lost its lease (the lease is now {holder or 'free'}); "
                         "it stops publishing the topic")
        self.topic = topic
        self.holder = holder
