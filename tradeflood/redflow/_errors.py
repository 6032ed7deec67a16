"""The errors RedFlow raises, in one hierarchy.

    RedFlowError
     +-- DuplicateSourceError  (also ValueError)  a source id already in the graph
     +-- LinkError             (also ValueError)  a link that would break the flow tree
     +-- MapperError           (also RuntimeError) a mapper broke its contract
     +-- ClusterExecError      one cluster's execution failed (carries the cluster)
     +-- ExecError             (ExceptionGroup)   every ClusterExecError of one exec
     +-- HookError             (ExceptionGroup)   hooks that raised during one operation

Exceptions raised by a mapper itself are not wrapped: they reach the caller
unchanged, with a note naming the flow and the source.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

# import cycle: types only: a flow, its clusters, sources and events refer to one another
if TYPE_CHECKING:
    from ._cluster import Cluster

__all__ = [
    "ClusterExecError",
    "DuplicateSourceError",
    "ExecError",
    "HookError",
    "LinkError",
    "MapperError",
    "RedFlowError",
]


class RedFlowError(Exception):
    """Base class of every error RedFlow raises on its own account."""


class DuplicateSourceError(RedFlowError, ValueError):
    """A source was added under an id the graph already holds."""

    def __init__(self, source_id: Hashable) -> None:
        super().__init__(
            f"a source with id {source_id!r} is already in this graph; "
            "remove it first (flow.remove(id)) or use another id"
        )
        self.source_id = source_id

    @classmethod
    def attached(cls, source_id: Hashable) -> DuplicateSourceError:
        """The error for a Source object that already belongs to a graph."""
        error = cls(source_id)
        error.args = (f"source {source_id!r} is already in a graph; detach() it before adding it again",)
        return error


class LinkError(RedFlowError, ValueError):
    """A link or unlink that the flow tree cannot take."""


class MapperError(RedFlowError, RuntimeError):
    """A mapper broke its contract, e.g. put one source in two clusters of a level."""


class ClusterExecError(RedFlowError):
    """The function given to exec failed on one cluster; the original error is __cause__."""

    def __init__(self, cluster: Cluster, error: BaseException) -> None:
        super().__init__(f"exec failed on cluster {cluster.path!r} of flow {cluster.flow.name!r}: {error!r}")
        self.cluster = cluster
        self.error = error
        self.__cause__ = error


class ExecError(ExceptionGroup[ClusterExecError], RedFlowError):
    """Raised by exec/aexec after every cluster ran, when at least one failed.

    `exceptions` holds one ClusterExecError per failed cluster; `results` maps
    each cluster that succeeded to its return value.
    """

    results: dict[Cluster, Any]

    def __new__(
        cls,
        message: str,
        exceptions: Sequence[ClusterExecError],
        results: dict[Cluster, Any] | None = None,
    ) -> ExecError:
        self = super().__new__(cls, message, exceptions)
        self.results = {} if results is None else results
        return self

    def __init__(
        self,
        message: str,
        exceptions: Sequence[ClusterExecError],
        results: dict[Cluster, Any] | None = None,
    ) -> None:
        super().__init__(message, exceptions)

    def derive(self, excs: Sequence[ClusterExecError]) -> ExecError:  # type: ignore[override]
        return ExecError(self.message, excs, self.results)


class HookError(ExceptionGroup[Exception], RedFlowError):
    """Raised after an operation when hooks raised; the operation itself is committed.

    Every hook of the operation ran once; this groups what they raised.
    """

    def derive(self, excs: Sequence[Exception]) -> HookError:  # type: ignore[override]
        return HookError(self.message, excs)
