"""The fetch pipeline behind a Session: plan, run, repair, assemble.

:func:`plan_queries` turns queries into one merged plan (history queries on the
shared grid when several ask for one series, and only the pages, or trade
windows, the store cannot answer). :func:`gather` first sends what some queries' planning
needs (their bindings' prerequisites: a history's row spacing the venue states elsewhere)
and plans them again with it, then runs the plan and parses each reply as it arrives, so
a payload is dropped once its pages are parsed (the parse runs while other
requests wait on the rate limit) and each complete history page goes to the
store at once (a checkpoint: a backfill stopped at any moment resumes where it
stopped), asks once more for short pages, records what became complete, and
assembles each query's result.

Only :class:`~tradeflood.errors.TradeFloodError` leaves :func:`gather`: anything
else raised while parsing a reply (a bug, a value no check foresaw) fails that
query alone with a :class:`~tradeflood.errors.PayloadError`, the others' results
kept in ``FetchError.partial``. With a deadline, a fetch still running then stops
with :class:`~tradeflood.errors.FetchDeadlineError`, what was parsed kept likewise.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from .binding import Binding, ModelList, ParseContext, Part
from .checks import Invalid, checked
from .clock import Clock, LiveClock, timeout_at
from .errors import FetchDeadlineError, FetchError, PayloadError, QueryError, TradeFloodError
from .history import HistoryBinding
from .planner import Plan, QueryPlan, build_plan
from .query import Query
from .series import Series
from .trades import TradeHistoryBinding

if TYPE_CHECKING:
    from .executor import Executor, TurnResult
    from .store._pages import PageStore
    from .turns import Turn, TurnKey

__all__ = ["Fetcher", "Results", "gather", "plan_queries"]

log = logging.getLogger("tradeflood")


class Fetcher(Protocol):
    """What the pipeline needs of a session: bindings, the store, the cache, an executor and
    the policy for invalid rows (see :mod:`tradeflood.checks`)."""

    @property
    def store(self) -> PageStore | None: ...

    @property
    def invalid(self) -> Invalid: ...

    @property
    def turn_cache(self) -> dict[TurnKey, TurnResult]: ...

    def binding_for(self, query: Query) -> Binding: ...

    def executor(self) -> Executor: ...


def plan_queries(fetcher: Fetcher, queries: Sequence[Query], now: int,
                 answered: Mapping[TurnKey, TurnResult] | None = None) -> Plan:
    """The merged, deduplicated request plan of ``queries`` as of ``now`` (UTC ms).

    Without ``answered``, the plan also lists the bindings' prerequisites (sent first by
    :func:`gather`); with it (their replies), the queries are planned knowing them, and
    none is listed again."""
    for query in queries:
        if not isinstance(query, Query):
            raise QueryError(f"plan() takes Query objects, not {query!r}")
    bindings = [fetcher.binding_for(q) for q in queries]
    for query, binding in zip(queries, bindings, strict=True):
        query.resolve(binding, now)  # a no-op for a query the session built already
    series: Counter[tuple[Any, ...]] = Counter(
        (type(b), b.series_key(q)) for q, b in zip(queries, bindings, strict=True)
        if _is_history(b, q))
    planned = []
    for query, binding in zip(queries, bindings, strict=True):
        if isinstance(binding, HistoryBinding) and binding.serves_history(query):
            shared = series[(type(binding), binding.series_key(query))] > 1
            planned.append(_plan_history(fetcher.store, query, binding, now, shared))
        elif isinstance(binding, TradeHistoryBinding) and binding.is_history(query):
            planned.append(_plan_trades(fetcher.store, query, binding, now))
        else:
            planned.append(QueryPlan(query, binding, list(binding.plan(query, now))))
    # What planning needs, for the queries that send anything (not those the store answers whole).
    first = [] if answered is not None else [
        QueryPlan(qp.query, qp.binding, turns) for qp in planned
        if qp.turns and (turns := list(qp.binding.prerequisites(qp.query, now)))]
    learned = getattr(fetcher, "learned_rates", None)  # a session's; other fetchers may have none
    cached: Mapping[TurnKey, Any] = fetcher.turn_cache
    if answered:
        cached = {**cached, **answered}
    return build_plan(planned, cached=cached, now_ms=now,
                      learned=learned() if callable(learned) else None, prerequisites=first)


def _is_history(binding: Binding, query: Query) -> TypeGuard[HistoryBinding]:
    return isinstance(binding, HistoryBinding) and binding.serves_history(query)


def _plan_history(store: PageStore | None, query: Query, binding: HistoryBinding, now: int,
                  shared: bool) -> QueryPlan:
    """A history query's pages: on the shared grid if other queries share its series,
    and only those the store cannot answer."""
    if store is None:
        return QueryPlan(query, binding, [p.turn() for p in binding.pages(query, now, shared=shared)])
    from .store._pages import StoredPages

    pages = StoredPages(store, query, binding, now, shared=shared)
    try:
        fetch, stored = pages.split()
    except Exception as exc:  # the store is optional: fetch it all without it
        log.warning("could not read %s from the store: %s", query.describe(), exc)
        return QueryPlan(query, binding, [p.turn() for p in pages.pages])
    record = functools.partial(pages.record, fetch)
    return QueryPlan(query, binding, [p.turn() for p in fetch], stored, record)


def _plan_trades(store: PageStore | None, query: Query, binding: TradeHistoryBinding,
                 now: int) -> QueryPlan:
    """A trade history's windows: only the spans the store does not hold."""
    from .store._windows import StoredWindows, stores_trades

    if store is None or not stores_trades(store):
        return QueryPlan(query, binding, list(binding.plan(query, now)))
    windows = StoredWindows(store, query, binding, now)
    try:
        fetch, stored = windows.split()
    except Exception as exc:  # the store is optional: fetch it all without it
        log.warning("could not read %s from the store: %s", query.describe(), exc)
        return QueryPlan(query, binding, list(binding.plan(query, now)))
    return QueryPlan(query, binding, fetch, stored, windows.record)


