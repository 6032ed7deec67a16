"""The events handed to hooks when sources join or leave clusters and clusters come or go."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import HookError

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    from ._cluster import Cluster
    from ._flow import RedFlow
    from ._source import Source

__all__ = ["ClusterEvent", "SourceEvent"]

E = TypeVar("E", "SourceEvent", "ClusterEvent")
Hooks = tuple[Callable[[Any], object], ...]
Pending = list[tuple[Hooks, "SourceEvent | ClusterEvent"]]


class ClusterView:
    """What an event or an execution tells about its cluster: its parent, context and flow."""

    __slots__ = ()
    cluster: Cluster

    @property
    def parent_cluster(self) -> Cluster | None:
        return self.cluster.parent

    @property
    def ctx(self) -> SimpleNamespace:
        return self.cluster.ctx

    @property
    def flow(self) -> RedFlow:
        return self.cluster.flow


class SourceEvent(ClusterView):
    """A source joined (on_source_add) or left (on_source_remove) a cluster of one flow.

    `is_new_cluster` is True when this very source made the cluster appear;
    it is always False for removals.

    >>> from tradeflood.redflow import RedFlow, Source
    >>> flow = RedFlow(mapper=lambda s, c, p: c.get_or_create(s.data))
    >>> _ = flow.on_source_add(lambda e: print(e.source.id, e.cluster.id, e.is_new_cluster))
    >>> _ = flow.add_sources([Source(id=1, data="BTC"), Source(id=2, data="BTC")])
    1 BTC True
    2 BTC False
    """

    __slots__ = ("cluster", "is_new_cluster", "source")

    def __init__(self, source: Source, cluster: Cluster, is_new_cluster: bool) -> None:
        self.source = source
        self.cluster = cluster
        self.is_new_cluster = is_new_cluster

    def __repr__(self) -> str:
        return (
            f"SourceEvent(source={self.source.id!r}, cluster={self.cluster.path!r}, "
            f"is_new_cluster={self.is_new_cluster})"
        )


class ClusterEvent(ClusterView):
    """A cluster appeared (on_cluster_new), emptied (on_cluster_empty) or left the graph
    (on_cluster_evict).

    >>> from tradeflood.redflow import RedFlow, Source
    >>> flow = RedFlow(mapper=lambda s, c, p: c.get_or_create(s.data))
    >>> _ = flow.on_cluster_evict(lambda e: print("stop", e.cluster.id))
    >>> _ = flow.add_source(Source(id=1, data="BTC"))
    >>> _ = flow.remove(1)
    stop BTC
    """

    __slots__ = ("cluster",)

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def __repr__(self) -> str:
        return f"ClusterEvent(cluster={self.cluster.path!r})"


def fire(pending: Pending) -> None:
    """Call every hook once per event, in order; raise HookError afterwards if any raised."""
    errors: list[Exception] = []
    for hooks, event in pending:
        for hook in hooks:
            try:
                hook(event)
            except Exception as error:  # every hook must get its event
                errors.append(error)
    if errors:
        raise HookError(f"{len(errors)} hook call(s) raised; the operation itself was applied", errors)
