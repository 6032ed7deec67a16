"""Session: one client identity for fetching, sync or async, with its own limits and caches.

::

    with tradeflood.Session() as s:
        trades = s.fetch(Trade, exchange="bitget", symbol="ETH/USDT")
        plan = s.plan(*queries)           # explain before running
        results = s.gather(*queries)      # one merged plan; results in query order

    async with tradeflood.Session(urls={"bitget": {"rest": "http://127.0.0.1:9000"}}) as s:
        candles = await s.afetch(Candle, exchange="bitget", symbol="BTC/USDT", interval="1h",
                                 start="-2d")

A session keeps the venues' rate-limit windows and the instrument lists for its
lifetime, so queries made through one session share them. The sync methods run
the async ones on a private event-loop thread; the async ones run on the
caller's loop (or bridge to the private one if the session already has it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from . import registry
from .binding import Binding, ModelList, ParseContext, Part
from .candles import CandleBinding
from .clock import Clock, LiveClock
from .connector import Connector
from .errors import ConfigError, FetchError, QueryError, TradeFloodError
from .executor import ExecutionStats, Executor, RateLimits, TurnResult
from .planner import Plan, QueryPlan, build_plan
from .query import Query
from .retry import RetryPolicy
from .stored import CandlePages, PageStore
from .turn import Turn, TurnKey

if TYPE_CHECKING:
    from tradeflood.models import Model
    from tradeflood.proxy import ProxyScheme

    from .streams._hub import StreamHub, StreamSettings
    from .streams._subscription import Stream, Subscription

__all__ = ["Session", "afetch", "fetch"]

T = TypeVar("T")
UrlOverrides = Mapping[str, Mapping[str, str]]
StoreOption = PageStore | str | os.PathLike[str] | bool | None
log = logging.getLogger("tradeflood")
_OFF = {"", "0", "off", "false", "no", "none"}


class Session:
    """A fetching session: connectors, rate limits, retries and caches shared by its queries.

    ``urls`` overrides base URLs per venue (``{"bitget": {"rest": "http://127.0.0.1:9000"}}``);
    ``transport`` swaps the HTTP transport under the executor (the simulator's
    in-process one, or a mock); ``clock`` drives every wait (a ``VirtualClock``
    in tests); ``progress(done, total)`` is called as requests complete.

    ``store`` keeps closed candles on disk so that a backfill asked for again is
    answered without requests, and an extended one fetches only the new pages:
    True (the default) opens the store at ``tradeflood.store.default_store_path()``
    (``$TRADEFLOOD_STORE``, else the user's cache folder; ``TRADEFLOOD_STORE=off``
    turns the default off), a path opens one there, a store object is used as it
    is, and False or None bypasses it.

    ``proxies`` sends every request through a :class:`~tradeflood.ProxyScheme`'s
    pools, each proxy with its own rate-limit windows (see ``tradeflood.proxy``).

    ``record="data/"`` also keeps every frame and REST reply the session receives in that
    directory; ``replay="data/"`` plays such a recording back through the same code, at
    ``speed`` (1 real time, 10, or ``"max"``) from ``start`` (see ``tradeflood.recording``).
    """

    def __init__(
        self,
        *,
        urls: UrlOverrides | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 16,
        progress: Callable[[int, int], None] | None = None,
        store: StoreOption = True,
        stream_settings: StreamSettings | None = None,
        proxies: ProxyScheme | None = None,
        record: str | os.PathLike[str] | None = None,
        replay: str | os.PathLike[str] | None = None,
        speed: float | str = 1,
        start: Any = None,
    ) -> None:
        self._recording = None
        if record is not None or replay is not None or speed != 1 or start is not None:
            from .recording._session import session_recording

            self._recording = session_recording(record=record, replay=replay, speed=speed, start=start,
                                                clock=clock, transport=transport,
                                                stream_settings=stream_settings, urls=urls)
            clock, transport = self._recording.clock, self._recording.transport
            stream_settings = self._recording.stream_settings
            store = False if replay is not None and store is True else store  # no look-ahead from disk
        self.clock: Clock = clock or LiveClock()
        self._store_option = store
        self._store: PageStore | None = None
        self._owns_store = False  # a store this session opened itself, and so closes
        self.retry = retry or RetryPolicy()
        self._urls = _check_urls(urls or {})
        self._transport = transport
        self._timeout = timeout
        self._max_concurrency = max_concurrency
        self._progress = progress
        self.proxies = proxies
        self._connectors: dict[type[Connector], Connector] = {}
        self._bindings: dict[type[Binding], Binding] = {}
        self._cache: dict[TurnKey, TurnResult] = {}
        self._limits = RateLimits(self.clock)
        self._executor: Executor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._streams: StreamHub | None = None
        self._stream_settings = stream_settings
        self._closed = False
        if self._recording is not None:
            self._recording.bind(self)

    # -- the public API -------------------------------------------------------------

    def query(self, model: type[Model], **params: Any) -> Query:
        """A :class:`Query` with relative times resolved against this session's clock."""
        return Query(model, now_ms=self._now_ms(), **params)

    def plan(self, *queries: Query) -> Plan:
        """The merged, deduplicated request plan of ``queries``; nothing is sent."""
        now = self._now_ms()
        for query in queries:
            if not isinstance(query, Query):
                raise QueryError(f"plan() takes Query objects, not {query!r}")
        series: Counter[tuple[str, str | None, str | None]] = Counter(
            (q.exchange, q.symbol, q.interval) for q in queries if q.interval)
        planned = []
        for query in queries:
            binding = self._binding(query)
            if isinstance(binding, CandleBinding):
                shared = series[(query.exchange, query.symbol, query.interval)] > 1
                planned.append(self._plan_candles(query, binding, now, shared))
            else:
                planned.append(QueryPlan(query, binding, list(binding.plan(query, now))))
        return build_plan(planned, cached=self._cache, now_ms=now)

    def _plan_candles(self, query: Query, binding: CandleBinding, now: int, shared: bool) -> QueryPlan:
        """A candle query's pages: on the shared grid if other queries share its series,
        and only those the store cannot answer."""
        store = self.store
        if store is None:
            return QueryPlan(query, binding, [p.turn() for p in binding.pages(query, now, shared=shared)])
        pages = CandlePages(store, query, binding, now, shared=shared)
        fetch, stored = pages.split()
        return QueryPlan(query, binding, [p.turn() for p in fetch], stored,
                         functools.partial(pages.record, fetch))

    @property
    def store(self) -> PageStore | None:
        """The candle store this session reads and records, opened on first use; None if off."""
        if self._store is None and self._store_option not in (None, False):
            option = self._store_option
            if option is True:
                if os.environ.get("TRADEFLOOD_STORE", "x").strip().lower() in _OFF:
                    self._store_option = None
                    return None
                from .store import CandleStore, default_store_path

                self._store = CandleStore(default_store_path())
            elif isinstance(option, str | os.PathLike):
                from .store import CandleStore

                self._store = CandleStore(option)
            else:
                self._store = option  # type: ignore[assignment]
                return self._store
            self._owns_store = True
        return self._store

    def fetch(self, model: type[Model], **params: Any) -> Any:
        """Fetch one query's result (a list of models, or one model for books and tickers)."""
        query = self.query(model, **params)
        return self._call(self._agather_one(query))

    async def afetch(self, model: type[Model], **params: Any) -> Any:
        """Async :meth:`fetch`."""
        query = self.query(model, **params)
        return await self._acall(self._agather_one(query))

    def gather(self, *queries: Query) -> list[Any]:
        """Run every query in ONE merged plan; shared requests run once. Results in query order."""
        return self._call(self._agather(queries))

    async def agather(self, *queries: Query) -> list[Any]:
        """Async :meth:`gather`."""
        return await self._acall(self._agather(queries))

    def stream(self, model: type[Model], **params: Any) -> Stream:
        """A live stream of ``model`` to read with ``async for`` (inside a running event loop).

        Takes the query's parameters (``exchange``, ``symbol``, ``interval``,
        ``depth``) plus: ``throttle`` (seconds between values handed out),
        ``partial=True`` (also the forming candle's updates), ``overflow``
        (``raise`` or ``drop`` for trades and candles; books and tickers
        ``conflate`` to the latest value), ``maxsize`` (queue bound) and
        ``poll=seconds`` to poll over REST instead of streaming. Events such as
        :class:`~tradeflood.streams.TradeGap` arrive in order with the data.
        Identical streams of one session share one upstream subscription.
        """
        from .streams._api import open_stream

        return open_stream(self, model, **params)

    def subscribe(self, model: type[Model], callback: Callable[[Any], Any], **params: Any) -> Subscription:
        """Like :meth:`stream`, but ``callback(item)`` is called for each item; ``on_error``
        is called with the error if the subscription fails. ``await sub.close()`` leaves."""
        from .streams._api import open_subscription

        return open_subscription(self, model, callback, **params)

    @property
    def stats(self) -> ExecutionStats:
        """Requests sent, retries and rate-limit answers seen so far."""
        return self._executor.stats if self._executor else ExecutionStats()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._aclose_client(), self._loop).result()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
        self._close_store()

    async def aclose(self) -> None:
        if self._closed:
            return
        if self._thread is not None:
            await asyncio.to_thread(self.close)
            return
        self._closed = True
        await self._aclose_client()
        self._close_store()

    def _close_store(self) -> None:
        if self._owns_store and self._store is not None:
            self._store.close()  # type: ignore[attr-defined]

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- planning and running -------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock.time() * 1000)

    def _connector(self, cls: type[Connector]) -> Connector:
        api = self._connectors.get(cls)
        if api is None:
            api = self._connectors[cls] = cls(self._urls.get(cls.name))
        return api

    def _binding(self, query: Query) -> Binding:
        cls = registry.lookup(query.model, query.exchange)
        binding = self._bindings.get(cls)
        if binding is None:
            binding = self._bindings[cls] = cls(self._connector(cls.connector))
        return binding

    def _get_executor(self) -> Executor:
        if self._closed:
            raise TradeFloodError("this Session is closed; open a new one")
        if self._executor is None:
            client = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout,
                headers={"User-Agent": "tradeflood/0.1"}, follow_redirects=False,
            )
            self._executor = Executor(
                client, self.clock, limits=self._limits, retry=self.retry,
                max_concurrency=self._max_concurrency, cache=self._cache, progress=self._progress,
                proxies=self.proxies,
            )
        return self._executor

    async def _agather_one(self, query: Query) -> Any:
        try:
            return (await self._agather((query,)))[0]
        except FetchError as exc:
            if isinstance(exc.cause, QueryError):
                raise exc.cause from None  # an unknown symbol reads best as itself
            raise

    async def _agather(self, queries: tuple[Query, ...] | list[Query]) -> list[Any]:
        plan = self.plan(*queries)
        results: dict[TurnKey, TurnResult] = {}
        errors: dict[TurnKey, BaseException] = {}
        if plan.graph.number_of_nodes():  # a plan the store answers whole needs no HTTP client
            results, errors = await self._get_executor().run(plan)
        failed: dict[int, BaseException] = {}
        parsing = _Parsing(results, errors, failed)
        parts = [qp.stored + parsing.parts(i, qp.query, qp.binding, qp.turns)
                 for i, qp in enumerate(plan.queries)]
        await self._repair(plan, parts, failed)
        self._record(plan, parts)
        now = plan.now_ms  # judged as of planning: a bar opened since then was never asked for
        out: list[Any] = []
        partial: dict[int, Any] = {}
        for i, qp in enumerate(plan.queries):
            if i in failed:
                partial[i] = [item for part in parts[i] for item in part.items]
                continue
            try:
                result = qp.binding.assemble(qp.query, parts[i], now)
                if type(result) is list:  # many models: give them columnar conversions
                    result = ModelList(result, qp.binding.model)
                out.append(result)
            except TradeFloodError as exc:
                failed[i] = exc
                partial[i] = [item for part in parts[i] for item in part.items]
        if failed:
            for i, qp in enumerate(plan.queries):
                if i not in partial:
                    partial[i] = qp.binding.assemble(qp.query, parts[i], now)
            first = failed[min(failed)]
            which = ", ".join(plan.queries[i].query.describe() for i in sorted(failed))
            raise FetchError(f"{len(failed)} of {len(plan.queries)} queries failed ({which})",
                             first, partial)
        return out

    @staticmethod
    def _record(plan: Plan, parts: list[list[Part]]) -> None:
        """Hand fetched candle pages to the store; a store failure never fails the fetch."""
        for qp, query_parts in zip(plan.queries, parts, strict=True):
            if qp.record is not None:
                try:
                    qp.record(query_parts)
                except TradeFloodError as exc:
                    log.warning("could not record %s in the candle store: %s", qp.query.describe(), exc)

    async def _repair(self, plan: Plan, parts: list[list[Part]], failed: dict[int, BaseException]) -> None:
        """One more round for turns the bindings found incomplete (short pages)."""
        now = plan.now_ms
        wanted = []
        for i, qp in enumerate(plan.queries):
            if i not in failed:
                again = qp.binding.repair(qp.query, parts[i], now)
                if again:
                    wanted.append((i, qp, list(again)))
        if not wanted:
            return
        repair_plan = build_plan([QueryPlan(qp.query, qp.binding, turns) for _, qp, turns in wanted],
                                 cached=self._cache, now_ms=now)
        results, errors = await self._get_executor().run(repair_plan)
        parsing = _Parsing(results, errors, failed)  # new payloads under the same keys: a fresh memo
        for i, qp, turns in wanted:
            parts[i].extend(parsing.parts(i, qp.query, qp.binding, turns))

    async def _aclose_client(self) -> None:
        if self._streams is not None:
            await self._streams.aclose()
        if self._executor is not None:
            await self._executor.aclose()
        if self._recording is not None:
            await self._recording.aclose()


    # -- sync and async are one API -----------------------------------------------------

    def _check_open(self, coro: Coroutine[Any, Any, Any]) -> None:
        if self._closed:
            coro.close()
            raise TradeFloodError("this Session is closed; open a new one")

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        self._check_open(coro)
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                            name="tradeflood-session")
            self._thread.start()
        elif self._thread is None:
            coro.close()
            raise TradeFloodError(
                "this Session runs on an event loop; use the async methods (await s.afetch(...))"
            )
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _acall(self, coro: Coroutine[Any, Any, T]) -> T:
        self._check_open(coro)
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        if self._loop is loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))


