"""Views of a cluster tree: indented text for people, a networkx DiGraph for programs."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import networkx as nx

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    from ._cluster import Cluster
    from ._flow import RedFlow

__all__ = ["cluster_node", "render", "to_networkx"]


def render(flow: RedFlow, max_sources: int = 8) -> str:
    """One line per cluster of `flow` and below, indented by level, in creation order.

    A line reads ``<flow name> <id!r>: <n> source(s) [<ids>]``, listing at most
    `max_sources` ids then ``+k more``. Clusters of a child flow rendered on
    their own also name their parent's path: ``strategy 10 in ('BTC',): ...``.
    """
    lines: list[str] = []
    for cluster in flow.iter_clusters():
        _render_cluster(cluster, flow, 0, max_sources, lines)
    if not lines:
        return f"{flow.name or 'flow'}: no clusters"
    return "\n".join(lines)


def _render_cluster(cluster: Cluster, top: RedFlow, level: int, max_sources: int, lines: list[str]) -> None:
    ids = list(cluster._sources)
    shown = ", ".join(repr(source_id) for source_id in ids[:max_sources])
    if len(ids) > max_sources:
        shown += f", +{len(ids) - max_sources} more"
    noun = "source" if len(ids) == 1 else "sources"
    where = f" in {cluster.parent.path!r}" if level == 0 and cluster.parent is not None else ""
    indent = "  " * level
    label = f"{cluster._flow.name} " if cluster._flow.name else ""
    lines.append(f"{indent}{label}{cluster.id!r}{where}: {len(ids)} {noun} [{shown}]")
    for child_clusters in cluster._children.values():
        for child in child_clusters.values():
            _render_cluster(child, top, level + 1, max_sources, lines)


def cluster_node(cluster: Cluster) -> tuple[str, tuple[tuple[str | None, Hashable], ...]]:
    """Return a cluster's node id: ("cluster", ((flow name, id), ...) from the top level)."""
    steps: list[tuple[str | None, Hashable]] = []
    current: Cluster | None = cluster
    while current is not None:
        steps.append((current._flow.name, current.id))
        current = current.parent
    return ("cluster", tuple(reversed(steps)))


def to_networkx(flow: RedFlow) -> nx.DiGraph:
    """Export `flow`'s clusters and below, and their sources, as a DiGraph.

    Cluster nodes are ``cluster_node(cluster)`` with attributes kind="cluster",
    flow, id, path, depth, size, data, cluster; source nodes are
    ``("source", id)`` with kind="source", id, data, source. Edges run parent
    cluster -> child cluster (relation="child") and cluster -> each member
    source (relation="member").
    """
    graph = nx.DiGraph(flow=flow.name)
    for top in flow.iter_clusters():
        for cluster in _below(top):
            node = cluster_node(cluster)
            graph.add_node(
                node,
                kind="cluster",
                flow=cluster._flow.name,
                id=cluster.id,
                path=cluster.path,
                depth=cluster._flow._depth,
                size=len(cluster._sources),
                data=cluster.data,
                cluster=cluster,
            )
            if cluster is not top and cluster.parent is not None:
                graph.add_edge(cluster_node(cluster.parent), node, relation="child")
            for source_id, source in cluster._sources.items():
                source_node = ("source", source_id)
                if source_node not in graph:
                    graph.add_node(source_node, kind="source", id=source_id, data=source.data, source=source)
                graph.add_edge(node, source_node, relation="member")
    return graph


def _below(cluster: Cluster) -> list[Cluster]:
    found = [cluster]
    for child_clusters in cluster._children.values():
        for child in child_clusters.values():
            found.extend(_below(child))
    return found
