"""Linking flows parent -> child, unlinking them, and building a linked graph from a spec."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._classify import Change, classify
from ._errors import LinkError
from ._events import ClusterEvent, SourceEvent
from ._graph import Graph, walk_clusters

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    from ._cluster import Cluster
    from ._events import Pending
    from ._flow import RedFlow
    from ._source import Source

__all__ = ["build_graph", "link", "unlink"]


def link(parent: RedFlow, name: str, child: RedFlow, events: Pending) -> None:
    """Link `child` under `parent` as `name` and classify the parent clusters' sources."""
    from ._flow import RedFlow  # import cycle: a flow links through this module; checked at call time

    if not isinstance(child, RedFlow):
        raise TypeError(f"link_child() needs a RedFlow, got {type(child).__qualname__!r}")
    if not isinstance(name, str) or not name:
        raise LinkError(f"a link name must be a non-empty str, got {name!r}")
    if name in parent._children:
        raise LinkError(
            f"flow {parent.name!r} already has a child named {name!r}; unlink_child({name!r}) first"
        )
    if child._parent is not None:
        raise LinkError(
            f"flow {child.name!r} is already linked under {child._parent.name!r}; unlink it first"
        )
    if child is parent._graph.root:
        raise LinkError(f"linking {child.name!r} under {parent.name!r} would make a cycle")
    if child._graph.sources or child._top:
        raise LinkError(
            f"flow {child.name!r} still holds sources or clusters; remove its sources "
            "(and sweep(force=True) kept clusters) before linking it as a child"
        )
    old_name, old_graph = child.name, child._graph
    subtree = list(_subtree(child))
    graph = parent._graph
    parent._children[name] = child
    child._parent, child._link, child.name = parent, name, name
    _adopt(subtree, graph)
    existing = list(parent.iter_clusters())
    for cluster in existing:
        cluster._children[name] = {}
    sources = list(graph.sources.values())
    change = Change(sources, [len(source._clusters) for source in sources])
    try:
        for cluster in existing:
            if cluster._sources:
                classify(child, cluster, list(cluster._sources.values()), change)
    except BaseException:
        change.rollback()
        for cluster in existing:
            del cluster._children[name]
        del parent._children[name]
        child._parent, child._link, child.name = None, "", old_name
        _adopt(subtree, old_graph)
        raise
    events.extend(change.events)


def unlink(parent: RedFlow, name: str, events: Pending) -> list[Cluster]:
    """Unlink child flow `name`: its clusters lose their members and are evicted."""
    child = parent._children.get(name)
    if child is None:
        raise LinkError(
            f"flow {parent.name!r} has no child named {name!r}; children: {list(parent._children)}"
        )
    graph = parent._graph
    subtree = list(_subtree(child))
    levels = set(subtree)
    parents = list(parent.iter_clusters())
    dropped = [c for top in parents for c in walk_clusters(child, top)]
    touched: dict[int, Source] = {}
    for cluster in dropped:
        hooks = cluster._flow._on_source_remove
        for source in cluster._sources.values():
            touched[id(source)] = source
            if hooks:
                events.append((hooks, SourceEvent(source, cluster, False)))
    for source in touched.values():
        source._clusters = [c for c in source._clusters if c._flow not in levels]
    emptied = [c for c in dropped if c._sources]
    emptied.sort(key=lambda c: -c._flow._depth)
    for cluster in emptied:
        cluster._sources.clear()
        if cluster._flow._on_cluster_empty:
            events.append((cluster._flow._on_cluster_empty, ClusterEvent(cluster)))
    evicted: list[Cluster] = []
    for top in parents:
        for cluster in list(top._children[name].values()):
            graph.evict(cluster, events, evicted)
        del top._children[name]
    del parent._children[name]
    child._parent, child._link = None, ""
    _adopt(subtree, Graph(child))
    return evicted


def build_graph(spec: Any) -> RedFlow:
    """Link flows as `spec` says and return the root flow.

    A spec is a flow, or a list/tuple ``[flow, children]`` (``[flow]`` alone
    is a flow). `children` is a list of specs, each linked under its flow's
    own `name`, or a dict ``{link_name: spec}``. So
    ``[r1, [[r2, [r4, r5]], r3]]`` links r2 and r3 under r1 and r4 and r5
    under r2, and ``[r1, {"stream": [r2, {"strategy": r3}]}]`` names the links.

    >>> from tradeflood.redflow import RedFlow
    >>> def mapper(source, creator, parent): creator.get_or_create(source.data)
    >>> spec = [RedFlow(mapper), {"stream": [RedFlow(mapper), {"strategy": RedFlow(mapper)}]}]
    >>> root = RedFlow.graph(spec)
    >>> root.children["stream"].children["strategy"].depth
    2
    """
    return _build(spec, "spec")


def _build(spec: Any, where: str) -> RedFlow:
    from ._flow import RedFlow  # import cycle: a flow links through this module; built at call time

    if isinstance(spec, RedFlow):
        return spec
    if not isinstance(spec, (list, tuple)) or not spec or not isinstance(spec[0], RedFlow):
        raise TypeError(f"{where}: expected a RedFlow or [RedFlow, children], got {spec!r}")
    if len(spec) > 2:
        raise TypeError(f"{where}: expected [RedFlow, children], got {len(spec)} items")
    flow = spec[0]
    children = spec[1] if len(spec) == 2 else []
    named: Sequence[tuple[str | None, Any]]
    if isinstance(children, Mapping):
        named = list(children.items())
    elif isinstance(children, (list, tuple)):
        named = [(None, item) for item in children]
    else:
        raise TypeError(f"{where}: children must be a list or a dict, got {children!r}")
    for index, (name, item) in enumerate(named):
        step = f"{where}[{name!r}]" if name is not None else f"{where}[{index}]"
        child = _build(item, step)
        link_name = child.name if name is None else name
        if link_name is None:
            raise LinkError(f"{step}: flow has no name; give it one, or use {{name: flow}}")
        flow.link_child(link_name, child)
    return flow


def _subtree(flow: RedFlow) -> Iterator[RedFlow]:
    yield flow
    for child in flow._children.values():
        yield from _subtree(child)


def _adopt(subtree: list[RedFlow], graph: Graph) -> None:
    """Point a subtree of flows (parents first) at `graph` and fix their depths."""
    for flow in subtree:
        flow._graph = graph
        flow._depth = 0 if flow._parent is None else flow._parent._depth + 1
