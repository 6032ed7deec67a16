"""The fetch pipeline behind a Session: plan, run, repair, assemble.

:func:`plan_queries` turns queries into one merged plan (history queries on the
shared grid when several ask for one series, and only the pages the store
cannot answer). :func:`gather` runs it and parses each reply as it arrives, so
a payload is dropped once its pages are parsed (the parse runs while other
requests wait on the rate limit), asks once more for short pages, records what
the store may keep, and assembles each query's result.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .binding import Binding, ModelList, ParseContext, Part
from .errors import FetchError, QueryError, TradeFloodError
from .history import HistoryBinding
from .planner import Plan, QueryPlan, build_plan
from .query import Query

if TYPE_CHECKING:
    from .executor import Executor, TurnResult
    from .store._pages import PageStore
    from .turns import Turn, TurnKey

__all__ = ["Fetcher", "gather", "plan_queries"]

log = logging.getLogger("tradeflood")


class Fetcher(Protocol):
    """What the pipeline needs of a session: bindings, the store, the cache and an executor."""

    @property
    def store(self) -> PageStore | None: ...

    @property
    def turn_cache(self) -> dict[TurnKey, TurnResult]: ...

    def binding_for(self, query: Query) -> Binding: ...

    def executor(self) -> Executor: ...


def plan_queries(fetcher: Fetcher, queries: Sequence[Query], now: int) -> Plan:
    """The merged, deduplicated request plan of ``queries`` as of ``now`` (UTC ms)."""
    for query in queries:
        if not isinstance(query, Query):
            raise QueryError(f"plan() takes Query objects, not {query!r}")
    bindings = [fetcher.binding_for(q) for q in queries]
    series: Counter[tuple[Any, ...]] = Counter(
        (type(b), b.series_key(q)) for q, b in zip(queries, bindings, strict=True)
        if isinstance(b, HistoryBinding))
    planned = []
    for query, binding in zip(queries, bindings, strict=True):
        if isinstance(binding, HistoryBinding):
            shared = series[(type(binding), binding.series_key(query))] > 1
            planned.append(_plan_history(fetcher.store, query, binding, now, shared))
        else:
            planned.append(QueryPlan(query, binding, list(binding.plan(query, now))))
    learned = getattr(fetcher, "learned_rates", None)  # a session's; other fetchers may have none
    return build_plan(planned, cached=fetcher.turn_cache, now_ms=now,
                      learned=learned() if callable(learned) else None)


def _plan_history(store: PageStore | None, query: Query, binding: HistoryBinding, now: int,
                  shared: bool) -> QueryPlan:
    """A history query's pages: on the shared grid if other queries share its series,
    and only those the store cannot answer."""
    if store is None:
        return QueryPlan(query, binding, [p.turn() for p in binding.pages(query, now, shared=shared)])
    from .store._pages import StoredPages

    pages = StoredPages(store, query, binding, now, shared=shared)
    fetch, stored = pages.split()
    record = functools.partial(pages.record, fetch)
    return QueryPlan(query, binding, [p.turn() for p in fetch], stored, record)


async def gather(fetcher: Fetcher, plan: Plan) -> list[Any]:
    """Run ``plan`` and give each query's result, in order; a failed query raises
    :class:`FetchError` carrying the others' results and what the failed ones got."""
    failed: dict[int, BaseException] = {}
    parts = await _run(fetcher, plan, plan.queries, failed)
    await _repair(fetcher, plan, parts, failed)
    _record(plan, parts)
    now = plan.now_ms  # judged as of planning: a bar opened since then was never asked for
    out: list[Any] = []
    partial: dict[int, Any] = {}
    for i, qp in enumerate(plan.queries):
        if i in failed:
            partial[i] = [item for part in parts[i] for item in part.items]
            continue
        try:
            out.append(_result(qp, parts[i], now))
        except TradeFloodError as exc:
            failed[i] = exc
            partial[i] = [item for part in parts[i] for item in part.items]
    if failed:
        for i, qp in enumerate(plan.queries):
            if i not in partial:
                partial[i] = qp.binding.assemble(qp.query, parts[i], now)
        first = failed[min(failed)]
        which = ", ".join(plan.queries[i].query.describe() for i in sorted(failed))
        raise FetchError(f"{len(failed)} of {len(plan.queries)} queries failed ({which})", first, partial)
    return out


