"""Adding and removing sources: atomicity, hooks firing once, ids, mappers that skip."""

from __future__ import annotations

from typing import Any

import pytest

from tradeflood.redflow import (
    Cluster,
    ClusterCreator,
    DuplicateSourceError,
    HookError,
    MapperError,
    RedFlow,
    Source,
)


def by_symbol(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    creator.get_or_create(source.data["symbol"])


def by_fast(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    if source.data["fast"] == "boom":
        raise ZeroDivisionError("bad settings")
    if source.data["fast"] is not None:
        creator.get_or_create(source.data["fast"])


def by_user(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    creator.get_or_create(source.id)


def make() -> tuple[RedFlow, list[tuple[str, str, Any]]]:
    root = RedFlow.graph(
        [RedFlow(by_symbol, name="stream"), {"strategy": [RedFlow(by_fast), [RedFlow(by_user, name="user")]]}]
    )
    log: list[tuple[str, str, Any]] = []
    flows = [root, root.children["strategy"], root.children["strategy"].children["user"]]
    for flow in flows:
        name = flow.name or ""
        flow.on_cluster_new(lambda e, n=name: log.append(("new", n, e.cluster.path)))
        flow.on_cluster_empty(lambda e, n=name: log.append(("empty", n, e.cluster.path)))
        flow.on_cluster_evict(lambda e, n=name: log.append(("evict", n, e.cluster.path)))
        flow.on_source_add(
            lambda e, n=name: log.append(("add", n, (e.source.id, e.cluster.path, e.is_new_cluster)))
        )
        flow.on_source_remove(lambda e, n=name: log.append(("remove", n, (e.source.id, e.cluster.path))))
    return root, log


def src(source_id: str, symbol: str, fast: Any) -> Source:
    return Source(source_id, {"symbol": symbol, "fast": fast})


def test_hooks_fire_once_per_event_in_order() -> None:
    root, log = make()
    new = root.add_sources([src("u1", "BTC", 5), src("u2", "BTC", 5)])
    assert [c.path for c in new] == [("BTC",), ("BTC", 5), ("BTC", 5, "u1"), ("BTC", 5, "u2")]
    assert log == [
        ("new", "stream", ("BTC",)),
        ("add", "stream", ("u1", ("BTC",), True)),
        ("add", "stream", ("u2", ("BTC",), False)),
        ("new", "strategy", ("BTC", 5)),
        ("add", "strategy", ("u1", ("BTC", 5), True)),
        ("add", "strategy", ("u2", ("BTC", 5), False)),
        ("new", "user", ("BTC", 5, "u1")),
        ("add", "user", ("u1", ("BTC", 5, "u1"), True)),
        ("new", "user", ("BTC", 5, "u2")),
        ("add", "user", ("u2", ("BTC", 5, "u2"), True)),
    ]
    log.clear()
    emptied = root.remove("u1")
    assert [c.path for c in emptied] == [("BTC", 5, "u1")]
    assert log == [
        ("remove", "stream", ("u1", ("BTC",))),
        ("remove", "strategy", ("u1", ("BTC", 5))),
        ("remove", "user", ("u1", ("BTC", 5, "u1"))),
        ("empty", "user", ("BTC", 5, "u1")),
        ("evict", "user", ("BTC", 5, "u1")),
    ]
    log.clear()
    emptied = root.children["strategy"].remove("u2")  # any flow of the graph removes
    assert [c.path for c in emptied] == [("BTC", 5, "u2"), ("BTC", 5), ("BTC",)]
    assert [entry[0] for entry in log] == ["remove"] * 3 + ["empty", "evict"] * 3
    assert root.clusters == () and dict(root.sources) == {}


def test_a_mapper_that_raises_leaves_the_graph_unchanged(snapshot: Any) -> None:
    root, log = make()
    root.add_sources([src("u1", "BTC", 5), src("u2", "ETH", 7)])
    before, log_before = snapshot(root), list(log)
    btc = root.cluster("BTC")
    batch = [src("u3", "BTC", 9), src("u4", "SOL", 5), src("u5", "BTC", "boom")]
    with pytest.raises(ZeroDivisionError, match="bad settings") as caught:
        root.add_sources(batch)
    assert "flow 'strategy' for source 'u5'" in caught.value.__notes__[0]
    assert snapshot(root) == before
    assert log == log_before  # nothing fired for work that was rolled back
    assert root.cluster("BTC") is btc and set(btc.children["strategy"]) == {5}
    assert not any(s.attached or s.clusters for s in batch)
    # the same sources go in once the bad one is left out
    root.add_sources(batch[:2])
    assert set(root.sources) == {"u1", "u2", "u3", "u4"}


def test_a_mapper_may_leave_a_source_out_of_a_level_and_those_below() -> None:
    root, _ = make()
    root.add_sources([src("u1", "BTC", None), src("u2", "BTC", 5)])
    u1 = root.sources["u1"]
    assert [c.path for c in u1.clusters] == [("BTC",)]
    assert set(root.cluster("BTC").sources) == {"u1", "u2"}
    assert set(root.children["strategy"].cluster("BTC", 5).sources) == {"u2"}
    assert [c.path for c in root.remove("u1")] == []


def test_a_mapper_gives_a_source_at_most_one_cluster_per_level(snapshot: Any) -> None:
    def greedy(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
        creator.get_or_create("first")
        creator.get_or_create("second")

    flow = RedFlow(greedy, name="greedy")
    with pytest.raises(MapperError, match="at most one cluster per flow"):
        flow.add_source(Source(1))
    assert flow.clusters == () and len(flow.sources) == 0

    kept: list[ClusterCreator] = []
    late = RedFlow(lambda s, c, p: kept.append(c))
    late.add_source(Source(1))
    with pytest.raises(MapperError, match="outside a mapper call"):
        kept[0].get_or_create("x")


def test_duplicate_ids_are_refused_and_nothing_is_added() -> None:
    root, log = make()
    root.add_source(src("u1", "BTC", 5))
    log.clear()
    with pytest.raises(DuplicateSourceError, match="'u1' is already in this graph"):
        root.add_sources([src("u9", "ETH", 1), src("u1", "ETH", 1)])
    with pytest.raises(DuplicateSourceError, match="'u7'"):
        root.add_sources([src("u7", "ETH", 1), src("u7", "SOL", 1)])
    other = RedFlow(by_symbol)
    with pytest.raises(DuplicateSourceError, match="already in a graph"):
        other.add_source(root.sources["u1"])
    assert set(root.sources) == {"u1"} and log == []
    assert isinstance(DuplicateSourceError("x"), ValueError)


def test_remove_unknown_ids_changes_nothing_and_detach_twice_is_harmless() -> None:
    root, _ = make()
    root.add_sources([src("u1", "BTC", 5)])
    with pytest.raises(KeyError, match="'nope'"):
        root.remove_sources(["u1", "nope"])
    assert set(root.sources) == {"u1"}
    source = root.sources["u1"]
    assert len(source.detach()) == 3
    assert source.detach() == [] and not source.attached
    root.add_source(source)  # a detached source may come back
    assert [c.path for c in source.clusters] == [("BTC",), ("BTC", 5), ("BTC", 5, "u1")]


def test_the_registry_is_shared_and_adds_start_at_the_root() -> None:
    root, _ = make()
    strategy = root.children["strategy"]
    strategy.add_source(src("u1", "BTC", 5))
    assert strategy.sources.get("u1") is root.sources.get("u1") is not None
    assert [c.path for c in root.clusters] == [("BTC",)]
    assert strategy.root is root and strategy.parent is root and strategy.depth == 1


def test_hook_errors_come_after_every_hook_ran_and_the_change_stays() -> None:
    flow = RedFlow(by_symbol, name="stream")
    seen: list[str] = []

    def failing(event: Any) -> None:
        seen.append(event.source.id)
        raise RuntimeError(f"hook failed on {event.source.id}")

    flow.on_source_add(failing)
    flow.on_source_add(lambda e: seen.append("second:" + e.source.id))
    with pytest.raises(HookError) as caught:
        flow.add_sources([src("u1", "BTC", 1), src("u2", "ETH", 1)])
    assert seen == ["u1", "second:u1", "u2", "second:u2"]
    assert [str(e) for e in caught.value.exceptions] == ["hook failed on u1", "hook failed on u2"]
    assert set(flow.sources) == {"u1", "u2"}
