"""exec/aexec: once per cluster, child executors scoped to their parent, errors collected."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tradeflood.redflow import ClusterExecError, ExecError, Execution, RedFlow, Source


def by_symbol(source: Source, creator: Any, parent: Any) -> None:
    creator.get_or_create(source.data[0])


def by_user(source: Source, creator: Any, parent: Any) -> None:
    creator.get_or_create(source.id)


@pytest.fixture
def stream() -> RedFlow:
    flow = RedFlow(by_symbol, name="stream")
    flow.link_child("user", RedFlow(by_user))
    flow.add_sources([Source("a1", ("A",)), Source("a2", ("A",)), Source("b1", ("B",)), Source("c1", ("C",))])
    return flow


def test_exec_on_an_empty_flow_is_a_no_op() -> None:
    calls: list[object] = []
    flow = RedFlow(by_symbol)
    flow.link_child("user", RedFlow(by_user))
    assert flow.exec(calls.append) == {}
    assert flow.children["user"].exec(calls.append) == {}
    assert asyncio.run(flow.aexec(calls.append)) == {}
    assert calls == []


def test_exec_returns_results_per_cluster_in_order(stream: RedFlow) -> None:
    results = stream.exec(lambda x: (x.cluster.id, sorted(x.cluster.sources), x.parent_cluster))
    assert [(c.id, r) for c, r in results.items()] == [
        ("A", ("A", ["a1", "a2"], None)),
        ("B", ("B", ["b1"], None)),
        ("C", ("C", ["c1"], None)),
    ]
    users = stream.children["user"].exec(lambda x: x.parent_cluster.id)
    assert [(c.id, r) for c, r in users.items()] == [("a1", "A"), ("a2", "A"), ("b1", "B"), ("c1", "C")]


def test_child_executors_only_see_their_parents_children(stream: RedFlow) -> None:
    def per_stream(x: Execution) -> list[str]:
        x.ctx.visits = getattr(x.ctx, "visits", 0) + 1
        assert list(x.executors) == ["user"] and x.flow is stream
        assert x.executors["user"].clusters == tuple(x.cluster.children["user"].values())
        return sorted(x.executors.user.exec(lambda y: y.cluster.id).values())

    assert [r for r in stream.exec(per_stream).values()] == [["a1", "a2"], ["b1"], ["c1"]]
    assert [c.ctx.visits for c in stream.clusters] == [1, 1, 1]
    with pytest.raises(AttributeError, match="no child flow 'strategy'; children: \\['user'\\]"):
        stream.exec_on_cluster(stream.cluster("A"), lambda x: x.executors.strategy)


def test_exec_on_cluster_and_on_parent_cluster(stream: RedFlow) -> None:
    user = stream.children["user"]
    a = stream.cluster("A")
    assert stream.exec_on_cluster(a, lambda x: len(x.cluster.sources)) == 2
    with pytest.raises(ZeroDivisionError):  # a single run propagates its error unchanged
        stream.exec_on_cluster(a, lambda x: 1 / 0)
    with pytest.raises(ValueError, match="not a live cluster of flow 'user'"):
        user.exec_on_cluster(a, lambda x: None)
    ran = user.exec_on_parent_cluster(a, lambda x: x.cluster.id)
    assert list(ran.values()) == ["a1", "a2"]
    assert list(stream.exec_on_parent_cluster(None, lambda x: x.cluster.id).values()) == ["A", "B", "C"]
    with pytest.raises(ValueError, match="give the parent cluster"):
        user.exec_on_parent_cluster(None, lambda x: None)
    with pytest.raises(ValueError, match="not to the parent of flow 'user'"):
        user.exec_on_parent_cluster(user.cluster("A", "a1"), lambda x: None)


def test_one_failing_cluster_does_not_stop_the_others(stream: RedFlow) -> None:
    ran: list[str] = []

    def work(x: Execution) -> str:
        ran.append(x.cluster.id)
        if x.cluster.id == "B":
            raise KeyError("no candles")
        return x.cluster.id.lower()

    with pytest.raises(ExecError) as caught:
        stream.exec(work)
    group = caught.value
    assert ran == ["A", "B", "C"]
    assert str(group) == "exec failed on 1 of 3 clusters of flow 'stream' (1 sub-exception)"
    (failure,) = group.exceptions
    assert isinstance(failure, ClusterExecError)
    assert failure.cluster is stream.cluster("B")
    assert isinstance(failure.__cause__, KeyError) and failure.error is failure.__cause__
    assert {c.id: r for c, r in group.results.items()} == {"A": "a", "C": "c"}

    try:
        stream.exec(work)
    except* ClusterExecError as matched:  # the group works with except*
        assert [e.cluster.id for e in matched.exceptions] == ["B"]


def test_a_failing_child_exec_fails_its_parent_cluster(stream: RedFlow) -> None:
    def per_stream(x: Execution) -> int:
        return len(x.executors.user.exec(lambda y: 1 / (y.cluster.id != "a2")))

    with pytest.raises(ExecError) as caught:
        stream.exec(per_stream)
    (failure,) = caught.value.exceptions
    assert failure.cluster.id == "A"
    inner = failure.__cause__
    assert isinstance(inner, ExecError)
    assert [e.cluster.id for e in inner.exceptions] == ["a2"]
    assert {c.id: r for c, r in caught.value.results.items()} == {"B": 1, "C": 1}


def test_base_exceptions_stop_exec_at_once(stream: RedFlow) -> None:
    class Stop(BaseException):
        pass

    ran: list[str] = []

    def work(x: Execution) -> None:
        ran.append(x.cluster.id)
        raise Stop

    with pytest.raises(Stop):
        stream.exec(work)
    assert ran == ["A"]


def test_aexec_runs_concurrently_and_collects_errors(stream: RedFlow) -> None:
    active = 0
    peak = 0

    async def work(x: Execution) -> str:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.05)
        active -= 1
        if x.cluster.id == "C":
            raise RuntimeError("socket closed")
        return x.cluster.id

    started = time.perf_counter()
    with pytest.raises(ExecError) as caught:
        asyncio.run(stream.aexec(work))
    assert time.perf_counter() - started < 0.14  # three sleeps overlapped
    assert peak == 3
    assert [e.cluster.id for e in caught.value.exceptions] == ["C"]
    assert [r for r in caught.value.results.values()] == ["A", "B"]

    peak = 0
    with pytest.raises(ExecError):
        asyncio.run(stream.aexec(work, limit=1))
    assert peak == 1
    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(stream.aexec(work, limit=0))


def test_aexec_with_child_executors_and_plain_functions(stream: RedFlow) -> None:
    async def per_stream(x: Execution) -> list[str]:
        users = await x.executors.user.aexec(lambda y: y.cluster.id)  # plain values are fine
        return list(users.values())

    results = asyncio.run(stream.aexec(per_stream))
    assert list(results.values()) == [["a1", "a2"], ["b1"], ["c1"]]
