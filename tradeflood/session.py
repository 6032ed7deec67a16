"""Session: one client identity for fetching, sync or async, with its own limits and caches.

::

    with tradeflood.Session() as s:
        trades = s.fetch(Trade, exchange="example", symbol="ETH/USDT")
        plan = s.plan(*queries)           # explain before running
        results = s.gather(*queries)      # one merged plan; results in query order

    async with tradeflood.Session(urls={"example": {"rest": "http://127.0.0.1:9000"}}) as s:
        candles = await s.afetch(Candle, exchange="example", symbol="BTC/USDT", interval="1h",
                                 start="-2d")

A session keeps the instrument lists for its lifetime (or ``instruments_ttl``
seconds), so queries made through one session share them. Rate-limit windows
belong to the egress, not the session: every session of the process sending
through the same address (or proxy) shares one set (:mod:`tradeflood.windows`).
The module-level :func:`fetch` and :func:`afetch` run in one default session,
made on first use and closed at interpreter exit, so one-off calls share its
windows and its instrument lists (kept 10 minutes). The sync methods run
the async ones on a private event-loop thread; the async ones run on the
caller's loop (or bridge to the private one if the session already has it): see
:mod:`tradeflood.bridge`. What a fetch does (plan, run, repair, assemble) is
:mod:`tradeflood.pipeline`; the session holds what its queries share.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from . import registry
from .binding import Binding
from .bodies import DEFAULT_MAX_REPLY_BYTES
from .bridge import LoopBridge
from .checks import Invalid, check_invalid
from .clock import Clock, LiveClock
from .connector import Connector
from .errors import ConfigError, FetchError, PayloadError, QueryError, TradeFloodError
from .executor import ExecutionStats, Executor, TurnResult
from .pipeline import Results, gather, plan_queries
from .planner import Plan
from .query import Query
from .retry import RetryPolicy
from .windows import RateLimits, egress_of

if TYPE_CHECKING:
    import httpx

    from tradeflood.models import Model
    from tradeflood.proxy import ProxyScheme

    from .bus import BusConsumer  # import cycle: the bus serves a Session's streams and runs on one
    from .store._pages import PageStore
    from .streams._hub import StreamHub, StreamSettings
    from .streams._subscription import Stream, Subscription
    from .turns import TurnKey

__all__ = ["Session", "afetch", "default_session", "fetch"]

T = TypeVar("T")
UrlOverrides = Mapping[str, Mapping[str, str]]
StoreOption: TypeAlias = "PageStore | str | os.PathLike[str] | bool | None"
log = logging.getLogger("tradeflood")
_OFF = {"", "0", "off", "false", "no", "none"}


class Session:
    """A fetching session: connectors, rate limits, retries and caches shared by its queries.

    ``urls`` overrides base URLs per venue (``{"example": {"rest": "http://127.0.0.1:9000"}}``);
    ``transport`` swaps the HTTP transport under the executor (the simulator's
    in-process one, or a mock); ``clock`` drives every wait (a ``VirtualClock``
    in tests); ``progress(done, total)`` is called as requests complete.

    ``store`` keeps closed candles (and the settled rows of other histories, trade
    histories included) on disk so that a backfill asked for again is answered
    without requests, and an extended one fetches only the new pages:
    True (the default) opens the store at ``tradeflood.store.default_store_path()``
    (``$TRADEFLOOD_STORE``, else the user's cache folder; ``TRADEFLOOD_STORE=off``
    turns the default off), a path opens one there, a store object is used as it
    is, and False or None bypasses it. The store takes a bar (or a window of
    trades) as final only ``settle_ms`` after its end (default 10 s, since a venue
    may still change a bar it has just closed): ``store=CandleStore(path,
    settle_ms=30_000)`` chooses another margin.

    ``proxies`` sends every request through a :class:`~tradeflood.ProxyScheme`'s
    pools, each proxy with its own rate-limit windows (see ``tradeflood.proxy``).
    The rate-limit windows are those of the session's egress, shared with every
    other session of the process that leaves the same way (``tradeflood.windows``);
    ``limits`` replaces them (``tradeflood.bus.SharedRateLimits`` shares them through
    Redis, across processes). Instrument lists are kept for the session's life, or
    ``instruments_ttl`` seconds. ``bus="redis://..."`` serves ``stream()``/``subscribe()``
    from what gatherers publish for ``tenant`` (see ``tradeflood.bus``).

    ``invalid`` says what a fetch does with a row that fails the value checks of
    :mod:`tradeflood.checks` (a candle whose high is below its low, a negative
    price, a trade id twice in one reply): ``"raise"`` (the default) fails the
    query with a :class:`~tradeflood.errors.PayloadError` naming venue, endpoint,
    row and field; ``"drop"`` leaves the row out, counts it on the result
    (``result.dropped``; a dropped candle is also among ``result.gaps``) and logs
    it. A query whose one result (an order book, a ticker, a current funding rate)
    fails a check has no result under ``"drop"``: ``fetch`` returns None and
    ``gather`` puts None in its place, the reason (a ``PayloadError``) in the
    result list's ``absent`` (query index -> error), logged as a warning; the other
    queries' results are whole; ``fetch(..., on_absent=callback)`` hands that error to
    ``callback`` too. A query may say otherwise (``fetch(...,
    invalid="drop")``). Either way the row never reaches the store, and its page
    is not recorded as complete.
    Both deadlines below are read on the session's ``clock`` (a virtual clock drives
    them, so a session on one must reach its venues in-process).
    ``deadline`` (seconds, default none) bounds each fetch or gather as a whole; one
    still running then stops with :class:`~tradeflood.errors.FetchDeadlineError`,
    keeping what was parsed (``deadline=`` on a call overrides it for that call); it
    is clock time through and through, like the rate-limit waits and retry backoffs
    it bounds. ``request_deadline`` (default 60 s) bounds each request from
    connecting to the last byte of its body (``timeout`` bounds each read alone);
    one past it is retried like a timeout. It bounds real network I/O, so on a clock
    sped up past real time (a ``ScaledClock``) it also lasts at least its seconds of
    real time; on a virtual clock it fires at the exact clock instant.
    ``max_reply_bytes`` bounds a reply's body once decoded (a gzip body that would
    expand past it is cut off there): a larger reply fails its request with
    :class:`~tradeflood.errors.ReplyTooLargeError`, not retried. A store that
    cannot be opened or written is logged as a warning naming the SQLite error, and
    the fetch goes on without it.

    ``record="data/"`` also keeps every frame and REST reply the session receives in that
    directory (whichever proxy of ``proxies`` carried it); ``replay="data/"`` plays such a
    recording back through the same code, at ``speed`` (1 real time, 10, or ``"max"``) from
    ``start`` (see ``tradeflood.recording``), without ``proxies``: no proxy need run.
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
        limits: RateLimits | None = None,
        bus: str | None = None,
        tenant: str = "default",
        record: str | os.PathLike[str] | None = None,
        replay: str | os.PathLike[str] | None = None,
        speed: float | str = 1,
        start: Any = None,
        invalid: Invalid = "raise",
        deadline: float | None = None,
        request_deadline: float = 60.0,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        instruments_ttl: float | None = None,
    ) -> None:
        #: What a fetch does with rows that fail the value checks: "raise" or "drop".
        self.invalid: Invalid = check_invalid(invalid)
        self.deadline = _positive("deadline", deadline)
        self._request_deadline: float = _positive("request_deadline", request_deadline) or 60.0
        if not isinstance(max_reply_bytes, int) or max_reply_bytes <= 0:
            raise ConfigError(f"max_reply_bytes must be a positive number of bytes, not {max_reply_bytes!r}")
        self._max_reply_bytes = max_reply_bytes
        self._recording = None
        if record is not None or replay is not None or speed != 1 or start is not None:
            from .recording._session import session_recording

            self._recording = session_recording(record=record, replay=replay, speed=speed, start=start,
                                                clock=clock, transport=transport,
                                                stream_settings=stream_settings, urls=urls,
                                                max_reply_bytes=max_reply_bytes)
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
        #: The proxy scheme requests and streams go out by (a replaying session leaves it aside).
        self.proxies = proxies if self._recording is None else self._recording.routes(proxies)
        self._connectors: dict[type[Connector], Connector] = {}
        self._bindings: dict[type[Binding], Binding] = {}
        self._cache: dict[TurnKey, TurnResult] = {}
        if instruments_ttl is not None and not instruments_ttl > 0:
            raise ConfigError(f"instruments_ttl must be a positive number of seconds, "
                              f"not {instruments_ttl!r}")
        self._cache_ttl_ms = None if instruments_ttl is None else instruments_ttl * 1000
        self._own_limits = limits is None  # the egress's shared windows, not the caller's
        self._limits = (limits if limits is not None
                        else RateLimits.for_egress(egress_of(transport), self.clock))
        self._bus: BusConsumer | None = None
        if bus is not None:  # streams are read from the bus (tradeflood.bus), not from the venues
            from .bus import BusConsumer  # import cycle: the optional bus is built on Session; loaded on use

            self._bus = BusConsumer(self, bus, tenant)
        self._executor: Executor | None = None
        self._bridge = LoopBridge()
        self._streams: StreamHub | None = None
        #: Limits and timings of this session's live streams (None: the defaults).
        self.stream_settings = stream_settings
        self._closed = False
        if self._recording is not None:
            self._recording.bind(self)

    # -- the public API -------------------------------------------------------------

    def query(self, model: type[Model], **params: Any) -> Query:
        """A :class:`Query` checked against its venue's binding, with relative times resolved
        against this session's clock.

        Invalid parameters raise :class:`~tradeflood.errors.QueryError` (naming what the venue
        refuses), whatever check finds them.
        """
        try:
            return registry.resolve(Query(model, **params), self.now_ms())
        except TradeFloodError:
            raise
        except (ValueError, ArithmeticError, TypeError) as exc:  # a bound no check foresaw
            raise QueryError(f"invalid query for {getattr(model, '__name__', model)}: {exc}") from exc

    def plan(self, *queries: Query) -> Plan:
        """The merged, deduplicated request plan of ``queries``; nothing is sent."""
        return plan_queries(self, queries, self.now_ms())

    @property
    def store(self) -> PageStore | None:
        """The history store this session reads and records, opened on first use; None if off."""
        if self._store is None and self._store_option not in (None, False):
            option = self._store_option
            if option is True:
                if os.environ.get("TRADEFLOOD_STORE", "x").strip().lower() in _OFF:
                    self._store_option = None
                    return None
                from .store import default_store_path

                self._store = self._open_store(default_store_path())
            elif isinstance(option, str | os.PathLike):
                self._store = self._open_store(option)
            else:
                self._store = option  # type: ignore[assignment]
                return self._store
            if self._store is None:  # it could not be opened: the session goes on without it
                self._store_option = None
                return None
            self._owns_store = True
        return self._store

    @staticmethod
    def _open_store(path: str | os.PathLike[str]) -> PageStore | None:
        """The store at ``path``; None, with a warning saying why, if it cannot be opened."""
        from .store import CandleStore, StoreError

        try:
            return CandleStore(path)
        except StoreError as exc:
            log.warning("the candle store is off for this session: %s", exc)
            return None

    def fetch(self, model: type[Model], *, deadline: float | None = None,
              on_absent: Callable[[PayloadError], Any] | None = None, **params: Any) -> Any:
        """Fetch one query's result (a list of models, or one model for books and tickers;
        None when ``invalid="drop"`` refused that one model).

        ``deadline`` (seconds) bounds this fetch as a whole (default: the session's).
        ``on_absent`` is called with the :class:`~tradeflood.errors.PayloadError` saying why
        (venue, endpoint, field), in the caller's thread, when ``invalid="drop"`` leaves the
        query with no result (a book, a ticker, a current funding rate or open interest that
        failed a value check): what ``absent`` is to :meth:`gather`, for one query::

            reasons = []
            book = session.fetch(OrderBook, exchange="example", symbol="BTC/USDT",
                                 invalid="drop", on_absent=reasons.append)
            if book is None:
                print(reasons[0].detail)   # "book 0: asks price best ask ... (crossed book)"
        """
        _check_on_absent(on_absent)
        query = self.query(model, **params)
        return _one(self.run_sync(self._agather_one(query, deadline)), on_absent)

    async def afetch(self, model: type[Model], *, deadline: float | None = None,
                     on_absent: Callable[[PayloadError], Any] | None = None, **params: Any) -> Any:
        """Async :meth:`fetch`."""
        _check_on_absent(on_absent)
        query = self.query(model, **params)
        return _one(await self._acall(self._agather_one(query, deadline)), on_absent)

    def gather(self, *queries: Query, deadline: float | None = None) -> list[Any]:
        """Run every query in ONE merged plan; shared requests run once. Results in query order
        (a :class:`~tradeflood.pipeline.Results` list: see ``invalid`` for ``absent``).

        ``deadline`` (seconds) bounds the whole run (default: the session's).
        """
        return self.run_sync(self._agather(queries, deadline))

    async def agather(self, *queries: Query, deadline: float | None = None) -> list[Any]:
        """Async :meth:`gather`."""
        return await self._acall(self._agather(queries, deadline))

    def stream(self, model: type[Model], *, on_event: Callable[[Any], Any] | None = None,
               events: bool = False, **params: Any) -> Stream:
        """A live stream of ``model`` to read with ``async for`` (inside a running event loop).

        Takes the query's parameters (``exchange``, ``symbol``, ``interval``,
        ``depth``) plus: ``throttle`` (seconds between values handed out),
        ``partial=True`` (also the forming candle's updates), ``overflow``
        (``raise`` or ``drop`` for trades and candles; books and tickers
        ``conflate`` to the latest value), ``maxsize`` (queue bound) and
        ``poll=seconds`` to poll over REST instead of streaming.

        It yields ``model`` objects only. Stream events
        (:class:`~tradeflood.streams.Reconnected`, :class:`~tradeflood.streams.TradeGap`,
        ``BookResync``...) go to ``on_event(event)`` as they happen, and with
        ``events=True`` also come in the iterator, in order with the data. With
        neither, the first event of each kind is logged at WARNING; all are counted
        in ``st.events`` and the latest is ``st.last_event``.
        Identical streams of one session share one upstream subscription.
        """
        if self._bus is not None:
            return self._bus.stream(model, on_event=on_event, events=events,  # type: ignore[return-value]
                                    **params)
        from .streams._api import open_stream

        return open_stream(self, model, on_event=on_event, events=events, **params)

    def subscribe(self, model: type[Model], callback: Callable[[Any], Any], *,
                  on_event: Callable[[Any], Any] | None = None, events: bool = False,
                  **params: Any) -> Subscription:
        """Like :meth:`stream`, but ``callback(item)`` is called for each item; ``on_error``
        is called with the error if the subscription fails. ``await sub.close()`` leaves.
        Events go to ``on_event`` (and to ``callback`` too with ``events=True``)."""
        if self._bus is not None:
            return self._bus.subscribe(model, callback, on_event=on_event,  # type: ignore[return-value]
                                       events=events, **params)
        from .streams._api import open_subscription

        return open_subscription(self, model, callback, on_event=on_event, events=events, **params)

    def learned_rates(self) -> dict[tuple[str, str], float]:
        """The rates (weight per second) this session has learned below the declared limits,
        by (venue, group), from the venues' 429s and used-weight reports; see :mod:`tradeflood.adaptive`."""
        learned = getattr(self._limits, "learned", None)
        return learned() if callable(learned) else {}

    def headroom(self) -> dict[str, dict[str, float]]:
        """The free share (0 to 1) of every rate-limit group of every venue, as this session's
        egress counts it (with the other sessions sharing it): 1.0 for a group not used yet,
        0.0 for one whose window is full."""
        out: dict[str, dict[str, float]] = {}
        for cls in {b.connector for b in registry.bindings_for().values()}:
            groups = out.setdefault(cls.name, {})
            for group, limit in cls.limits.items():
                window = self._limits.get(cls.name, group)
                if not limit.has_window:
                    continue
                used = window.in_window if window is not None else 0
                groups[group] = max(0.0, 1.0 - used / limit.count)
        return out

    def stream_stats(self) -> dict[str, int]:
        """Live-stream counts: consumers, upstream subscriptions, deliveries, connections, tasks."""
        if self._streams is None:
            return {"consumers": 0, "upstreams": 0, "deliveries": 0, "connections": 0, "tasks": 0}
        return self._streams.stats()

    @property
    def stats(self) -> ExecutionStats:
        """Requests sent, retries and rate-limit answers seen so far."""
        return self._executor.stats if self._executor else ExecutionStats()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._bridge.stop(self._aclose_client())
        self._close_store()
        self._release_limits()

    async def aclose(self) -> None:
        if self._closed:
            return
        if self._bridge.owns_thread:
            await asyncio.to_thread(self.close)
            return
        self._closed = True
        await self._aclose_client()
        self._close_store()
        self._release_limits()

    def _release_limits(self) -> None:
        if self._own_limits:
            self._limits.linger()  # the next session on this egress still sees this one's weight

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

    # -- what the pipeline and the streams use -----------------------------------------

    def now_ms(self) -> int:
        """This session's clock, in UTC milliseconds."""
        return int(self.clock.time() * 1000)

    def connector(self, cls: type[Connector]) -> Connector:
        """This session's instance of a connector class (with its URL overrides), made on first use."""
        api = self._connectors.get(cls)
        if api is None:
            api = self._connectors[cls] = cls(self._urls.get(cls.name))
        return api

    def venue_connector(self, venue: str) -> Connector:
        """This session's connector for a venue's name: one made already, else the one its
        registered bindings use."""
        for api in self._connectors.values():
            if api.name == venue:
                return api
        cls = registry.connector_class(venue)
        if cls is not None:
            return self.connector(cls)
        raise ConfigError(f"no connector for venue {venue!r}; known: {', '.join(sorted(registry.venues()))}")

    def binding_for(self, query: Query) -> Binding:
        """This session's instance of the fetch binding that answers ``query``."""
        cls = registry.lookup(query.model, query.exchange)
        binding = self._bindings.get(cls)
        if binding is None:
            binding = self._bindings[cls] = cls(self.connector(cls.connector))
        return binding

    @property
    def turn_cache(self) -> dict[TurnKey, TurnResult]:
        """Results that hold for this session's life (instrument lists), or for
        ``instruments_ttl`` seconds after they arrived, by turn key."""
        if self._cache_ttl_ms is not None and self._cache:
            oldest = self.now_ms() - self._cache_ttl_ms
            for key in [k for k, r in self._cache.items() if r.received_ms < oldest]:
                del self._cache[key]
        return self._cache

    @property
    def stream_hub(self) -> StreamHub:
        """The hub that shares this session's upstream subscriptions, made on first use."""
        if self._streams is None:
            # Streams load on first use; they see a session only as a StreamHost, so no cycle.
            from .streams._hub import StreamHub

            self._streams = StreamHub(self, self.stream_settings)
        return self._streams

    def executor(self) -> Executor:
        """The executor of this session's requests, with its HTTP client, made on first use."""
        if self._closed:
            raise TradeFloodError("this Session is closed; open a new one")
        if self._executor is None:
            import httpx

            client = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout,
                headers={"User-Agent": "tradeflood/0.1"}, follow_redirects=False,
            )
            self._executor = Executor(
                client, self.clock, limits=self._limits, retry=self.retry,
                max_concurrency=self._max_concurrency, cache=self._cache, progress=self._progress,
                proxies=self.proxies, connectors=self.venue_connector,
                request_deadline=self._request_deadline, max_reply_bytes=self._max_reply_bytes,
                tap=None if self._recording is None else self._recording.tap,
            )
        return self._executor

    async def _agather_one(self, query: Query, deadline: float | None = None) -> Results:
        try:
            results = await self._agather((query,), deadline)
            assert isinstance(results, Results)
            return results
        except FetchError as exc:
            if isinstance(exc.cause, QueryError):
                raise exc.cause from None  # an unknown symbol reads best as itself
            raise

    async def _agather(self, queries: tuple[Query, ...] | list[Query],
                       deadline: float | None = None) -> list[Any]:
        deadline = self.deadline if deadline is None else _positive("deadline", deadline)
        try:
            plan = self.plan(*queries)
        except TradeFloodError:
            raise
        except (ValueError, ArithmeticError) as exc:  # a bound no check foresaw: still the caller's
            raise QueryError(f"these queries cannot be planned: {exc}") from exc
        return await gather(self, plan, deadline)

    async def _aclose_client(self) -> None:
        if self._bus is not None:
            await self._bus.aclose()
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

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on this session's event loop and wait for its result (from sync code:
        the sync methods and ``tradeflood.stream`` use it)."""
        self._check_open(coro)
        return self._bridge.call(coro)

    async def _acall(self, coro: Coroutine[Any, Any, T]) -> T:
        self._check_open(coro)
        return await self._bridge.acall(coro)


def _check_on_absent(on_absent: object) -> None:
    """A fetch's ``on_absent`` is a callable or None: refused before any request otherwise."""
    if on_absent is not None and not callable(on_absent):
        raise QueryError(f"on_absent={on_absent!r}: give a callable taking the PayloadError, or None")


