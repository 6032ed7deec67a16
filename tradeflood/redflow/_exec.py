"""Execution once per cluster: exec/aexec, and the child executors scoped to one cluster.

Error policy: every cluster runs even if others fail. `exec` and `aexec` return
{cluster: result} in cluster order; if any cluster raised an Exception, they
raise ExecError after all ran: an ExceptionGroup of ClusterExecError (each with
`.cluster`, the original error as `__cause__`), whose `.results` holds the
clusters that succeeded. BaseExceptions (KeyboardInterrupt, CancelledError)
stop at once. A failing child exec inside a parent's function is an ExecError
raised in that function, so it fails that parent cluster.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import ClusterExecError, ExecError
from ._events import ClusterView

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    from ._cluster import Cluster
    from ._flow import RedFlow

__all__ = ["ClusterRunner", "ClusterRunners", "Execution", "Executor", "Executors"]

R = TypeVar("R")


class Execution(ClusterView):
    """What an exec function receives for one cluster.

    >>> from tradeflood.redflow import RedFlow, Source
    >>> flow = RedFlow(mapper=lambda s, c, p: c.get_or_create(s.data), name="stream")
    >>> _ = flow.add_sources([Source(1, "BTC"), Source(2, "ETH")])
    >>> flow.exec(lambda x: (x.cluster.id, x.parent_cluster, x.flow.name))
    {Cluster(flow='stream', path=('BTC',), sources=1): ('BTC', None, 'stream'), \
Cluster(flow='stream', path=('ETH',), sources=1): ('ETH', None, 'stream')}
    """

    __slots__ = ("cluster",)

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    @property
    def executors(self) -> ClusterRunners:
        """One runner per child flow, limited to this cluster's child clusters."""
        return ClusterRunners(self.cluster)


class ClusterRunner:
    """Runs functions on the clusters one flow made inside one parent cluster.

    >>> from tradeflood.redflow import RedFlow, Source
    >>> stream = RedFlow(mapper=lambda s, c, p: c.get_or_create(s.data[0]))
    >>> stream.link_child("user", RedFlow(mapper=lambda s, c, p: c.get_or_create(s.id)))
    >>> _ = stream.add_sources([Source(1, "A"), Source(2, "A"), Source(3, "B")])
    >>> a = stream.cluster("A")
    >>> sorted(ClusterRunner(stream.children["user"], a).exec(lambda x: x.cluster.id).values())
    [1, 2]
    """

    __slots__ = ("flow", "parent")

    def __init__(self, flow: RedFlow, parent: Cluster | None) -> None:
        self.flow = flow
        self.parent = parent

    @property
    def clusters(self) -> tuple[Cluster, ...]:
        return tuple(clusters_under(self.flow, self.parent))

    def exec(self, fn: Callable[[Execution], R]) -> dict[Cluster, R]:
        """Run `fn` once per cluster here; see the module's error policy."""
        return run(self.flow, clusters_under(self.flow, self.parent), fn)

    async def aexec(self, fn: Callable[[Execution], Any], *, limit: int | None = None) -> dict[Cluster, Any]:
        """Await `fn` once per cluster here, concurrently (at most `limit` at once)."""
        return await arun(self.flow, clusters_under(self.flow, self.parent), fn, limit)


class ClusterRunners:
    """The child runners of one cluster, by child flow name: `x.executors.strategy`."""

    __slots__ = ("_cluster",)

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster

    def __getattr__(self, name: str) -> ClusterRunner:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"flow {self._cluster._flow.name!r} has no child flow {name!r}; "
                f"children: {list(self._cluster._flow._children)}"
            ) from None

    def __getitem__(self, name: str) -> ClusterRunner:
        return ClusterRunner(self._cluster._flow._children[name], self._cluster)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._cluster._flow._children))

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._cluster._flow._children]


def clusters_under(flow: RedFlow, parent: Cluster | None) -> list[Cluster]:
    """The clusters of `flow` inside `parent` (None: the top level of a root flow)."""
    if parent is None:
        if flow._parent is not None:
            raise ValueError(f"flow {flow.name!r} is a child flow: give the parent cluster")
        return list(flow._top.values())
    if parent._flow is not flow._parent:
        raise ValueError(
            f"cluster {parent.path!r} belongs to flow {parent._flow.name!r}, "
            f"not to the parent of flow {flow.name!r}"
        )
    return list(parent._children.get(flow._link, {}).values())


def run(flow: RedFlow, clusters: Sequence[Cluster], fn: Callable[[Execution], R]) -> dict[Cluster, R]:
    """Call `fn` once per cluster; collect results and failures per the module's policy."""
    results: dict[Cluster, R] = {}
    failures: list[ClusterExecError] = []
    for cluster in clusters:
        try:
            results[cluster] = fn(Execution(cluster))
        except Exception as error:  # one cluster must not stop the others
            failures.append(ClusterExecError(cluster, error))
    if failures:
        raise _exec_error(flow, failures, len(clusters), results)
    return results


def run_one(flow: RedFlow, cluster: Cluster, fn: Callable[[Execution], R]) -> R:
    """Call `fn` on one cluster of `flow`; its errors propagate unchanged."""
    if cluster._flow is not flow or not cluster._live:
        raise ValueError(f"{cluster!r} is not a live cluster of flow {flow.name!r}")
    return fn(Execution(cluster))


async def arun(
    flow: RedFlow,
    clusters: Sequence[Cluster],
    fn: Callable[[Execution], Any],
    limit: int | None,
) -> dict[Cluster, Any]:
    """Await `fn` once per cluster concurrently with asyncio.gather; same error policy as run."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit!r}")
    gate = asyncio.Semaphore(limit) if limit is not None else None

    async def one(cluster: Cluster) -> tuple[bool, Any]:
        try:
            if gate is None:
                return True, await _settle(fn(Execution(cluster)))
            async with gate:
                return True, await _settle(fn(Execution(cluster)))
        except Exception as error:  # one cluster must not stop the others
            return False, error

    outcomes = await asyncio.gather(*(one(cluster) for cluster in clusters))
    results: dict[Cluster, Any] = {}
    failures: list[ClusterExecError] = []
    for cluster, (ok, value) in zip(clusters, outcomes, strict=True):
        if ok:
            results[cluster] = value
        else:
            failures.append(ClusterExecError(cluster, value))
    if failures:
        raise _exec_error(flow, failures, len(clusters), results)
    return results


async def _settle(value: Awaitable[Any] | Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _exec_error(
    flow: RedFlow, failures: list[ClusterExecError], total: int, results: dict[Cluster, Any]
) -> ExecError:
    return ExecError(
        f"exec failed on {len(failures)} of {total} clusters of flow {flow.name!r}",
        failures,
        results,
    )


# The names RedFlow's API has always exported; TradeFlood's one Executor is tradeflood.executor's.
Executor = ClusterRunner
Executors = ClusterRunners
