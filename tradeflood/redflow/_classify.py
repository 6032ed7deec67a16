"""Classification: running mappers over sources, level by level, as one revocable change."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

from ._cluster import Cluster
from ._errors import MapperError
from ._events import ClusterEvent, Pending, SourceEvent

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    from ._flow import RedFlow
    from ._source import Source

__all__ = ["Change", "ClusterCreator", "classify"]


class Change:
    """The clusters and memberships one operation made, so they can be committed or undone.

    `marks[i]` is how many memberships `sources[i]` had before the change.
    """

    __slots__ = ("created", "events", "marks", "sources")

    def __init__(self, sources: Sequence[Source], marks: Sequence[int] | None = None) -> None:
        self.sources = sources
        self.marks = marks
        self.created: list[Cluster] = []
        self.events: Pending = []

    def rollback(self) -> None:
        """Undo every membership and cluster the change made; its events are dropped."""
        marks = self.marks
        for index, source in enumerate(self.sources):
            mark = 0 if marks is None else marks[index]
            for cluster in source._clusters[mark:]:
                cluster._sources.pop(source.id, None)
            del source._clusters[mark:]
        for cluster in reversed(self.created):
            container = container_of(cluster)
            if container is not None and container.get(cluster.id) is cluster:
                del container[cluster.id]
            cluster._live = False
        self.created.clear()
        self.events.clear()


class ClusterCreator:
    """Handed to a mapper to find or create the one cluster a source belongs to at this level.

    >>> from tradeflood.redflow import RedFlow, Source
    >>> def by_symbol(source, creator, parent):
    ...     is_new, cluster = creator.get_or_create(source.data)
    ...     cluster.data = (cluster.data or 0) + 1  # keep a count of members
    >>> flow = RedFlow(mapper=by_symbol)
    >>> _ = flow.add_sources([Source(1, "BTC"), Source(2, "BTC"), Source(3, "ETH")])
    >>> flow.cluster("BTC").data, flow.cluster("ETH").data
    (2, 1)
    """

    __slots__ = ("_change", "_chosen", "_container", "_created", "_source", "flow", "parent")

    def __init__(
        self,
        flow: RedFlow,
        parent: Cluster | None,
        container: dict[Hashable, Cluster],
        change: Change,
    ) -> None:
        self.flow = flow
        self.parent = parent
        self._container = container
        self._change = change
        self._source: Source | None = None
        self._chosen: Cluster | None = None
        self._created = False

    def get_or_create(self, cluster_id: Hashable) -> tuple[bool, Cluster]:
        """Put the current source in cluster `cluster_id`, creating it if needed.

        Returns (is_new, cluster); is_new is True only for the call that created
        the cluster. A source joins at most one cluster per level: a second call
        for the same source raises MapperError.
        """
        source = self._source
        if source is None:
            raise MapperError(
                f"get_or_create({cluster_id!r}) was called outside a mapper call of flow "
                f"{self.flow.name!r}; a creator is only valid while its mapper runs"
            )
        if self._chosen is not None:
            raise MapperError(
                f"the mapper of flow {self.flow.name!r} put source {source.id!r} in cluster "
                f"{self._chosen.id!r} and then asked for {cluster_id!r}; a source joins at "
                "most one cluster per flow: link another flow to classify it a second way"
            )
        cluster = self._container.get(cluster_id)
        if cluster is None:
            cluster = Cluster(cluster_id, self.flow, self.parent)
            self._container[cluster_id] = cluster
            self._change.created.append(cluster)
            hooks = self.flow._on_cluster_new
            if hooks:
                self._change.events.append((hooks, ClusterEvent(cluster)))
            self._created = True
        self._chosen = cluster
        return self._created, cluster


def container_of(cluster: Cluster) -> dict[Hashable, Cluster] | None:
    """Return the dict the cluster lives in, or None when its level was unlinked."""
    if cluster.parent is None:
        return cluster._flow._top
    return cluster.parent._children.get(cluster._flow._link)


def classify(flow: RedFlow, parent: Cluster | None, sources: Sequence[Source], change: Change) -> None:
    """Run `flow`'s mapper over `sources` (members of `parent`), then its child flows below."""
    container = flow._top if parent is None else parent._children[flow._link]
    creator = ClusterCreator(flow, parent, container, change)
    mapper = flow.mapper
    add_hooks = flow._on_source_add
    events = change.events
    groups: dict[Cluster, list[Source]] = {}
    for source in sources:
        creator._source = source
        creator._chosen = None
        creator._created = False
        try:
            mapper(source, creator, parent)
        except BaseException as error:
            creator._source = None
            error.add_note(f"raised by the mapper of flow {flow.name!r} for source {source.id!r}")
            raise
        cluster = creator._chosen
        if cluster is None:
            continue
        cluster._sources[source.id] = source
        source._clusters.append(cluster)
        members = groups.get(cluster)
        if members is None:
            groups[cluster] = [source]
        else:
            members.append(source)
        if add_hooks:
            events.append((add_hooks, SourceEvent(source, cluster, creator._created)))
    creator._source = None
    for child in flow._children.values():
        for cluster, members in groups.items():
            classify(child, cluster, members, change)