def _one(results: Results, on_absent: Callable[[PayloadError], Any] | None) -> Any:
    """The result of a one-query gather; when it has none, the reason goes to ``on_absent``."""
    if on_absent is not None and results.absent:
        on_absent(results.absent[0])
    return results[0]


def _positive(name: str, seconds: float | None) -> float | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise ConfigError(f"{name} must be a positive number of seconds, not {seconds!r}")
    return float(seconds)


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


#: How long the default session keeps a venue's instrument list (seconds).
DEFAULT_INSTRUMENTS_TTL = 600.0
_default: Session | None = None
_default_pid = 0  # the process that made it: a forked child makes its own
_default_lock = threading.Lock()


def default_session() -> Session:
    """The session the module-level :func:`fetch` and :func:`afetch` run in: made on first
    use, on a private event-loop thread (so sync and async callers from any loop share it),
    keeping instrument lists :data:`DEFAULT_INSTRUMENTS_TTL` seconds, closed at interpreter exit."""
    global _default, _default_pid
    with _default_lock:
        if _default is None or _default._closed or _default_pid != os.getpid():
            _default = Session(instruments_ttl=DEFAULT_INSTRUMENTS_TTL)
            _default_pid = os.getpid()
            _default._bridge.start()
        return _default


def _close_default() -> None:
    global _default
    with _default_lock:
        session, _default = _default, None
    if session is not None and _default_pid == os.getpid():
        session.close()


atexit.register(_close_default)


def fetch(model: type[Model], **params: Any) -> Any:
    """Fetch one query in the process's default session (see :meth:`Session.fetch` and
    :func:`default_session`): one-off calls share its rate limits and instrument lists."""
    return default_session().fetch(model, **params)


async def afetch(model: type[Model], **params: Any) -> Any:
    """Async :func:`fetch`."""
    return await default_session().afetch(model, **params)
