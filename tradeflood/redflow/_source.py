"""A source: one consumer (e.g. one user's subscription) that flows classify into clusters."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    from ._cluster import Cluster
    from ._graph import Graph

__all__ = ["Source"]


class Source:
    """One consumer, known to its graph by `id` and classified by its `data`.

    A source belongs to at most one graph at a time, and to at most one
    cluster per flow level. `detach()` takes it out again.

    >>> from tradeflood.redflow import RedFlow, Source
    >>> flow = RedFlow(mapper=lambda s, c, p: c.get_or_create(s.data))
    >>> alice = Source(id="alice", data="BTC/USDT")
    >>> _ = flow.add_source(alice)
    >>> [cluster.id for cluster in alice.clusters]
    ['BTC/USDT']
    >>> [cluster.id for cluster in alice.detach()]
    ['BTC/USDT']
    >>> alice.attached
    False
    """

    __slots__ = ("_clusters", "_graph", "data", "id")

    def __init__(self, id: Hashable, data: Any = None) -> None:
        self.id = id
        self.data = data
        self._graph: Graph | None = None
        self._clusters: list[Cluster] = []

    @property
    def clusters(self) -> tuple[Cluster, ...]:
        """The clusters holding this source, one per flow level that took it in."""
        return tuple(self._clusters)

    @property
    def attached(self) -> bool:
        """True while the source is in a graph."""
        return self._graph is not None

    def detach(self) -> list[Cluster]:
        """Take this source out of its graph, at every level.

        Returns the clusters that became empty, deepest level first, after the
        hooks ran; a source that is not attached returns [].
        """
        if self._graph is None:
            return []
        return self._graph.root.remove_sources([self.id])

    def __repr__(self) -> str:
        return f"Source(id={self.id!r}, data={self.data!r})"
