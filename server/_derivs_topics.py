"""Live topics of the derivatives data: which model a name means, and polling where a venue has no stream.

``funding-rate``, ``open-interest``, ``mark-candle``, ``index-candle`` and
``liquidation`` subscribe like the other topics. A venue that publishes no
stream of the kind (funding and open interest on most venues, mark and index
bars everywhere but OKX) is polled over REST: every ``poll`` seconds when the
subscription says so, else every :data:`DEFAULT_POLL` seconds. Polled topics
go through the session's executor, so they share its rate limits and one
poller serves every client of an identical topic. Liquidations exist only as
streams: a venue without one is refused, naming those that have it.
"""

from __future__ import annotations

import math
from typing import Any

import tradeflood.models as models
from tradeflood import registry
from tradeflood.errors import QueryError
from tradeflood.intervals import interval_ms

__all__ = ["DEFAULT_POLL", "DERIVATIVE_MODELS", "NEEDS_INTERVAL", "poll_limit", "poll_period"]

DERIVATIVE_MODELS: dict[str, type[models.Model]] = {
    "funding-rate": models.FundingRate, "open-interest": models.OpenInterest,
    "mark-candle": models.MarkCandle, "index-candle": models.IndexCandle,
    "liquidation": models.Liquidation,
}
NEEDS_INTERVAL = {"candle", "mark-candle", "index-candle"}
CURRENT_VALUES = {"funding-rate", "open-interest"}
"""Topics whose items are each the whole current value: conflated in slow clients' queues."""
DEFAULT_POLL = 10.0
"""Seconds between polls of a topic the venue does not stream, when the subscription names none."""


def poll_period(model_name: str, model: type[models.Model], exchange: str, poll: Any) -> float | None:
    """The polling period of a topic: ``poll`` as given (checked), the default when the venue
    streams no such thing but serves it over REST, else None (a live stream)."""
    if poll is not None:
        if isinstance(poll, bool) or not isinstance(poll, int | float) or not poll > 0:
            raise QueryError(f"poll={poll!r}: give the polling period in seconds, e.g. 5")
        return float(poll)
    if model_name not in DERIVATIVE_MODELS:
        return None  # the older topics keep their streams (and their errors)
    venue = exchange.lower()
    if (model, venue) in registry.stream_bindings_for(model):
        return None
    if (model, venue) in registry.bindings_for(model):
        return DEFAULT_POLL
    return None  # neither: the subscription's own error names the venues that have it


def poll_limit(poll: float, interval: str) -> int:
    """Bars a polled candle topic asks for each time: those that can close between two polls,
    and two more (the one forming and a margin), at most a page."""
    return min(1000, math.ceil(poll * 1000 / interval_ms(interval)) + 2)