def _result(qp: QueryPlan, parts: list[Part], now: int) -> Any:
    result = qp.binding.assemble(qp.query, parts, now)
    if type(result) is list:  # many models: give them columnar conversions
        result = ModelList(result, qp.binding.model)
    return result


class PageParser:
    """Parses each reply into the parts of every query that asked for it, as replies arrive.

    A page shared by several queries of one history series is parsed once: a
    history binding's parse depends on the series and the payload only (the
    range is applied when the result is assembled). A query whose turn failed,
    or whose payload could not be parsed, is recorded in ``failed``.
    """

    def __init__(self, queries: Sequence[QueryPlan], offsets: Sequence[int],
                 failed: dict[int, BaseException]) -> None:
        self.failed = failed
        self.wanted: dict[TurnKey, list[tuple[int, QueryPlan]]] = {}
        for i, qp in zip(offsets, queries, strict=True):
            for turn in qp.turns:
                self.wanted.setdefault(turn.key, []).append((i, qp))
        self.parsed: dict[int, dict[TurnKey, Part]] = {i: {} for i in offsets}

    def __call__(self, turn: Turn, result: TurnResult) -> None:
        memo: dict[tuple[Any, ...], Sequence[Any]] = {}
        for i, qp in self.wanted.get(turn.key, ()):
            binding, query = qp.binding, qp.query
            shared = ((type(binding), binding.series_key(query))
                      if isinstance(binding, HistoryBinding) else None)
            items = memo.get(shared) if shared else None
            if items is None:
                try:
                    items = binding.parse(query, turn, result.payload,
                                          ParseContext(result.params, result.received_ms))
                except TradeFloodError as exc:
                    self.failed.setdefault(i, exc)
                    continue
                if isinstance(binding, HistoryBinding):
                    items = binding.rows(items)
                if shared:
                    memo[shared] = items
            self.parsed[i][turn.key] = Part(turn, items)

    def parts(self, i: int, qp: QueryPlan, errors: dict[TurnKey, BaseException]) -> list[Part]:
        """Query ``i``'s parts in the order of its turns; a turn that never ran fails the query."""
        got = self.parsed.pop(i)
        out = []
        for turn in qp.turns:
            part = got.get(turn.key)
            if part is None:
                error = errors.get(turn.key) or TradeFloodError(f"{turn!r} did not run")
                self.failed.setdefault(i, error)
                continue
            out.append(part)
        return out


async def _run(fetcher: Fetcher, plan: Plan, queries: Sequence[QueryPlan],
               failed: dict[int, BaseException], offsets: Sequence[int] | None = None) -> list[list[Part]]:
    offsets = list(offsets if offsets is not None else range(len(queries)))
    parser = PageParser(queries, offsets, failed)
    errors: dict[TurnKey, BaseException] = {}
    if plan.graph.number_of_nodes():  # a plan the store answers whole needs no HTTP client
        _, errors = await fetcher.executor().run(plan, on_result=parser)
    return [qp.stored + parser.parts(i, qp, errors) for i, qp in zip(offsets, queries, strict=True)]


async def _repair(fetcher: Fetcher, plan: Plan, parts: list[list[Part]],
                  failed: dict[int, BaseException]) -> None:
    """One more round for turns the bindings found incomplete (short pages)."""
    now = plan.now_ms
    wanted: list[tuple[int, QueryPlan]] = []
    for i, qp in enumerate(plan.queries):
        if i not in failed:
            again = list(qp.binding.repair(qp.query, parts[i], now))
            if again:
                wanted.append((i, QueryPlan(qp.query, qp.binding, again)))
    if not wanted:
        return
    repair_plan = build_plan([qp for _, qp in wanted], cached=fetcher.turn_cache, now_ms=now)
    more = await _run(fetcher, repair_plan, [qp for _, qp in wanted], failed, [i for i, _ in wanted])
    for (i, _), extra in zip(wanted, more, strict=True):
        parts[i].extend(extra)


def _record(plan: Plan, parts: list[list[Part]]) -> None:
    """Hand fetched history pages to the store; a store failure never fails the fetch."""
    for qp, query_parts in zip(plan.queries, parts, strict=True):
        if qp.record is not None:
            try:
                qp.record(query_parts)
            except TradeFloodError as exc:
                log.warning("could not record %s in the store: %s", qp.query.describe(), exc)
