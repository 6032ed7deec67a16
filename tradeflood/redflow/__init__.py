"""RedFlow: many consumers share one resource through multi-level clustering.

Sources (consumers) are sorted by a flow's mapper into clusters; linked child
flows cluster each parent cluster's sources again, so a graph of flows yields
a tree of clusters. Work runs once per cluster, and adding or removing
sources reports the clusters that appeared or emptied.

Rules worth knowing (each is pinned by a test):

- A mapper calls ``creator.get_or_create(id)`` at most once per source: zero
  calls leave the source out of that level and all below it; a second call is
  a MapperError.
- One registry per graph: adding through any flow classifies from the root;
  an id already present is a DuplicateSourceError (nothing is replaced).
- ``add_sources`` and ``link_child`` are all-or-nothing: a mapper error undoes
  every cluster and membership of the call and fires no hook; it reaches the
  caller unchanged, with a note naming the flow and source. (Changes a mapper
  made to the ``data`` of clusters that already existed are its own.)
- Hooks run after the change is applied, once per event, parents before
  children; if some raise, every hook still runs and a HookError follows.
- Emptied clusters follow their flow's policy: Evict (default), Keep, or
  Grace(seconds, clock). Start resources on ``on_cluster_new`` and stop them
  on ``on_cluster_evict``; ``on_cluster_empty`` only says the last source left.
- ``exec`` runs on every cluster present (kept empty ones included), all of
  them even if some fail, then raises ExecError; ``aexec`` does the same
  concurrently. Not thread-safe: use a graph from one thread or event loop.

>>> from tradeflood.redflow import RedFlow, Source, signature
>>> def by_stream(source, creator, parent):
...     creator.get_or_create((source.data["symbol"], source.data["interval"]))
>>> def by_settings(source, creator, parent):
...     is_new, cluster = creator.get_or_create(signature(source.data["settings"]))
...     if is_new:
...         cluster.data = source.data["settings"]
>>> stream = RedFlow.graph([RedFlow(by_stream, name="stream"),
...                         [RedFlow(by_settings, name="strategy")]])
>>> _ = stream.add_sources([
...     Source("ann", {"symbol": "BTC", "interval": "1h", "settings": {"fast": 5, "slow": 20}}),
...     Source("bob", {"symbol": "BTC", "interval": "1h", "settings": {"slow": 20, "fast": 5}}),
... ])
>>> print(stream.render())
stream ('BTC', '1h'): 2 sources ['ann', 'bob']
  strategy '{"fast":5,"slow":20}': 2 sources ['ann', 'bob']
"""

from __future__ import annotations

from ._classify import ClusterCreator
from ._cluster import Cluster
from ._errors import (
    ClusterExecError,
    DuplicateSourceError,
    ExecError,
    HookError,
    LinkError,
    MapperError,
    RedFlowError,
)
from ._events import ClusterEvent, SourceEvent
from ._exec import Execution, Executor, Executors
from ._flow import Mapper, RedFlow
from ._policy import Clock, EmptyPolicy, Evict, Grace, Keep, MonotonicClock
from ._signature import signature
from ._source import Source

__all__ = [
    "Clock",
    "Cluster",
    "ClusterCreator",
    "ClusterEvent",
    "ClusterExecError",
    "DuplicateSourceError",
    "EmptyPolicy",
    "Evict",
    "ExecError",
    "Execution",
    "Executor",
    "Executors",
    "Grace",
    "HookError",
    "Keep",
    "LinkError",
    "Mapper",
    "MapperError",
    "MonotonicClock",
    "RedFlow",
    "RedFlowError",
    "Source",
    "SourceEvent",
    "signature",
]
