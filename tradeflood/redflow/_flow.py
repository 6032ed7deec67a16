"""RedFlow: one level of clustering, linked with others into a tree that shares one registry."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from . import _exec, _link, _render
from ._classify import Change, ClusterCreator, classify
from ._errors import DuplicateSourceError
from ._events import ClusterEvent, Hooks, Pending, SourceEvent, fire
from ._graph import Graph
from ._policy import EmptyPolicy, Evict

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    import networkx as nx

    from ._cluster import Cluster
    from ._exec import Execution
    from ._source import Source

__all__ = ["Mapper", "RedFlow"]

Mapper = Callable[["Source", ClusterCreator, "Cluster | None"], object]
R = TypeVar("R")
H = TypeVar("H", bound=Callable[..., object])


class RedFlow:
    """One level of clustering: its mapper sorts sources into clusters by signature.

    Flows link parent -> child by name; a child clusters the sources of each
    parent cluster again, so a graph of flows yields a tree of clusters.
    Sources are added to, and removed from, the whole graph at once.

    >>> from tradeflood.redflow import RedFlow, Source
    >>> stream = RedFlow(mapper=lambda s, c, p: c.get_or_create(s.data["symbol"]), name="stream")
    >>> strategy = RedFlow(mapper=lambda s, c, p: c.get_or_create(s.data["fast"]))
    >>> stream.link_child("strategy", strategy)
    >>> new = stream.add_sources([Source("u1", {"symbol": "BTC", "fast": 10}),
    ...                           Source("u2", {"symbol": "BTC", "fast": 10}),
    ...                           Source("u3", {"symbol": "BTC", "fast": 20})])
    >>> [c.path for c in new]
    [('BTC',), ('BTC', 10), ('BTC', 20)]
    >>> def per_stream(x):
    ...     sizes = x.executors.strategy.exec(lambda y: len(y.cluster.sources))
    ...     return sorted(sizes.values())
    >>> stream.exec(per_stream)
    {Cluster(flow='stream', path=('BTC',), sources=3): [1, 2]}
    """

    __slots__ = (
        "_children",
        "_depth",
        "_graph",
        "_link",
        "_on_cluster_empty",
        "_on_cluster_evict",
        "_on_cluster_new",
        "_on_source_add",
        "_on_source_remove",
        "_parent",
        "_top",
        "mapper",
        "name",
        "policy",
    )

    def __init__(self, mapper: Mapper, *, name: str | None = None, policy: EmptyPolicy | None = None) -> None:
        self.mapper = mapper
        self.name = name
        self.policy: EmptyPolicy = Evict() if policy is None else policy
        self._link = ""
        self._parent: RedFlow | None = None
        self._children: dict[str, RedFlow] = {}
        self._top: dict[Hashable, Cluster] = {}
        self._depth = 0
        self._graph = Graph(self)
        self._on_source_add: Hooks = ()
        self._on_source_remove: Hooks = ()
        self._on_cluster_new: Hooks = ()
        self._on_cluster_empty: Hooks = ()
        self._on_cluster_evict: Hooks = ()

    graph = staticmethod(_link.build_graph)

    # -- the tree of flows ------------------------------------------------

    @property
    def parent(self) -> RedFlow | None:
        return self._parent

    @property
    def children(self) -> Mapping[str, RedFlow]:
        """The linked child flows by link name."""
        return MappingProxyType(self._children)

    @property
    def root(self) -> RedFlow:
        return self._graph.root

    @property
    def depth(self) -> int:
        """0 for the root flow, 1 for its children, and so on."""
        return self._depth

    def link_child(self, name: str, child: RedFlow) -> None:
        """Link `child` below this flow as `name`, and classify the sources already here.

        `child` must be a root flow holding no sources or clusters; it takes the
        name `name`. Atomic: if a mapper raises, nothing is linked.
        """
        self._operate(lambda events: _link.link(self, name, child, events))

    def unlink_child(self, name: str) -> list[Cluster]:
        """Unlink child flow `name`; its clusters (and those below) leave the graph.

        Every member leaves each dropped cluster (on_source_remove), the clusters
        fire on_cluster_empty if they had members, and all are evicted at once,
        whatever their policy (on_cluster_evict, deepest first). The child
        becomes a root flow again, empty. Returns the evicted clusters.
        """
        return self._operate(lambda events: _link.unlink(self, name, events))

    # -- sources ----------------------------------------------------------

    @property
    def sources(self) -> Mapping[Hashable, Source]:
        """Every source of this graph by id (one registry shared by all its flows)."""
        return MappingProxyType(self._graph.sources)

    def add_source(self, source: Source) -> list[Cluster]:
        """Add one source to the graph; see add_sources."""
        return self.add_sources((source,))

    def add_sources(self, sources: Iterable[Source]) -> list[Cluster]:
        """Add sources to this flow's graph (classified from the root) and return new clusters.

        All or nothing: a duplicate id (DuplicateSourceError) or a mapper error
        leaves the graph as it was. The new clusters come parents first.
        """
        batch = list(sources)
        self._check_new(batch)
        return self._operate(lambda events: self._add(batch, events))

    def remove(self, source_id: Hashable) -> list[Cluster]:
        """Remove the source `source_id` from the graph; return the clusters that emptied."""
        return self.remove_sources((source_id,))

    def remove_sources(self, source_ids: Iterable[Hashable]) -> list[Cluster]:
        """Remove sources by id from every level; return the emptied clusters, deepest first.

        Unknown ids raise KeyError before anything changes.
        """
        registry = self._graph.sources
        try:
            batch = [registry[source_id] for source_id in dict.fromkeys(source_ids)]
        except KeyError as error:
            raise KeyError(f"no source with id {error.args[0]!r} in this graph") from None
        return self._operate(lambda events: self._graph.remove(batch, events))

    def sweep(self, *, force: bool = False) -> list[Cluster]:
        """Evict the graph's empty clusters whose grace has passed; `force` evicts every empty one.

        Returns the evicted clusters. Add, remove, link and unlink sweep too, at their end.
        """
        return self._operate(lambda events: self._graph.sweep(events, force))

    # -- clusters ---------------------------------------------------------

    @property
    def clusters(self) -> tuple[Cluster, ...]:
        """This level's clusters across all parent clusters, grouped by parent, oldest first.

        Empty clusters kept by a Keep or Grace policy are included.
        """
        return tuple(self.iter_clusters())

    def iter_clusters(self) -> Iterator[Cluster]:
        """Iterate this level's clusters without building a tuple."""
        if self._parent is None:
            yield from self._top.values()
            return
        for parent in self._parent.iter_clusters():
            yield from parent._children[self._link].values()

    def cluster(self, *path: Hashable) -> Cluster:
        """Return this level's cluster at `path`: cluster ids from the top level down."""
        flows: list[RedFlow] = []
        flow: RedFlow | None = self
        while flow is not None:
            flows.append(flow)
            flow = flow._parent
        if len(path) != len(flows):
            raise KeyError(f"flow {self.name!r} is at depth {self._depth}: give {len(flows)} ids")
        container = self.root._top
        found: Cluster | None = None
        for step, (flow, cluster_id) in enumerate(zip(reversed(flows), path, strict=True)):
            if found is not None:
                container = found._children[flow._link]
            if cluster_id not in container:
                raise KeyError(f"no cluster {path[: step + 1]!r} in flow {flow.name!r}")
            found = container[cluster_id]
        assert found is not None
        return found

    # -- hooks --------------------------------------------------------------

    def on_source_add(self, hook: Callable[[SourceEvent], object]) -> Callable[[SourceEvent], object]:
        """Call `hook(event)` whenever a source joins a cluster of this flow."""
        self._on_source_add += (hook,)
        return hook

    def on_source_remove(self, hook: Callable[[SourceEvent], object]) -> Callable[[SourceEvent], object]:
        """Call `hook(event)` whenever a source leaves a cluster of this flow."""
        self._on_source_remove += (hook,)
        return hook

    def on_cluster_new(self, hook: Callable[[ClusterEvent], object]) -> Callable[[ClusterEvent], object]:
        """Call `hook(event)` whenever this flow creates a cluster (start its resource here)."""
        self._on_cluster_new += (hook,)
        return hook

    def on_cluster_empty(self, hook: Callable[[ClusterEvent], object]) -> Callable[[ClusterEvent], object]:
        """Call `hook(event)` whenever a cluster of this flow loses its last source."""
        self._on_cluster_empty += (hook,)
        return hook

    def on_cluster_evict(self, hook: Callable[[ClusterEvent], object]) -> Callable[[ClusterEvent], object]:
        """Call `hook(event)` whenever a cluster of this flow leaves the graph (stop it here)."""
        self._on_cluster_evict += (hook,)
        return hook

    # -- execution and views --------------------------------------------------

    def exec(self, fn: Callable[[Execution], R]) -> dict[Cluster, R]:
        """Run `fn` once per cluster of this level; see tradeflood.redflow._exec."""
        return _exec.run(self, list(self.iter_clusters()), fn)

    async def aexec(self, fn: Callable[[Execution], Any], *, limit: int | None = None) -> dict[Cluster, Any]:
        """Await `fn` once per cluster of this level, concurrently (at most `limit` at once)."""
        return await _exec.arun(self, list(self.iter_clusters()), fn, limit)

    def exec_on_cluster(self, cluster: Cluster, fn: Callable[[Execution], R]) -> R:
        """Run `fn` on one cluster of this flow and return its result; errors propagate as-is."""
        return _exec.run_one(self, cluster, fn)

    def exec_on_parent_cluster(
        self, parent: Cluster | None, fn: Callable[[Execution], R]
    ) -> dict[Cluster, R]:
        """Run `fn` once per cluster of this flow inside `parent` (None for a root flow)."""
        return _exec.run(self, _exec.clusters_under(self, parent), fn)

    def render(self, *, max_sources: int = 8) -> str:
        """Return this flow's cluster tree as indented text."""
        return _render.render(self, max_sources)

    def to_networkx(self) -> nx.DiGraph:
        """Export this flow's cluster tree as a networkx DiGraph."""
        return _render.to_networkx(self)

    def __repr__(self) -> str:
        return f"RedFlow(name={self.name!r}, depth={self._depth}, children={list(self._children)})"

    # -- internals ----------------------------------------------------------------

    def _operate(self, change: Callable[[Pending], R]) -> R:
        events: Pending = []
        result = change(events)
        self._graph.sweep(events)
        fire(events)
        return result

    def _check_new(self, batch: list[Source]) -> None:
        registry = self._graph.sources
        seen: set[Hashable] = set()
        for source in batch:
            if source._graph is not None:
                raise DuplicateSourceError.attached(source.id)
            if source.id in registry or source.id in seen:
                raise DuplicateSourceError(source.id)
            seen.add(source.id)

    def _add(self, batch: list[Source], events: Pending) -> list[Cluster]:
        graph = self._graph
        registry = graph.sources
        for source in batch:
            registry[source.id] = source
            source._graph = graph
        change = Change(batch)
        try:
            classify(graph.root, None, batch, change)
        except BaseException:
            change.rollback()
            for source in batch:
                del registry[source.id]
                source._graph = None
            raise
        events.extend(change.events)
        return change.created
