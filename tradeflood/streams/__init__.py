"""Live streams: WebSocket (and polling) subscriptions shared through RedFlow.

N consumers of one stream cause one upstream subscription: connections,
upstream subscriptions and consumer options are the three levels of a RedFlow
graph kept by each :class:`~tradeflood.Session`. Use it through
``Session.stream()`` / ``Session.subscribe()`` or ``tradeflood.stream()``.
"""

from __future__ import annotations
