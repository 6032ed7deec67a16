"""The original use: one stream per (exchange, symbol, interval), one strategy per settings."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from tradeflood.redflow import (
    Cluster,
    ClusterCreator,
    ClusterEvent,
    RedFlow,
    Source,
    SourceEvent,
    signature,
)

STREAMS = [
    (exchange, symbol, interval)
    for exchange, symbol, interval in [
        ("binance", "BTC/USDT", "1m"),
        ("binance", "BTC/USDT", "1h"),
        ("binance", "ETH/USDT", "1m"),
        ("bitget", "BTC/USDT", "1m"),
        ("bitget", "BTC/USDT:USDT", "5m"),
        ("bitget", "SOL/USDT", "1h"),
        ("okx", "BTC/USDT", "1m"),
        ("okx", "ETH/USDT", "4h"),
        ("bybit", "XRP/USDT", "15m"),
        ("bybit", "BTC/USD:BTC", "1d"),
    ]
]
SETTINGS = [
    {"fast": 12, "slow": 26, "signal": 9},
    {"fast": 5, "slow": 35, "signal": 5},
    {"period": 14, "bands": [2.0, 2.5]},
]


def by_stream(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    data = source.data
    is_new, cluster = creator.get_or_create((data["exchange"], data["symbol"], data["interval"]))
    if is_new:
        cluster.data = {key: data[key] for key in ("exchange", "symbol", "interval")}


def by_settings(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    is_new, cluster = creator.get_or_create(signature(source.data["settings"]))
    if is_new:
        cluster.data = source.data["settings"]


def shuffled(settings: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    items = list(settings.items())
    rng.shuffle(items)
    return dict(items)


@pytest.fixture
def world() -> dict[str, Any]:
    rng = random.Random(3)
    stream_flow = RedFlow(by_stream, name="stream")
    strategy_flow = RedFlow(by_settings, name="strategy")
    stream_flow.link_child("strategy", strategy_flow)
    events: dict[str, list[Any]] = {
        "new": [],
        "empty": [],
        "evict": [],
        "add": [],
        "remove": [],
    }
    for flow in (stream_flow, strategy_flow):
        flow.on_cluster_new(events["new"].append)
        flow.on_cluster_empty(events["empty"].append)
        flow.on_cluster_evict(events["evict"].append)
        flow.on_source_add(events["add"].append)
        flow.on_source_remove(events["remove"].append)
    sources = []
    for index in range(1000):
        # each stream gets 100 users, each stream a subset of the settings
        stream = STREAMS[index % 10]
        settings = SETTINGS[(index // 10) % (1 + index % 10 % 3)]
        exchange, symbol, interval = stream
        sources.append(
            Source(
                f"user-{index}",
                {
                    "exchange": exchange,
                    "symbol": symbol,
                    "interval": interval,
                    "settings": shuffled(settings, rng),
                },
            )
        )
    new = stream_flow.add_sources(sources)
    return {
        "stream": stream_flow,
        "strategy": strategy_flow,
        "sources": sources,
        "events": events,
        "new": new,
    }


def expected_pairs(sources: list[Source]) -> set[tuple[Any, frozenset[Any]]]:
    """(stream, settings) pairs, settings compared as data, not via signature()."""
    return {
        (
            (s.data["exchange"], s.data["symbol"], s.data["interval"]),
            frozenset((k, repr(v)) for k, v in s.data["settings"].items()),
        )
        for s in sources
    }


def test_one_cluster_per_stream_and_per_distinct_settings_in_it(world: dict[str, Any]) -> None:
    stream, strategy, sources = world["stream"], world["strategy"], world["sources"]
    assert sorted(c.id for c in stream.clusters) == sorted(STREAMS)
    pairs = expected_pairs(sources)
    assert len(strategy.clusters) == len(pairs)
    assert 10 < len(pairs) < 30  # several settings per stream, not all everywhere
    for cluster in strategy.clusters:
        members = list(cluster.sources.values())
        assert {expected_pairs([m]).pop() for m in members} == {expected_pairs(members).pop()}
        assert cluster.parent is not None
        assert cluster.parent.id == (
            members[0].data["exchange"],
            members[0].data["symbol"],
            members[0].data["interval"],
        )
        assert cluster.data == members[0].data["settings"]
    # every stream cluster holds its 100 users, every user sits in exactly 2 clusters
    assert all(len(c.sources) == 100 for c in stream.clusters)
    assert all(len(s.clusters) == 2 for s in sources)
    assert len(world["new"]) == 10 + len(pairs)
    assert len(world["events"]["new"]) == 10 + len(pairs)
    assert len(world["events"]["add"]) == 2000


def test_settings_equal_up_to_key_order_share_a_cluster(world: dict[str, Any]) -> None:
    strategy = world["strategy"]
    orders = Counter()
    for cluster in strategy.clusters:
        orders[cluster.id] += len({tuple(m.data["settings"]) for m in cluster.sources.values()})
    # the users were given shuffled key orders, yet share clusters
    assert any(count > 1 for count in orders.values())


def test_exec_runs_once_per_cluster_and_children_stay_in_their_parent(
    world: dict[str, Any],
) -> None:
    stream, strategy = world["stream"], world["strategy"]
    seen_children: list[Cluster] = []

    def per_stream(x: Any) -> int:
        def per_strategy(y: Any) -> str:
            assert y.parent_cluster is x.cluster
            assert y.cluster.parent is x.cluster
            assert y.flow is strategy
            seen_children.append(y.cluster)
            return y.cluster.id

        ids = x.executors.strategy.exec(per_strategy)
        assert set(ids) == set(x.cluster.children["strategy"].values())
        return len(ids)

    results = stream.exec(per_stream)
    assert list(results) == list(stream.clusters)
    assert sum(results.values()) == len(strategy.clusters)
    assert len(seen_children) == len(set(seen_children)) == len(strategy.clusters)


def test_removing_every_source_of_one_stream(world: dict[str, Any]) -> None:
    stream, strategy, events = world["stream"], world["strategy"], world["events"]
    gone = stream.cluster(STREAMS[4])
    gone_children = set(gone.children["strategy"].values())
    assert gone_children
    others = {c: set(c.sources) for c in (*stream.clusters, *strategy.clusters)}
    for cluster in (gone, *gone_children):
        del others[cluster]
    for kind in events:
        events[kind].clear()

    emptied: list[Cluster] = []
    for source in list(gone.sources.values()):
        emptied.extend(source.detach())

    assert set(emptied) == {gone, *gone_children}
    assert len(emptied) == 1 + len(gone_children)
    assert emptied[-1] is gone  # the stream empties with its last user, after its children
    for kind in ("empty", "evict"):
        fired = [event.cluster for event in events[kind]]
        assert sorted(map(id, fired)) == sorted(map(id, emptied)), kind
    assert all(isinstance(e, ClusterEvent) for e in events["evict"])
    assert len(events["remove"]) == 2 * 100
    assert events["new"] == events["add"] == []
    assert not gone.live and all(not c.live for c in gone_children)
    assert STREAMS[4] not in [c.id for c in stream.clusters]
    assert {c: set(c.sources) for c in (*stream.clusters, *strategy.clusters)} == others


def test_adding_to_an_existing_cluster_reports_it_is_not_new(world: dict[str, Any]) -> None:
    stream, events = world["stream"], world["events"]
    for kind in events:
        events[kind].clear()
    existing = world["sources"][0]
    newcomer = Source("late", {**existing.data, "settings": dict(existing.data["settings"])})
    assert stream.add_source(newcomer) == []
    adds: list[SourceEvent] = events["add"]
    assert [(e.flow.name, e.is_new_cluster) for e in adds] == [("stream", False), ("strategy", False)]
    assert [e.cluster for e in adds] == list(existing.clusters)
    assert adds[1].parent_cluster is existing.clusters[0]
    assert adds[0].ctx is existing.clusters[0].ctx
    assert events["new"] == []