async def gather(fetcher: Fetcher, plan: Plan, deadline: float | None = None) -> Results:
    """Run ``plan`` and give each query's result, in order; a failed query raises
    :class:`FetchError` carrying the others' results and what the failed ones got.

    ``deadline`` (seconds) bounds the whole run: past it, the requests still running
    are cancelled and :class:`FetchDeadlineError` is raised, with what was parsed.
    """
    failed: dict[int, BaseException] = {}
    clock = _clock(fetcher)
    ends = None if deadline is None else clock.monotonic() + deadline  # on the session's clock
    answered = None
    if plan.prerequisites:
        answered = await _prepare(fetcher, plan, ends, deadline)
        plan = plan_queries(fetcher, [qp.query for qp in plan.queries], plan.now_ms, answered)
    parts = await _run(fetcher, plan, plan.queries, failed, ends=ends, answered=answered)
    if not any(isinstance(exc, _Unfinished) for exc in failed.values()):
        await _repair(fetcher, plan, parts, failed, ends)
    _record(plan, parts)
    now = plan.now_ms  # judged as of planning: a bar opened since then was never asked for
    out = Results()
    partial: dict[int, Any] = {}
    for i, qp in enumerate(plan.queries):
        if i in failed:
            partial[i] = [item for part in parts[i] for item in part.items]
            continue
        try:
            out.append(_result(qp, parts[i], now))
        except Exception as exc:
            refused = next((part.refused for part in parts[i] if part.refused is not None), None)
            if refused is not None:  # invalid="drop" refused the one result: absent, reported
                log.warning("%s has no result: %s", qp.query.describe(), refused)
                out.absent[i] = refused
                out.append(None)
                continue
            if not isinstance(exc, TradeFloodError):  # only TradeFloodErrors leave a fetch
                exc = PayloadError(qp.query.exchange or "?", qp.query.describe(),
                                   f"the result could not be assembled ({exc!r})")
            failed[i] = exc
            partial[i] = [item for part in parts[i] for item in part.items]
    if failed:
        for i, qp in enumerate(plan.queries):
            if i not in partial:
                partial[i] = None if i in out.absent else qp.binding.assemble(qp.query, parts[i], now)
        which = ", ".join(plan.queries[i].query.describe() for i in sorted(failed))
        if deadline is not None and any(isinstance(exc, _Unfinished) for exc in failed.values()):
            raise FetchDeadlineError(deadline, partial, which)
        first = failed[min(failed)]
        raise FetchError(f"{len(failed)} of {len(plan.queries)} queries failed ({which})", first, partial)
    return out


class Results(list[Any]):
    """What :func:`gather` gives: each query's result, in query order.

    With ``invalid="drop"``, a query whose one result (an order book, a ticker, a
    current funding rate) failed a value check has none: its place holds None, and
    ``absent`` maps its index to the :class:`PayloadError` saying why (venue,
    endpoint, field). Results of many rows are never absent: their invalid rows are
    left out and counted (``result.dropped``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.absent: dict[int, PayloadError] = {}


class _Unfinished(TradeFloodError):
    """A turn the fetch's deadline stopped, or never let start."""


def _result(qp: QueryPlan, parts: list[Part], now: int) -> Any:
    result = qp.binding.assemble(qp.query, parts, now)
    if type(result) is list:  # many models: give them columnar conversions
        result = ModelList(result, qp.binding.model)
    if isinstance(result, ModelList | Series):
        # Invalid rows dropped (invalid="drop"), once per reply even when a page was asked twice.
        result.dropped = sum({part.turn.key: part.dropped for part in parts}.values())
    return result


