"""Linking flows (also after sources arrived), graph specs, render() and to_networkx()."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest

from tradeflood.redflow import Cluster, LinkError, RedFlow, Source
from tradeflood.redflow._render import cluster_node


def by_symbol(source: Source, creator: Any, parent: Any) -> None:
    is_new, cluster = creator.get_or_create(source.data["symbol"])
    if is_new:
        cluster.data = {"symbol": source.data["symbol"]}


def by_fast(source: Source, creator: Any, parent: Any) -> None:
    creator.get_or_create(source.data["fast"])


def by_user(source: Source, creator: Any, parent: Any) -> None:
    creator.get_or_create(source.id)


def users() -> list[Source]:
    return [
        Source("ann", {"symbol": "BTC", "fast": 5}),
        Source("bob", {"symbol": "BTC", "fast": 5}),
        Source("cid", {"symbol": "BTC", "fast": 9}),
        Source("dan", {"symbol": "ETH", "fast": 5}),
    ]


def three_levels() -> RedFlow:
    stream, strategy = RedFlow(by_symbol, name="stream"), RedFlow(by_fast, name="strategy")
    return RedFlow.graph([stream, [[strategy, [RedFlow(by_user, name="user")]]]])


@pytest.fixture
def graph() -> RedFlow:
    root = three_levels()
    root.add_sources(users())
    return root


def test_render_shows_ids_and_sources_per_level(graph: RedFlow) -> None:
    assert graph.render() == "\n".join(
        [
            "stream 'BTC': 3 sources ['ann', 'bob', 'cid']",
            "  strategy 5: 2 sources ['ann', 'bob']",
            "    user 'ann': 1 source ['ann']",
            "    user 'bob': 1 source ['bob']",
            "  strategy 9: 1 source ['cid']",
            "    user 'cid': 1 source ['cid']",
            "stream 'ETH': 1 source ['dan']",
            "  strategy 5: 1 source ['dan']",
            "    user 'dan': 1 source ['dan']",
        ]
    )
    strategy = graph.children["strategy"]
    assert strategy.render(max_sources=1).splitlines()[0] == (
        "strategy 5 in ('BTC',): 2 sources ['ann', +1 more]"
    )
    assert RedFlow(by_user, name="empty").render() == "empty: no clusters"


def test_to_networkx_exports_clusters_sources_and_edges(graph: RedFlow) -> None:
    exported = graph.to_networkx()
    assert isinstance(exported, nx.DiGraph)
    kinds = [data["kind"] for _, data in exported.nodes(data=True)]
    assert kinds.count("cluster") == 2 + 3 + 4 and kinds.count("source") == 4
    btc_node = ("cluster", (("stream", "BTC"),))
    five_node = ("cluster", (("stream", "BTC"), ("strategy", 5)))
    btc = exported.nodes[btc_node]
    assert btc["flow"] == "stream" and btc["id"] == "BTC" and btc["depth"] == 0
    assert btc["size"] == 3 and btc["data"] == {"symbol": "BTC"} and btc["path"] == ("BTC",)
    assert btc["cluster"] is graph.cluster("BTC")
    assert exported.edges[btc_node, five_node] == {"relation": "child"}
    assert exported.edges[five_node, ("source", "bob")] == {"relation": "member"}
    assert exported.nodes["source", "bob"]["data"] == {"symbol": "BTC", "fast": 5}
    assert sorted(exported.successors(five_node), key=str) == [
        ("cluster", (("stream", "BTC"), ("strategy", 5), ("user", "ann"))),
        ("cluster", (("stream", "BTC"), ("strategy", 5), ("user", "bob"))),
        ("source", "ann"),
        ("source", "bob"),
    ]
    assert exported.in_degree(("source", "ann")) == 3  # member at each level
    strategy_only = graph.children["strategy"].to_networkx()
    assert btc_node not in strategy_only and five_node in strategy_only
    assert cluster_node(graph.cluster("ETH")) == ("cluster", (("stream", "ETH"),))


def test_spec_forms_link_the_same_tree() -> None:
    r1, r2, r3, r4, r5 = (RedFlow(by_user, name=f"r{i}") for i in range(1, 6))
    # [flow, children]: r2's children are r4 and r5, given as a flow and as [flow]
    root = RedFlow.graph([r1, [[r2, [r4, [r5]]], r3]])
    assert root is r1
    assert list(r1.children) == ["r2", "r3"] and list(r2.children) == ["r4", "r5"]
    assert (r4.parent, r5.parent, r5.depth, r5.root) == (r2, r2, 2, r1)

    a, b, c = RedFlow(by_symbol), RedFlow(by_fast), RedFlow(by_user, name="ignored")
    root = RedFlow.graph([a, {"stream": [b, {"user": c}]}])
    assert b.name == "stream" and c.name == "user" and c.parent is b

    with pytest.raises(LinkError, match=r"spec\[0\]: flow has no name"):
        RedFlow.graph([RedFlow(by_user), [RedFlow(by_user)]])
    with pytest.raises(TypeError, match="expected a RedFlow or \\[RedFlow, children\\]"):
        RedFlow.graph(["r1"])
    with pytest.raises(TypeError, match="children must be a list or a dict"):
        RedFlow.graph([RedFlow(by_user), RedFlow(by_user)])


def test_linking_after_sources_classifies_them_and_unlinking_drops_the_level(
    snapshot: Any,
) -> None:
    stream = RedFlow(by_symbol, name="stream")
    stream.add_sources(users())
    strategy = RedFlow(by_fast)
    user = RedFlow(by_user, name="user")
    strategy.link_child("user", user)  # a subtree, linked in one go
    log: list[tuple[str, Any]] = []
    for flow in (strategy, user):
        flow.on_cluster_new(lambda e: log.append(("new", e.cluster.path)))
        flow.on_source_add(lambda e: log.append(("add", (e.source.id, e.is_new_cluster))))
        flow.on_source_remove(lambda e: log.append(("remove", e.source.id)))
        flow.on_cluster_empty(lambda e: log.append(("empty", e.cluster.path)))
        flow.on_cluster_evict(lambda e: log.append(("evict", e.cluster.path)))

    stream.link_child("strategy", strategy)
    assert strategy.name == "strategy" and strategy.depth == 1 and user.depth == 2
    assert [c.path for c in strategy.clusters] == [("BTC", 5), ("BTC", 9), ("ETH", 5)]
    assert [e[1] for e in log if e[0] == "new"] == [  # per parent cluster, parents first
        ("BTC", 5),
        ("BTC", 9),
        ("BTC", 5, "ann"),
        ("BTC", 5, "bob"),
        ("BTC", 9, "cid"),
        ("ETH", 5),
        ("ETH", 5, "dan"),
    ]
    assert len([e for e in log if e[0] == "add"]) == 8
    fresh = three_levels()
    fresh.add_sources(users())
    assert snapshot(stream) == snapshot(fresh)

    log.clear()
    evicted = stream.unlink_child("strategy")
    assert [c.path for c in evicted] == [
        ("BTC", 5, "ann"),
        ("BTC", 5, "bob"),
        ("BTC", 5),
        ("BTC", 9, "cid"),
        ("BTC", 9),
        ("ETH", 5, "dan"),
        ("ETH", 5),
    ]
    assert all(not c.live for c in evicted)
    assert [e[0] for e in log].count("remove") == 8
    assert [e[0] for e in log].count("empty") == 7 and [e[0] for e in log].count("evict") == 7
    assert strategy.parent is None and strategy.root is strategy and len(strategy.sources) == 0
    assert user.root is strategy and user.depth == 1
    assert all(len(s.clusters) == 1 for s in stream.sources.values())
    assert stream.cluster("BTC").children == {}
    alone = RedFlow(by_symbol, name="stream")
    alone.add_sources(users())
    assert snapshot(stream) == snapshot(alone)
    stream.link_child("strategy", strategy)  # and it can come back
    assert snapshot(stream) == snapshot(fresh)


def test_a_failing_mapper_makes_a_link_fail_whole(snapshot: Any) -> None:
    stream = RedFlow(by_symbol, name="stream")
    stream.add_sources(users())
    before = snapshot(stream)

    def picky(source: Source, creator: Any, parent: Cluster | None) -> None:
        if source.id == "dan":
            raise LookupError("dan has no settings")
        creator.get_or_create(1)

    child = RedFlow(picky, name="c")
    with pytest.raises(LookupError):
        stream.link_child("c", child)
    assert snapshot(stream) == before and stream.children == {}
    assert child.parent is None and child.root is child and child.name == "c"
    assert all(c.children == {} for c in stream.clusters)


def test_links_that_would_break_the_tree_are_refused(graph: RedFlow) -> None:
    strategy = graph.children["strategy"]
    with pytest.raises(LinkError, match="already has a child named 'strategy'"):
        graph.link_child("strategy", RedFlow(by_user))
    with pytest.raises(LinkError, match="already linked under 'stream'"):
        RedFlow(by_user).link_child("x", strategy)
    with pytest.raises(LinkError, match="would make a cycle"):
        strategy.children["user"].link_child("loop", graph)
    with pytest.raises(LinkError, match="still holds sources"):
        graph.link_child("other", _with_source())
    with pytest.raises(LinkError, match="has no child named 'nope'"):
        graph.unlink_child("nope")
    with pytest.raises(LinkError, match="non-empty str"):
        graph.link_child("", RedFlow(by_user))
    with pytest.raises(TypeError, match="needs a RedFlow"):
        graph.link_child("x", "flow")  # type: ignore[arg-type]


def _with_source() -> RedFlow:
    flow = RedFlow(by_user)
    flow.add_source(Source("x"))
    return flow


def test_cluster_lookup_by_path(graph: RedFlow) -> None:
    user = graph.children["strategy"].children["user"]
    assert user.cluster("BTC", 5, "bob").sources["bob"].id == "bob"
    with pytest.raises(KeyError, match="give 3 ids"):
        user.cluster("BTC", 5)
    with pytest.raises(KeyError, match=r"no cluster \('BTC', 7\)"):
        user.cluster("BTC", 7, "bob")
    assert len(user.clusters) == 4 and [c.id for c in user.iter_clusters()][:2] == ["ann", "bob"]
    assert repr(graph.cluster("BTC")) == "Cluster(flow='stream', path=('BTC',), sources=3)"
    assert repr(graph) == "RedFlow(name='stream', depth=0, children=['strategy'])"
