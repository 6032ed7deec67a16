"""The bus's actions: which model each topic carries, and how a gatherer reads it.

======================  ============  ==============================================
action                  model         how a gatherer reads it
======================  ============  ==============================================
``trades``              Trade         stream
``orderbook``           OrderBook     stream (snapshot + deltas)
``ticker``              Ticker        stream
``ohlcv-{interval}``    Candle        stream (closed bars)
``funding-rate``        FundingRate   stream where the venue has one, else polled
``open-interest``       OpenInterest  stream where the venue has one, else polled
``mark-ohlcv-{i}``      MarkCandle    stream where the venue has one, else polled
``index-ohlcv-{i}``     IndexCandle   stream where the venue has one, else polled
``liquidations``        Liquidation   stream (on the venues that publish one)
======================  ============  ==============================================

Bars are published once closed. A subscription's ``poll`` (seconds) forces
polling; without it a kind the venue does not stream is polled every
:data:`DEFAULT_POLL` seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradeflood.intervals import INTERVALS

if TYPE_CHECKING:
    from tradeflood.models import Model

__all__ = ["CANDLE_PREFIXES", "DEFAULT_POLL", "PLAIN", "action_interval", "default_poll", "has_stream"]

PLAIN = {"trades": "Trade", "orderbook": "OrderBook", "ticker": "Ticker",
         "funding-rate": "FundingRate", "open-interest": "OpenInterest", "liquidations": "Liquidation"}
"""Actions without an interval, and the model each carries."""
CANDLE_PREFIXES = {"ohlcv-": "Candle", "mark-ohlcv-": "MarkCandle", "index-ohlcv-": "IndexCandle"}
"""Bar actions: the prefix before the interval, and the model."""
DEFAULT_POLL = 10.0
"""Seconds between polls of a kind the venue does not stream, when the subscription names no ``poll``."""


def action_interval(action: str) -> tuple[str, str | None] | None:
    """``(model name, interval)`` of an action, or None if it names none."""
    if action in PLAIN:
        return PLAIN[action], None
    for prefix, model in CANDLE_PREFIXES.items():
        if action.startswith(prefix) and action[len(prefix):] in INTERVALS:
            return model, action[len(prefix):]
    return None


def has_stream(model: type[Model], exchange: str) -> bool:
    """Whether ``exchange`` streams ``model`` (else it can only be polled)."""
    from tradeflood import registry

    return (model, exchange.lower()) in registry.stream_bindings_for(model)


def default_poll(model: type[Model], exchange: str) -> float | None:
    """The polling period of a subscription that names none: None where the venue streams the
    model (or serves it not at all, so that the query's own error names who does)."""
    from tradeflood import registry

    if model.__name__ in ("Trade", "OrderBook", "Ticker", "Candle") or has_stream(model, exchange):
        return None
    return DEFAULT_POLL if (model, exchange.lower()) in registry.bindings_for(model) else None
