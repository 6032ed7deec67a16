"""Any sequence of adds, removes, links and unlinks leaves the graph a fresh build would give."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.redflow import Cluster, ClusterCreator, RedFlow, Source

Data = tuple[int, int, int]


class Boom(Exception):
    pass


def by_first(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    if source.data[0] != 0:  # 0 leaves the source out of every level
        creator.get_or_create(source.data[0])


def by_second(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    assert parent is not None
    is_new, cluster = creator.get_or_create((parent.id, source.data[1]))
    if is_new:
        cluster.data = source.id


def by_parity(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    if source.data[2] == 9:
        raise Boom(source.id)
    if source.data[2] != 1:  # 1 leaves the source out of this level only
        creator.get_or_create(source.data[2] % 2)


def by_sum(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    creator.get_or_create(sum(source.data) % 3)


# (name, parent name, mapper): "root" is always there; the others get linked and unlinked
LAYOUT = [("a", "root", by_second), ("b", "root", by_parity), ("c", "a", by_sum)]


class World:
    def __init__(self) -> None:
        self.flows: dict[str, RedFlow] = {"root": RedFlow(by_first, name="root")}
        for name, _, mapper in LAYOUT:
            self.flows[name] = RedFlow(mapper, name=name)
        self.linked: set[str] = set()  # names linked under their parent; "c" stays under
        # "a" while "a" itself is unlinked, and comes back with it
        self.counts: Counter[tuple[str, str]] = Counter()
        for name, flow in self.flows.items():
            for hook in ("source_add", "source_remove", "cluster_new", "cluster_evict"):
                getattr(flow, f"on_{hook}")(self._counter(name, hook))

    def _counter(self, name: str, hook: str) -> Callable[[Any], None]:
        def count(event: Any) -> None:
            assert event.flow is self.flows[name]
            self.counts[name, hook] += 1

        return count

    @property
    def root(self) -> RedFlow:
        return self.flows["root"]


def rebuild(world: World) -> RedFlow:
    """A fresh graph with the same links, fed the surviving sources."""
    flows = {"root": RedFlow(by_first, name="root")}
    for name, _, mapper in LAYOUT:
        flows[name] = RedFlow(mapper, name=name)
    for name, parent, _ in LAYOUT:
        if name in world.linked:
            flows[parent].link_child(name, flows[name])
    flows["root"].add_sources(
        [Source(source_id, source.data) for source_id, source in world.root.sources.items()]
    )
    return flows["root"]


data = st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 9))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.tuples(st.integers(0, 14), data), max_size=4)),
        st.tuples(st.just("remove"), st.lists(st.integers(0, 14), max_size=3)),
        st.tuples(st.just("toggle"), st.sampled_from(["a", "b", "c"])),
    ),
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(operations)
def test_any_history_equals_a_fresh_build(snapshot: Any, history: list[Any]) -> None:
    world = World()
    for kind, argument in history:
        before = snapshot(world.root)
        counts_before = world.counts.copy()
        if kind == "add":
            batch = {source_id: Source(source_id, payload) for source_id, payload in argument}
            fresh = [s for s in batch.values() if s.id not in world.root.sources]
            should_fail = "b" in world.linked and any(s.data[2] == 9 and s.data[0] != 0 for s in fresh)
            try:
                world.root.add_sources(fresh)
            except Boom:
                assert should_fail
                assert snapshot(world.root) == before
                assert world.counts == counts_before
                assert not any(s.attached or s.clusters for s in fresh)
            else:
                assert not should_fail
        elif kind == "remove":
            present = [i for i in dict.fromkeys(argument) if i in world.root.sources]
            emptied = world.root.remove_sources(present)
            assert all(not c.live and not c.sources for c in emptied)
        else:
            name, parent, _ = next(entry for entry in LAYOUT if entry[0] == argument)
            flows = world.flows
            if argument in world.linked:
                flows[parent].unlink_child(argument)
                world.linked.discard(argument)
            else:
                try:
                    flows[parent].link_child(name, flows[name])
                except Boom:
                    assert snapshot(world.root) == before
                    assert world.counts == counts_before
                    continue
                world.linked.add(argument)

        state = snapshot(world.root)
        assert state == snapshot(rebuild(world))
        # no empty cluster lingers under the default policy
        assert all(members for members, _ in state["clusters"].values())
        # every hook fired once per event: births minus evictions is what is live
        for name, flow in world.flows.items():
            live = len(flow.clusters) if flow.root is world.root else 0
            assert world.counts[name, "cluster_new"] - world.counts[name, "cluster_evict"] == live
            memberships = sum(len(c.sources) for c in flow.clusters) if live else 0
            added, removed = world.counts[name, "source_add"], world.counts[name, "source_remove"]
            assert added - removed == memberships
