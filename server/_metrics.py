"""Prometheus metrics of one server: its own counters, plus the session's read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tradeflood import Session

__all__ = ["Metrics"]

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _SessionCollector(Collector):
    """Upstream requests, retries, 429s, rate-limit headroom and stream counts of the session."""

    def __init__(self, session: Session, counts: Callable[[], dict[str, int]]) -> None:
        self.session = session
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        stats = self.session.stats
        yield CounterMetricFamily("tradeflood_upstream_requests", "Requests sent to venues.",
                                  value=stats.requests)
        yield CounterMetricFamily("tradeflood_upstream_retries", "Upstream requests retried.",
                                  value=stats.retries)
        yield CounterMetricFamily("tradeflood_upstream_rate_limited",
                                  "Upstream answers of HTTP 429 or 418.", value=stats.rate_limited)
        headroom = GaugeMetricFamily("tradeflood_rate_limit_headroom",
                                     "Free share (0..1) of each venue's rate-limit group.",
                                     labels=["venue", "group"])
        for venue, groups in self.session.headroom().items():
            for group, free in groups.items():
                headroom.add_metric([venue, group], free)
        yield headroom
        learned = GaugeMetricFamily("tradeflood_rate_limit_learned",
                                    "Rate (weight per second) learned below a venue group's declared limit.",
                                    labels=["venue", "group"])
        for (venue, group), rate in self.session.learned_rates().items():
            learned.add_metric([venue, group], rate)
        yield learned
        hub = self.session.stream_stats()
        for name, key, text in (("tradeflood_stream_upstreams", "upstreams", "Upstream subscriptions."),
                                ("tradeflood_stream_connections", "connections",
                                 "Upstream WebSocket connections."),
                                ("tradeflood_stream_consumers", "consumers", "Consumers of the stream hub.")):
            yield GaugeMetricFamily(name, text, value=hub.get(key, 0))
        for name, value in self.counts().items():
            yield GaugeMetricFamily(f"tradeflood_server_{name}", f"Server {name.replace('_', ' ')}.",
                                    value=value)


class Metrics:
    """The server's own metrics, in a registry of its own (several apps may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("tradeflood_server_requests", "HTTP requests by venue, endpoint and status.",
                                ["venue", "endpoint", "status"], registry=r)
        self.latency = Histogram("tradeflood_server_request_seconds", "HTTP request latency.", ["endpoint"],
                                 buckets=_LATENCY, registry=r)
        self.messages_in = Counter("tradeflood_server_messages_in", "Stream items received from the hub.",
                                   ["venue", "model"], registry=r)
        self.messages_out = Counter("tradeflood_server_messages_out", "Frames sent to clients.",
                                    ["channel"], registry=r)
        self.queue_drops = Counter("tradeflood_server_queue_drops",
                                   "Book and ticker values conflated away in client queues.", registry=r)
        self.queue_closes = Counter("tradeflood_server_queue_closes",
                                    "Subscriptions closed because their client fell behind.", registry=r)
        self.callback_deliveries = Counter("tradeflood_server_callback_deliveries",
                                           "Callback batches delivered.", registry=r)
        self.callback_failures = Counter("tradeflood_server_callback_failures",
                                         "Callback delivery attempts that failed.", registry=r)
        self.venue_latency = Histogram("tradeflood_server_venue_to_client_seconds",
                                       "From the venue's timestamp of an item to its send to a client.",
                                       buckets=_LATENCY, registry=r)
        self.clients = Gauge("tradeflood_server_websocket_clients", "Open WebSocket clients.", registry=r)

    def watch(self, session: Session, counts: Callable[[], dict[str, Any]]) -> None:
        self.registry.register(_SessionCollector(session, counts))