class PageParser:
    """Parses each reply into the parts of every query that asked for it, as replies arrive.

    A page shared by several queries of one history series is parsed once: a
    history binding's parse depends on the series and the payload only (the
    range is applied when the result is assembled). A query whose turn failed,
    or whose payload could not be parsed, is recorded in ``failed``; an error
    other than a TradeFloodError from a parse is one too, as a PayloadError.

    Each history page parsed is handed at once to its query's ``record`` (see
    :meth:`_checkpoint`), so the store holds every complete page as soon as it is in.
    """

    def __init__(self, queries: Sequence[QueryPlan], offsets: Sequence[int],
                 failed: dict[int, BaseException], invalid: Invalid = "raise") -> None:
        self.failed = failed
        self.invalid = invalid  # the session's policy for invalid rows; a query may override it
        self.wanted: dict[TurnKey, list[tuple[int, QueryPlan]]] = {}
        for i, qp in zip(offsets, queries, strict=True):
            for turn in qp.turns:
                self.wanted.setdefault(turn.key, []).append((i, qp))
        self.parsed: dict[int, dict[TurnKey, Part]] = {i: {} for i in offsets}

    def __call__(self, turn: Turn, result: TurnResult) -> None:
        # (rows, dropped, refused) of a shared page
        memo: dict[tuple[Any, ...], tuple[Sequence[Any], int, PayloadError | None]] = {}
        for i, qp in self.wanted.get(turn.key, ()):
            binding, query = qp.binding, qp.query
            history = binding if _is_history(binding, query) else None
            shared = (type(binding), history.series_key(query), self.policy(query)) if history else None
            got = memo.get(shared) if shared else None
            if got is None:
                try:
                    items = binding.parse(query, turn, result.payload,
                                          ParseContext(result.params, result.received_ms))
                    items, dropped, refused = self.check(query, turn, items, binding.wire_names(turn))
                    if history:
                        items = history.rows(items)
                except TradeFloodError as exc:
                    self.failed.setdefault(i, exc)
                    continue
                except Exception as exc:  # only TradeFloodErrors leave a fetch
                    self.failed.setdefault(i, PayloadError(
                        turn.venue, turn.path, f"the reply could not be parsed ({exc!r})"))
                    continue
                got = items, dropped, refused
                if shared:
                    memo[shared] = got
            part = self.parsed[i][turn.key] = Part(turn, *got)
            if qp.record is not None:
                self._checkpoint(qp, part)

    def policy(self, query: Query) -> Invalid:
        """What to do with the query's invalid rows: its own ``invalid=``, else the session's."""
        policy: Invalid = query.options.get("invalid", self.invalid)
        return policy

    def check(self, query: Query, turn: Turn, items: Sequence[Any],
              names: Mapping[str, str] | None = None) -> tuple[Sequence[Any], int, PayloadError | None]:
        """The value checks of :mod:`tradeflood.checks` on one parsed reply: a violation fails
        the query, or (``invalid="drop"``) the invalid rows are dropped and counted; when
        nothing is left (a lone book or ticker refused), the violation comes back too. ``names``:
        the venue's names for the model's fields, for the errors."""
        policy = self.policy(query)
        where = functools.partial(checked, items, venue=query.exchange, endpoint=turn.path,
                                  interval=query.interval, names=names)
        try:
            kept, dropped = where(invalid=policy)
        except PayloadError as exc:
            if policy != "drop":
                raise
            return [], len(items), exc  # a single book or ticker: no row of it to keep
        if not dropped or len(kept):
            return kept, dropped, None
        try:  # every row dropped: say why (rare, so the checks may run again)
            where()
        except PayloadError as exc:
            return kept, dropped, exc
        return kept, dropped, None

    def _checkpoint(self, qp: QueryPlan, part: Part) -> None:
        """Store one parsed history page now, if complete; a store failure never fails the
        fetch: it is logged once and the store is left alone for the rest of this query."""
        assert qp.record is not None
        try:
            qp.record([part])
        except Exception as exc:  # the store is optional: say why, go on without it
            log.warning("could not record %s in the store: %s", qp.query.describe(), exc)
            qp.record = None

    def parts(self, i: int, qp: QueryPlan, errors: dict[TurnKey, BaseException],
              unfinished: BaseException | None = None) -> list[Part]:
        """Query ``i``'s parts in the order of its turns; a turn that never ran (or, given
        ``unfinished``, did not finish) fails the query."""
        got = self.parsed.pop(i)
        out = []
        for turn in qp.turns:
            part = got.get(turn.key)
            if part is None:
                error = errors.get(turn.key) or unfinished or TradeFloodError(f"{turn!r} did not run")
                self.failed.setdefault(i, error)
                continue
            out.append(part)
        return out


