"""Long-poll (``/v1/poll``) and callbacks (``/v1/callbacks``): the live modes beside the WebSocket.

A poller names a stream and the cursor it last saw; it gets the items after
it and the next cursor, waiting up to ``wait`` seconds when there are none.
Pollers of one stream share its topic (and so one upstream subscription),
which ends ``poll_linger`` seconds after the last poll.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tradeflood.errors import QueryError

from ._callbacks import Callback, check_url
from ._encode import dumps
from ._errors import ApiError
from ._rest import ERRORS, _json, _state
from ._schemas import CallbackIn, CallbackOut, PollOut
from ._topics import topic_key

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["live"])


def _number(name: str, value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise QueryError(f"{name}={value!r}: give a number of seconds") from None
    if not number >= 0 or number == float("inf"):
        raise QueryError(f"{name}={value!r}: give a number of seconds, 0 or more")
    return number


@router.get("/poll", response_model=PollOut, responses=ERRORS)
async def poll(
    request: Request,
    model: str = Query(description="trade, candle, book or ticker."),
    exchange: str = Query(), symbol: str = Query(),
    interval: str | None = Query(None, description="Candles: the interval."),
    depth: str | None = Query(None, description="Books: levels a side."),
    cursor: str | None = Query(None, description="The cursor of the previous answer; none: what is held."),
    wait: str | None = Query(None, description="Seconds to wait when nothing is new (default 10)."),
) -> Response:
    """Items after ``cursor`` and the next cursor; waits up to ``wait`` seconds for the first one."""
    state = _state(request)
    if depth is not None and not depth.isdigit():
        raise QueryError(f"depth={depth!r}: give a positive integer")
    after = 0
    if cursor is not None:
        if not cursor.isdigit():
            raise QueryError(f"cursor={cursor!r}: give the cursor of a previous answer")
        after = int(cursor)
    seconds = min(_number("wait", wait, 10.0), state.settings.poll_max_wait)
    key = topic_key({"model": model, "exchange": exchange, "symbol": symbol, "interval": interval,
                     "depth": int(depth) if depth else None})
    topic = await state.topics.join(key)
    entries = topic.after(after)
    if not entries and seconds > 0 and topic.error is None:
        await topic.wait(seconds)
        entries = topic.after(after)
    if topic.error is not None and not entries:
        raise topic.error
    missed = 0
    oldest = topic.history[0].seq if topic.history else 0
    if entries and after and entries[0].seq > after + 1 and oldest > after + 1:
        missed = 1  # the buffer moved past the cursor: at least one item is gone
    items = b",".join(b"{" + e.key + b":" + e.value + b"}" for e in entries)
    last = entries[-1].seq if entries else max(after, topic.history[-1].seq if topic.history else 0)
    state.metrics.messages_out.labels("poll").inc(len(entries))
    body = b'{"items":[' + items + b'],"cursor":' + dumps(str(last)) + b',"missed":' + dumps(missed) + b"}"
    return Response(body, media_type="application/json")


@router.post("/callbacks", response_model=CallbackOut, status_code=201, responses=ERRORS)
async def add_callback(request: Request, body: CallbackIn) -> Response:
    """Register a webhook: batches of the subscription's items POSTed to ``url``, HMAC-signed."""
    state = _state(request)
    key = topic_key(body.subscription)
    await check_url(body.url, state.settings.callback_allow_hosts)
    owner = request.scope.get("tradeflood.key") or "anonymous"
    if not state.join_key(owner, 1):
        raise ApiError(429, "TooManySubscriptions",
                       f"this API key holds {state.settings.max_subscriptions_per_key} subscriptions",
                       retry_after=60)
    callback = Callback(state, body.url, key, body.subscription, body.batch_ms, body.secret, owner)
    try:
        await state.callbacks.add(callback)
    except BaseException:
        state.leave_key(owner, 1)
        raise
    return _json(callback.describe(), 201)


@router.get("/callbacks", response_model=list[CallbackOut], responses=ERRORS)
async def list_callbacks(request: Request) -> Response:
    """Every callback with its deliveries, failures and last error."""
    return _json([c.describe() for c in _state(request).callbacks.all.values()])


def _callback(request: Request, callback_id: str) -> Any:
    callback = _state(request).callbacks.all.get(callback_id)
    if callback is None:
        raise ApiError(404, "UnknownCallback", f"no callback {callback_id!r}")
    return callback


@router.get("/callbacks/{callback_id}", response_model=CallbackOut, responses=ERRORS)
async def get_callback(request: Request, callback_id: str) -> Response:
    """One callback: deliveries, failures, the last error and its state (active, failing, ended)."""
    return _json(_callback(request, callback_id).describe())


@router.delete("/callbacks/{callback_id}", response_model=CallbackOut, responses=ERRORS)
async def delete_callback(request: Request, callback_id: str) -> Response:
    """Remove a callback; its topic ends if nothing else uses it."""
    return _json((await _state(request).callbacks.remove(callback_id)).describe())
