"""Planner: the turn graphs of every query of one call, merged into one deduplicated DAG.

Nodes are keyed by turn identity, so a request that several queries need (an
instrument list, an overlapping page) appears once. A plan can be explained
before it runs::

    plan = session.plan(q1, q2, q3)
    print(plan.explain())       # nodes, requests, saved by dedup, weight, estimated seconds
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .turns import Turn, TurnKey

if TYPE_CHECKING:
    import networkx as nx

    from .binding import Binding, Part
    from .connector import Connector
    from .query import Query
    from .ratelimit import Limit

__all__ = ["Plan", "QueryPlan", "build_plan"]


@dataclass(slots=True)
class QueryPlan:
    """One query's share of a plan: its binding, the turns whose payloads it parses,
    the parts the candle store already answered, and how to record what is fetched."""

    query: Query
    binding: Binding
    turns: list[Turn]
    stored: list[Part] = field(default_factory=list)
    record: Callable[[Sequence[Part]], int] | None = None


@dataclass
class Plan:
    """A merged request DAG for a set of queries, ready to run or to explain.

    ``graph`` is a networkx DiGraph keyed by turn identity with an edge from each
    turn to the turns that depend on its result; each node carries its ``turn``.
    ``cached`` holds the keys already answered in this session (instrument
    lists), which will not be sent again. ``declared`` is what the queries
    would send if each ran on its own.
    """

    graph: nx.DiGraph
    queries: list[QueryPlan]
    declared: int
    cached: frozenset[TurnKey] = frozenset()
    limits: Mapping[tuple[str, str], Limit] = field(default_factory=dict)
    #: The instant the plan was made for (UTC ms): its pages, and what counts as
    #: expected when the results are put together, are judged as of then.
    now_ms: int = 0
    #: The connector of each venue the plan's turns name (from the queries' bindings).
    connectors: Mapping[str, Connector] = field(default_factory=dict)
    #: Rates (weight per second) the session has learned below the declared limits, by
    #: (venue, group) (:mod:`tradeflood.adaptive`); the estimates use them.
    learned: Mapping[tuple[str, str], float] = field(default_factory=dict)
    #: The turns some queries' bindings need before planning them
    #: (:meth:`~tradeflood.binding.Binding.prerequisites`), by query: a fetch sends them first,
    #: then plans those queries again with what they said.
    prerequisites: list[QueryPlan] = field(default_factory=list)

    def turn(self, key: TurnKey) -> Turn:
        return self.graph.nodes[key]["turn"]  # type: ignore[no-any-return]

    @property
    def turns(self) -> list[Turn]:
        """Every turn, dependencies before dependants."""
        import networkx as nx

        return [self.turn(k) for k in nx.topological_sort(self.graph)]

    @property
    def requests(self) -> int:
        """Requests this plan sends (pagination may add more once running)."""
        nodes: int = self.graph.number_of_nodes()
        return nodes - len(self.cached)

    @property
    def saved(self) -> int:
        """Requests spared against running each query on its own: shared turns
        sent once, and session-cached ones not at all."""
        return self.declared - self.requests

    def weight(self) -> dict[tuple[str, str], int]:
        """Total weight charged to each (venue, rate-limit group)."""
        totals: Counter[tuple[str, str]] = Counter()
        for turn in self.turns:
            if turn.key in self.cached:
                continue
            api = self.connectors.get(turn.venue)
            for group in api.groups(turn) if api is not None else (turn.group,):
                totals[(turn.venue, group)] += turn.weight
        return dict(totals)

    def estimated_seconds(self) -> float:
        """Lower bound of the run time under the venues' rate limits (groups run in parallel)."""
        best = 0.0
        for (venue, group), total in self.weight().items():
            limit = self.limits.get((venue, group))
            if limit is not None:
                count = limit.count
                if (venue, group) in self.learned:
                    count = max(1, int(self.learned[(venue, group)] * limit.per))
                windows = max(0, -(-total // count) - 1)
                best = max(best, windows * limit.per)
        return best

    def explain(self) -> str:
        """The plan in words and figures, before anything runs."""
        lines = [
            f"Plan: {len(self.queries)} quer{'y' if len(self.queries) == 1 else 'ies'}, "
            f"{self.graph.number_of_nodes()} nodes, {self.graph.number_of_edges()} edges",
            f"  requests to send   {self.requests}",
            f"  declared           {self.declared}",
            f"  saved by dedup     {self.saved}"
            + (f" (of which {len(self.cached)} answered from the session cache)" if self.cached else ""),
        ]
        first = {t.key for qp in self.prerequisites for t in qp.turns} - set(self.cached)
        if first:
            lines.append(f"  sent first         {len(first)} (what planning needs: the turns below are "
                         "planned again with its replies)")
        for (venue, group), total in sorted(self.weight().items()):
            limit = self.limits.get((venue, group))
            rate = f" (limit {limit.count} per {limit.per:g}s" if limit else ""
            if limit and (venue, group) in self.learned:
                rate += f", learned {self.learned[(venue, group)]:g}/s"
            rate += ")" if limit else ""
            lines.append(f"  weight {venue}/{group:<20} {total}{rate}")
        lines.append(f"  estimated seconds  {self.estimated_seconds():.1f} (rate-limit bound)")
        by_endpoint = Counter(
            (t.venue, t.path) for t in self.turns if t.key not in self.cached
        )
        for (venue, path), n in sorted(by_endpoint.items()):
            lines.append(f"    {n:>6} x {venue} {path}")
        from_store = sum(len(qp.stored) for qp in self.queries)
        if from_store:
            lines.append(f"  pages from the store {from_store} (no request)")
        for qp in self.queries:
            extra = f", {len(qp.stored)} pages from the store" if qp.stored else ""
            lines.append(f"  - {qp.query.describe()}: {len(qp.turns)} turns{extra}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()


def _add(graph: nx.DiGraph, turn: Turn) -> None:
    if turn.key in graph:
        return
    graph.add_node(turn.key, turn=turn)
    for dep in turn.deps:
        _add(graph, dep)
        graph.add_edge(dep.key, turn.key)


def build_plan(
    queries: Sequence[QueryPlan],
    *,
    cached: Mapping[TurnKey, Any] | None = None,
    now_ms: int = 0,
    connectors: Mapping[str, Connector] | None = None,
    learned: Mapping[tuple[str, str], float] | None = None,
    prerequisites: Sequence[QueryPlan] = (),
) -> Plan:
    """Merge the turns of every query into one DAG keyed by turn identity.

    ``connectors`` (venue -> connector) adds to those of the queries' bindings;
    ``learned`` rates (by venue and group) replace the declared ones in the estimates;
    ``prerequisites`` are the turns to send before these are planned again (kept for the run)."""
    import networkx as nx  # 0.1 s to import: paid by the first plan, not by ``import tradeflood``

    graph = nx.DiGraph()
    declared = 0
    apis: dict[str, Connector] = dict(connectors or {})
    for qp in queries:
        own: set[TurnKey] = set()
        if qp.binding is not None:
            apis.setdefault(qp.binding.api.name, qp.binding.api)
        for turn in qp.turns:
            _closure(turn, own)
            _add(graph, turn)
        declared += len(own)
    limits = {(venue, group): limit for venue, api in apis.items() for group, limit in api.limits.items()}
    hits = frozenset(k for k in graph.nodes if cached and k in cached)
    return Plan(graph, list(queries), declared, hits, limits, now_ms, apis, dict(learned or {}),
                list(prerequisites))


def _closure(turn: Turn, into: set[TurnKey]) -> None:
    if turn.key not in into:
        into.add(turn.key)
        for dep in turn.deps:
            _closure(dep, into)