async def _prepare(fetcher: Fetcher, plan: Plan, ends: float | None,
                   deadline: float | None) -> dict[TurnKey, TurnResult]:
    """Send the plan's prerequisites (once each; session-cached ones from the cache) and hand
    each query's replies to its binding. A failure is logged, never raised: the query is then
    planned without what it would have said (only the fetch's deadline stops it here, with
    :class:`FetchDeadlineError`); a reply its binding could not read is also dropped from the
    session cache, as a failed one was never put there, so the next fetch asks again. The
    replies are returned, for the run to reuse."""
    cache = fetcher.turn_cache
    first = build_plan(plan.prerequisites, cached=cache, now_ms=plan.now_ms)
    got: dict[TurnKey, TurnResult] = {k: cache[k] for k in first.graph if k in cache}
    errors: dict[TurnKey, BaseException] = {}
    if len(got) < first.graph.number_of_nodes():
        try:
            async with timeout_at(_clock(fetcher), ends):
                _, errors = await fetcher.executor().run(
                    first, on_result=lambda turn, result: got.__setitem__(turn.key, result))
        except TimeoutError:  # the fetch's deadline, before any query was planned: nothing gathered
            assert deadline is not None
            raise FetchDeadlineError(deadline, dict.fromkeys(range(len(plan.queries))),
                                     ", ".join(qp.query.describe() for qp in plan.queries)) from None
    for qp in plan.prerequisites:
        payloads = {}
        for turn in qp.turns:
            if turn.key in got:
                payloads[turn.key] = got[turn.key].payload
            elif not isinstance(errors.get(turn.key), QueryError):  # (a bad query: its run says so)
                log.warning("%s: planned without %s %s, which failed: %s",
                            qp.query.describe(), turn.venue, turn.path, errors.get(turn.key))
        try:
            qp.binding.prepare(qp.query, payloads)
        except QueryError:
            pass  # an unknown symbol, say: the query's run fails with the same error
        except Exception as exc:  # planning goes on without what the replies would have said
            log.warning("%s: planned without what %s said: %s", qp.query.describe(),
                        ", ".join(f"{t.venue} {t.path}" for t in qp.turns), exc)
            if isinstance(exc, PayloadError):
                for turn in qp.turns:
                    if (turn.venue, turn.path) == (exc.venue, exc.endpoint):
                        cache.pop(turn.key, None)
    return got


async def _run(fetcher: Fetcher, plan: Plan, queries: Sequence[QueryPlan],
               failed: dict[int, BaseException], offsets: Sequence[int] | None = None,
               ends: float | None = None,
               answered: Mapping[TurnKey, TurnResult] | None = None) -> list[list[Part]]:
    offsets = list(offsets if offsets is not None else range(len(queries)))
    parser = PageParser(queries, offsets, failed, fetcher.invalid)
    errors: dict[TurnKey, BaseException] = {}
    unfinished = None
    if plan.graph.number_of_nodes():  # a plan the store answers whole needs no HTTP client
        try:
            async with timeout_at(_clock(fetcher), ends):
                _, errors = await fetcher.executor().run(plan, on_result=parser, answered=answered)
        except TimeoutError:  # the fetch's deadline: keep what was parsed
            unfinished = _Unfinished("the fetch's deadline passed before this request finished")
    return [qp.stored + parser.parts(i, qp, errors, unfinished)
            for i, qp in zip(offsets, queries, strict=True)]


async def _repair(fetcher: Fetcher, plan: Plan, parts: list[list[Part]],
                  failed: dict[int, BaseException], ends: float | None = None) -> None:
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
    more = await _run(fetcher, repair_plan, [qp for _, qp in wanted], failed, [i for i, _ in wanted], ends)
    for (i, _), extra in zip(wanted, more, strict=True):
        parts[i].extend(extra)


def _clock(fetcher: Fetcher) -> Clock:
    """The fetcher's clock (a session's), which its deadlines are read on; else the live one."""
    clock: Clock = getattr(fetcher, "clock", None) or LiveClock()
    return clock


def _record(plan: Plan, parts: list[list[Part]]) -> None:
    """Hand fetched history pages to the store; a store failure never fails the fetch."""
    for qp, query_parts in zip(plan.queries, parts, strict=True):
        if qp.record is not None:
            try:
                qp.record(query_parts)
            except Exception as exc:  # the store is optional: say why, go on without it
                log.warning("could not record %s in the store: %s", qp.query.describe(), exc)
