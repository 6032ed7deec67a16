"""The streaming entry points behind ``Session.stream``, ``Session.subscribe`` and ``tradeflood.stream``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tradeflood.errors import QueryError, TradeFloodError

from ._delivery import CallbackConsumer, EventChannel, Options, Overflow, QueueConsumer
from ._host import StreamHost
from ._hub import StreamHub
from ._subscription import Stream, Subscription

if TYPE_CHECKING:
    from tradeflood.models import Model
    from tradeflood.query import Query

__all__ = ["open_stream", "open_subscription", "stream"]

_CONFLATED = {"OrderBook", "Ticker"}
_OVERFLOWS = ("raise", "drop", "conflate")


def _hub(session: StreamHost) -> StreamHub:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise TradeFloodError(
            "streams run on an event loop: use them inside 'async with Session() as s', "
            "or iterate tradeflood.stream(...) from synchronous code"
        ) from None
    return session.stream_hub


def _query(session: StreamHost, model: type[Model], params: dict[str, Any]) -> Query:
    from tradeflood import registry
    from tradeflood.query import Query

    live = params.get("poll") is None
    return registry.resolve(Query(model, live=live, **params), session.now_ms())


def _overflow(model: type[Model], overflow: str | None) -> Overflow:
    if overflow is None:
        return "conflate" if model.__name__ in _CONFLATED else "raise"
    if overflow not in _OVERFLOWS:
        raise QueryError(f"overflow={overflow!r}: choose one of {', '.join(_OVERFLOWS)}")
    return overflow  # type: ignore[return-value]


def _options(depth: int | None, throttle: float | None, partial: bool) -> Options:
    if throttle is not None and (isinstance(throttle, bool) or not isinstance(throttle, int | float)
                                 or throttle <= 0):
        raise QueryError(f"throttle={throttle!r}: give a positive number of seconds")
    return Options(depth=depth, throttle=float(throttle) if throttle else None, partial=bool(partial))


def _size(hub: StreamHub, maxsize: int | None) -> int:
    size = hub.settings.queue_size if maxsize is None else maxsize
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise QueryError(f"maxsize={maxsize!r}: give a positive integer")
    return size


def open_stream(session: StreamHost, model: type[Model], *, throttle: float | None = None,
                partial: bool = False, overflow: str | None = None, maxsize: int | None = None,
                on_event: Callable[[Any], Any] | None = None, events: bool = False,
                **params: Any) -> Stream:
    hub = _hub(session)
    query = _query(session, model, params)
    options = _options(query.depth, throttle, partial)
    consumer = QueueConsumer(_size(hub, maxsize), _overflow(model, overflow), EventChannel(on_event, events))
    return Stream(hub, query, options, consumer)


def open_subscription(session: StreamHost, model: type[Model], callback: Callable[[Any], Any], *,
                      on_error: Callable[[BaseException], Any] | None = None,
                      throttle: float | None = None, partial: bool = False, overflow: str | None = None,
                      maxsize: int | None = None, on_event: Callable[[Any], Any] | None = None,
                      events: bool = False, **params: Any) -> Subscription:
    if not callable(callback):
        raise QueryError(f"callback={callback!r} is not callable")
    hub = _hub(session)
    query = _query(session, model, params)
    options = _options(query.depth, throttle, partial)
    channel = EventChannel(on_event, events)
    consumer = CallbackConsumer(callback, _size(hub, maxsize), _overflow(model, overflow), on_error, channel)
    return Subscription(hub, query, options, consumer)


_END = object()


def stream(model: type[Model], *, session: StreamHost | None = None, **params: Any) -> Iterator[Any]:
    """Iterate a live stream from synchronous code::

        for trade in tradeflood.stream(Trade, exchange="example", symbol="BTC/USDT"):
            print(trade.price)

    Runs a private :class:`~tradeflood.Session` (or the one given) on its own
    event-loop thread; leaving the loop closes the stream. It yields ``model``
    objects only; stream events (gaps, reconnections, resyncs) go to
    ``on_event=`` (called on that event-loop thread), or among the items with
    ``events=True``, as for :meth:`~tradeflood.Session.stream`. A session given
    with ``bus=`` serves it from the bus, as its ``stream()`` does.
    """
    # import cycle: the one-call form makes its own Session; both sides import at call time
    from tradeflood.session import Session

    own = session is None
    s: StreamHost = session if session is not None else Session()

    async def opened() -> Stream:
        # A Session decides where its streams come from (a bus, when it was given one).
        opener = getattr(s, "stream", None)
        st = opener(model, **params) if opener is not None else open_stream(s, model, **params)
        return await st.ready()  # type: ignore[return-value]

    async def following(st: Stream) -> Any:
        try:
            return await st.get()
        except StopAsyncIteration:
            return _END

    try:
        st = s.run_sync(opened())
        try:
            while True:
                item = s.run_sync(following(st))
                if item is _END:
                    return
                yield item
        finally:
            s.run_sync(st.close())
    finally:
        if own:
            s.close()  # type: ignore[attr-defined]