class _Parsing:
    """The payloads of one run, parsed into each query's parts.

    A candle page shared by several queries of one series is parsed once: a
    candle binding's parse depends on the series and the payload only (the
    range is applied when the result is assembled). A query whose turn failed,
    or whose payload could not be parsed, is recorded in ``failed``.
    """

    def __init__(self, results: dict[TurnKey, TurnResult], errors: dict[TurnKey, BaseException],
                 failed: dict[int, BaseException]) -> None:
        self.results = results
        self.errors = errors
        self.failed = failed
        self._memo: dict[tuple[Any, ...], Sequence[Any]] = {}

    def parts(self, index: int, query: Query, binding: Binding, turns: list[Turn]) -> list[Part]:
        parts = []
        for turn in turns:
            result = self.results.get(turn.key)
            if result is None:
                error = self.errors.get(turn.key) or TradeFloodError(f"{turn!r} did not run")
                self.failed.setdefault(index, error)
                continue
            shared = ((type(binding), turn.key, query.symbol, query.interval)
                      if isinstance(binding, CandleBinding) else None)
            items = self._memo.get(shared) if shared else None
            if items is None:
                try:
                    items = binding.parse(query, turn, result.payload,
                                          ParseContext(result.params, result.received_ms))
                except TradeFloodError as exc:
                    self.failed.setdefault(index, exc)
                    continue
                if shared:
                    self._memo[shared] = items
            parts.append(Part(turn, items))
        return parts


def _check_urls(urls: UrlOverrides) -> dict[str, dict[str, str]]:
    if not isinstance(urls, Mapping):
        raise ConfigError(f"urls must map venue -> {{api: url}}, not {urls!r}")
    known = registry.venues()
    out: dict[str, dict[str, str]] = {}
    for venue, apis in urls.items():
        if venue not in known:
            raise ConfigError(f"urls: unknown venue {venue!r}; known: {', '.join(sorted(known))}")
        if not isinstance(apis, Mapping):
            raise ConfigError(f"urls[{venue!r}] must map api -> url, e.g. {{'rest': 'http://...'}}")
        out[venue] = dict(apis)
        for cls in {b.connector for (_, v), b in registry.bindings_for().items() if v == venue}:
            cls(out[venue])  # validates the URLs now, before any request
    return out


def fetch(model: type[Model], **params: Any) -> Any:
    """Fetch one query in a one-off :class:`Session` (see :meth:`Session.fetch`)."""
    with Session() as session:
        return session.fetch(model, **params)


async def afetch(model: type[Model], **params: Any) -> Any:
    """Async :func:`fetch`."""
    async with Session() as session:
        return await session.afetch(model, **params)
