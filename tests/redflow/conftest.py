"""Shared test tools for RedFlow: a structural snapshot of a graph, and a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import pytest

from tradeflood.clock import VirtualClock
from tradeflood.redflow import Cluster, RedFlow

Snapshot = dict[str, Any]


def route(cluster: Cluster) -> tuple[tuple[str | None, Hashable], ...]:
    """(flow name, id) pairs from the top: unique per cluster within a graph."""
    steps = []
    current: Cluster | None = cluster
    while current is not None:
        steps.append((current.flow.name, current.id))
        current = current.parent
    return tuple(reversed(steps))


def take_snapshot(flow: RedFlow) -> Snapshot:
    """Everything structural about `flow`'s graph, in plain comparable values."""
    root = flow.root
    clusters: dict[Any, tuple[frozenset[Hashable], Any]] = {}

    def visit(level: RedFlow) -> None:
        for cluster in level.clusters:
            assert cluster.live
            assert cluster.flow is level
            parent = cluster.parent
            if parent is not None:
                assert parent.flow is level.parent
                assert parent.children[level.name][cluster.id] is cluster
                assert set(cluster.sources) <= set(parent.sources)
            key = route(cluster)
            assert key not in clusters
            clusters[key] = (frozenset(cluster.sources), None if parent is None else route(parent))
        for child in level.children.values():
            visit(child)

    visit(root)
    memberships = {}
    for source_id, source in root.sources.items():
        assert source.id == source_id
        assert source.attached
        keys = frozenset(route(cluster) for cluster in source.clusters)
        assert len(keys) == len(source.clusters)
        for cluster in source.clusters:
            assert cluster.sources[source_id] is source
        memberships[source_id] = keys
    for key, (members, _) in clusters.items():
        for member in members:
            assert key in memberships[member]
    return {
        "clusters": clusters,
        "memberships": memberships,
        "data": {source_id: source.data for source_id, source in root.sources.items()},
    }


@pytest.fixture(scope="session")
def snapshot() -> Callable[[RedFlow], Snapshot]:
    return take_snapshot


@pytest.fixture
def clock() -> VirtualClock:
    """A clock the test moves by hand (``advance``): RedFlow takes TradeFlood's clocks."""
    return VirtualClock(start=1000.0)
