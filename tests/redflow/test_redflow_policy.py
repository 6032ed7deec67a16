"""What happens to emptied clusters: evicted at once, kept, or kept warm for a grace period."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tradeflood.redflow import Evict, Grace, Keep, RedFlow, Source


def by_data(source: Source, creator: Any, parent: Any) -> None:
    creator.get_or_create(source.data)


def by_id(source: Source, creator: Any, parent: Any) -> None:
    creator.get_or_create(source.id)


def recorder(flow: RedFlow) -> list[tuple[str, Any]]:
    log: list[tuple[str, Any]] = []
    flow.on_cluster_new(lambda e: log.append(("new", e.cluster.path)))
    flow.on_cluster_empty(lambda e: log.append(("empty", e.cluster.path)))
    flow.on_cluster_evict(lambda e: log.append(("evict", e.cluster.path)))
    return log


def test_grace_keeps_a_cluster_warm_then_evicts_it_on_a_later_operation(clock: Any) -> None:
    flow = RedFlow(by_data, name="stream", policy=Grace(10, clock=clock))
    log = recorder(flow)
    flow.add_source(Source("u1", "BTC"))
    btc = flow.cluster("BTC")
    btc.ctx.handle = "ws-1"

    assert flow.remove("u1") == [btc]
    assert log == [("new", ("BTC",)), ("empty", ("BTC",))]
    assert flow.clusters == (btc,) and btc.live and btc.sources == {}

    clock.advance(9)
    events: list[Any] = []
    flow.on_source_add(events.append)
    assert flow.add_source(Source("u1", "BTC")) == []  # back within the grace: still warm
    assert events[0].cluster is btc and events[0].is_new_cluster is False
    assert btc.ctx.handle == "ws-1"

    flow.remove("u1")  # empties again at t+9: the grace restarts
    clock.advance(9.9)
    assert flow.sweep() == []
    flow.add_source(Source("other", "ETH"))
    assert btc.live
    clock.advance(0.1)
    log.clear()
    flow.add_source(Source("third", "SOL"))  # any later operation evicts what has expired
    assert log == [("new", ("SOL",)), ("evict", ("BTC",))]
    assert not btc.live and [c.id for c in flow.clusters] == ["ETH", "SOL"]

    flow.add_source(Source("u1", "BTC"))
    assert flow.cluster("BTC") is not btc  # a new cluster, reported as new
    assert log[-1] == ("new", ("BTC",))


def test_explicit_sweep_evicts_once_the_grace_has_passed(clock: Any) -> None:
    flow = RedFlow(by_data, policy=Grace(5, clock=clock))
    log = recorder(flow)
    flow.add_sources([Source(1, "A"), Source(2, "B")])
    flow.remove(1)
    clock.advance(2)
    flow.remove(2)
    clock.advance(3)
    assert [c.id for c in flow.sweep()] == ["A"]
    clock.advance(2)
    assert [c.id for c in flow.sweep()] == ["B"]
    assert flow.sweep() == [] and flow.clusters == ()
    assert [entry for entry in log if entry[0] == "evict"] == [("evict", ("A",)), ("evict", ("B",))]


def test_keep_holds_empty_clusters_until_a_forced_sweep(clock: Any) -> None:
    flow = RedFlow(by_data, policy=Keep())
    log = recorder(flow)
    flow.add_source(Source(1, "A"))
    kept = flow.cluster("A")
    clock.advance(10**6)
    flow.remove(1)
    assert flow.sweep() == [] and flow.clusters == (kept,)
    assert flow.sweep(force=True) == [kept]
    assert log == [("new", ("A",)), ("empty", ("A",)), ("evict", ("A",))]


def test_levels_apply_their_own_policy_and_an_evicted_parent_takes_its_children(
    clock: Any,
) -> None:
    stream = RedFlow(by_data, name="stream", policy=Grace(30, clock=clock))
    user = RedFlow(by_id, name="user")  # default: evict at once
    stream.link_child("user", user)
    stream_log = recorder(stream)
    user_log = recorder(user)
    stream.add_source(Source("u1", "BTC"))
    btc = stream.cluster("BTC")
    emptied = stream.remove("u1")
    assert [c.path for c in emptied] == [("BTC", "u1"), ("BTC",)]
    assert user_log[-2:] == [("empty", ("BTC", "u1")), ("evict", ("BTC", "u1"))]
    assert btc.live and btc.children["user"] == {}
    stream.add_source(Source("u1", "BTC"))
    assert stream.cluster("BTC") is btc and user_log[-1] == ("new", ("BTC", "u1"))
    assert stream_log == [("new", ("BTC",)), ("empty", ("BTC",))]  # the stream stayed warm

    keep_child = RedFlow(by_data, name="s2")
    keeper = RedFlow(by_id, name="k", policy=Keep())
    keep_child.link_child("k", keeper)
    keeper_log = recorder(keeper)
    keep_child.add_source(Source("u1", "ETH"))
    keep_child.remove("u1")  # parent evicted at once, so its kept child goes too
    assert keeper_log == [("new", ("ETH", "u1")), ("empty", ("ETH", "u1")), ("evict", ("ETH", "u1"))]
    assert keep_child.clusters == () and keeper.clusters == ()


def test_policies_answer_deadlines(clock: Any) -> None:
    assert Evict().deadline() is None
    assert Keep().deadline() == math.inf and not Keep().expired(0)
    grace = Grace(2.5, clock=clock)
    assert grace.deadline() == clock.monotonic() + 2.5
    with pytest.raises(ValueError, match="seconds >= 0"):
        Grace(-1)
    assert repr(grace) == "Grace(2.5)"
