"""The state one tree of linked flows shares: the source registry and emptied clusters."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Sequence
from heapq import heappop, heappush
from itertools import count
from typing import TYPE_CHECKING

from ._classify import container_of
from ._events import ClusterEvent, Pending, SourceEvent

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    from ._cluster import Cluster
    from ._flow import RedFlow
    from ._policy import EmptyPolicy
    from ._source import Source

__all__ = ["Graph", "walk_clusters"]


class Graph:
    """Everything the flows of one tree share: its root, its sources, its emptied clusters.

    Removal and eviction live here because they cut across every level.
    """

    __slots__ = ("_pending", "_sequence", "root", "sources")

    def __init__(self, root: RedFlow) -> None:
        self.root = root
        self.sources: dict[Hashable, Source] = {}
        self._pending: dict[EmptyPolicy, list[tuple[float, int, Cluster]]] = {}
        self._sequence = count()

    def remove(self, sources: Sequence[Source], events: Pending) -> list[Cluster]:
        """Take `sources` out of the registry and every cluster; return the clusters emptied."""
        registry = self.sources
        emptied: list[Cluster] = []
        for source in sources:
            source_id = source.id
            del registry[source_id]
            for cluster in source._clusters:
                members = cluster._sources
                del members[source_id]
                hooks = cluster._flow._on_source_remove
                if hooks:
                    events.append((hooks, SourceEvent(source, cluster, False)))
                if not members:
                    emptied.append(cluster)
            source._clusters = []
            source._graph = None
        emptied.sort(key=_deeper_first)
        self.settle(emptied, events)
        return emptied

    def settle(self, emptied: Sequence[Cluster], events: Pending) -> None:
        """Apply each emptied cluster's policy, deepest first, after its empty hooks."""
        for cluster in emptied:
            flow = cluster._flow
            if flow._on_cluster_empty:
                events.append((flow._on_cluster_empty, ClusterEvent(cluster)))
            if not cluster._live:
                continue
            policy = flow.policy
            deadline = policy.deadline()
            if deadline is None:
                self.evict(cluster, events, [])
            elif deadline != math.inf:
                cluster._deadline = deadline
                entry = (deadline, next(self._sequence), cluster)
                heappush(self._pending.setdefault(policy, []), entry)

    def evict(self, cluster: Cluster, events: Pending, evicted: list[Cluster]) -> None:
        """Drop `cluster` and everything below it from the graph, deepest first."""
        for container in cluster._children.values():
            for child in list(container.values()):
                self.evict(child, events, evicted)
        home = container_of(cluster)
        if home is not None and home.get(cluster.id) is cluster:
            del home[cluster.id]
        cluster._live = False
        evicted.append(cluster)
        hooks = cluster._flow._on_cluster_evict
        if hooks:
            events.append((hooks, ClusterEvent(cluster)))

    def sweep(self, events: Pending, force: bool = False) -> list[Cluster]:
        """Evict the empty clusters whose policy deadline passed (all of them with `force`)."""
        evicted: list[Cluster] = []
        for policy, heap in list(self._pending.items()):
            while heap and (force or policy.expired(heap[0][0])):
                deadline, _, cluster = heappop(heap)
                if cluster._live and not cluster._sources and cluster._deadline == deadline:
                    self.evict(cluster, events, evicted)
            if not heap:
                del self._pending[policy]
        if force:
            for cluster in list(walk_clusters(self.root)):
                if cluster._live and not cluster._sources:
                    self.evict(cluster, events, evicted)
        return evicted


def walk_clusters(flow: RedFlow, parent: Cluster | None = None) -> Iterator[Cluster]:
    """Yield the clusters of `flow` (under `parent` if given) and below, parents first."""
    container = flow._top if parent is None else parent._children[flow._link]
    for cluster in container.values():
        yield cluster
        for child in flow._children.values():
            yield from walk_clusters(child, cluster)


def _deeper_first(cluster: Cluster) -> int:
    return -cluster._flow._depth
