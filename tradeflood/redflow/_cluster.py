"""A cluster: the sources of one flow level that share a signature, and the resource they share."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from types import MappingProxyType, SimpleNamespace
from typing import TYPE_CHECKING, Any

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    from ._flow import RedFlow
    from ._source import Source

__all__ = ["Cluster"]


class Cluster:
    """The sources one flow put under one id, inside one parent cluster.

    A cluster stands for one shared resource: `data` is what the mapper set
    (e.g. the stream's parameters), `ctx` a free namespace for what the caller
    attaches (e.g. the stream handle). `children[name]` maps ids to the
    clusters the child flow `name` made from this cluster's sources.

    >>> from tradeflood.redflow import RedFlow, Source
    >>> def by_stream(source, creator, parent):
    ...     is_new, cluster = creator.get_or_create(source.data["symbol"])
    ...     if is_new:
    ...         cluster.data = {"symbol": source.data["symbol"]}
    >>> flow = RedFlow(mapper=by_stream, name="stream")
    >>> _ = flow.add_sources([Source(id="u1", data={"symbol": "BTC/USDT"}),
    ...                       Source(id="u2", data={"symbol": "BTC/USDT"})])
    >>> btc = flow.cluster("BTC/USDT")
    >>> btc.data, sorted(btc.sources), btc.parent
    ({'symbol': 'BTC/USDT'}, ['u1', 'u2'], None)
    >>> btc.ctx.handle = "ws-1"
    """

    __slots__ = (
        "_children",
        "_ctx",
        "_deadline",
        "_flow",
        "_live",
        "_sources",
        "data",
        "id",
        "parent",
    )

    def __init__(self, cluster_id: Hashable, flow: RedFlow, parent: Cluster | None) -> None:
        self.id = cluster_id
        self.data: Any = None
        self.parent = parent
        self._flow = flow
        self._sources: dict[Hashable, Source] = {}
        self._children: dict[str, dict[Hashable, Cluster]] = {name: {} for name in flow._children}
        self._ctx: SimpleNamespace | None = None
        self._live = True
        self._deadline = 0.0

    @property
    def flow(self) -> RedFlow:
        """The flow (level) that made this cluster."""
        return self._flow

    @property
    def sources(self) -> Mapping[Hashable, Source]:
        """The member sources by id (a read-only live view)."""
        return MappingProxyType(self._sources)

    @property
    def children(self) -> Mapping[str, Mapping[Hashable, Cluster]]:
        """Per linked child flow name, the child clusters made from this cluster (read-only)."""
        return MappingProxyType(
            {name: MappingProxyType(clusters) for name, clusters in self._children.items()}
        )

    @property
    def ctx(self) -> SimpleNamespace:
        """A free namespace for whatever the caller keeps with this cluster."""
        if self._ctx is None:
            self._ctx = SimpleNamespace()
        return self._ctx

    @property
    def path(self) -> tuple[Hashable, ...]:
        """The cluster ids from the top level down to this cluster."""
        ids: list[Hashable] = []
        cluster: Cluster | None = self
        while cluster is not None:
            ids.append(cluster.id)
            cluster = cluster.parent
        return tuple(reversed(ids))

    @property
    def live(self) -> bool:
        """False once the cluster was evicted from its graph."""
        return self._live

    def __repr__(self) -> str:
        state = "" if self._live else ", evicted"
        return f"Cluster(flow={self._flow.name!r}, path={self.path!r}, sources={len(self._sources)}{state})"
