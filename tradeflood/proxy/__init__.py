"""Proxy schemes: every request can leave through managed pools of proxies.

Venues limit by client IP, so K proxies (each its own IP) carry about K times
the requests of one. A :class:`ProxyScheme` routes each request by its type to
a pool, picks a proxy by the pool's strategy and load, keeps each proxy's own
rate-limit windows, quarantines dead proxies and probes them back, and tells
apart a dead proxy, a venue that is down, a proxy one venue blocks, and a slow
proxy (typed :class:`ProxyEvent`\\ s and :meth:`ProxyScheme.stats`)::

    scheme = tradeflood.ProxyScheme(
        pools={"history": ["http://p1:3128", "http://p2:3128"], "*": ["direct"]},
        route={"candles": "history"},
        per_proxy=tradeflood.Limit(concurrency=8),
        on_event=print,
    )
    with tradeflood.Session(proxies=scheme) as s:
        ...

Proxyter (:mod:`tradeflood.proxy.proxyter`, ``tradeflood proxyter --config proxies.toml``)
is the same logic as a standalone forward proxy.
"""

from __future__ import annotations

from ._events import (
    ProxyBlocked,
    ProxyDown,
    ProxyEvent,
    ProxySlow,
    ProxyUnblocked,
    ProxyUp,
    VenueDown,
    VenueUp,
)
from ._health import Backoff
from ._pool import Proxy, ProxyPool
from ._routing import STREAM, known_request_types, request_types
from ._scheme import ProxyScheme
from ._stats import ProxyStats, format_stats
from ._stream import StreamEgress

__all__ = [
    "STREAM",
    "Backoff",
    "Proxy",
    "ProxyBlocked",
    "ProxyDown",
    "ProxyEvent",
    "ProxyPool",
    "ProxyScheme",
    "ProxySlow",
    "ProxyStats",
    "ProxyUnblocked",
    "ProxyUp",
    "StreamEgress",
    "VenueDown",
    "VenueUp",
    "format_stats",
    "known_request_types",
    "request_types",
]
