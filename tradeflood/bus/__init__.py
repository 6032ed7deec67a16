"""Scale-out on Redis Streams: gatherers publish, consumers read anywhere, one owner per topic.

Gatherer processes (``tradeflood gather --redis URL --agent NAME``) read their
configuration from ``stream.config.{agent}``, share the configured topics
through leases, and publish into ``stream.{tenant}.{exchange}.{action}.{symbol}``
with the current state in ``stream.snapshot.{...}``. A
``Session(bus="redis://...", tenant=...)`` streams from there with the usual
API; :class:`SharedRateLimits` shares each egress IP's rate limits through
Redis; :func:`sync_candles` persists closed candles into the candle store.
See the README section "Scale-out on Redis" for the key and entry formats.
"""

from __future__ import annotations

from ._backend import Bus, MemoryBus, RedisBus, Trim, connect
from ._config import AgentConfig, Subscription, parse_config
from ._consumer import BusConsumer, BusStream, BusSubscription
from ._errors import BusConfigError, BusError, FencedError
from ._gatherer import Gatherer
from ._keys import Topic, action_for, config_key, model_for, status_key
from ._limits import SharedRateLimits

__all__ = [
    "AgentConfig",
    "Bus",
    "BusConfigError",
    "BusConsumer",
    "BusError",
    "BusStream",
    "BusSubscription",
    "FencedError",
    "Gatherer",
    "MemoryBus",
    "RedisBus",
    "SharedRateLimits",
    "Subscription",
    "Topic",
    "Trim",
    "action_for",
    "config_key",
    "connect",
    "model_for",
    "parse_config",
    "status_key",
]
