"""The one error hierarchy of TradeFlood.

::

    TradeFloodError
    ├── QueryError (ValueError)          the caller asked for something invalid; raised before any request
    │   ├── UnknownExchangeError
    │   ├── UnknownModelError
    │   │   └── ModelNotServedError      a known venue without that model (also an UnknownExchangeError)
    │   ├── UnknownSymbolError           (raised once the venue's instrument list is known)
    │   ├── InvalidIntervalError
    │   └── InvalidTimeError             malformed, naive or inverted times
    ├── ConfigError (ValueError)         bad session settings: URLs, environment variables
    ├── BindingConflictError             two unrelated bindings claim one (model, venue)
    ├── VenueError                       the venue answered, but not with data
    │   ├── VenueRejectedError           the venue refused: bad symbol, bad parameter
    │   ├── RateLimitedError             HTTP 429 / 418
    │   ├── VenueUnavailableError        HTTP 5xx
    │   └── ReplyTooLargeError           a body larger than the session's bound, once decoded
    ├── PayloadError                     a body not understood: not JSON, missing fields, bad values
    ├── NetworkError                     no answer: connection failures and timeouts
    │   ├── RequestTimeoutError
    │   └── ProxyError                   a proxy could not carry the request: unreachable, refused, auth
    │       └── NoProxyAvailableError    every proxy that may carry a request is down or blocked
    ├── FetchError                       a fetch gave up; carries the cause and all results gathered
    │   └── FetchDeadlineError           the fetch's own deadline (``deadline=``) passed
    └── StreamError                      a live stream cannot go on
        ├── StreamRejectedError          the venue refused the subscription (unknown channel or symbol)
        └── StreamOverflowError          a consumer fell behind and its queue overflowed; says how many missed

Every error says what was asked, what went wrong and, where there is one, what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BindingConflictError",
    "ConfigError",
    "FetchDeadlineError",
    "FetchError",
    "InvalidIntervalError",
    "InvalidTimeError",
    "ModelNotServedError",
    "NetworkError",
    "NoProxyAvailableError",
    "PayloadError",
    "ProxyError",
    "QueryError",
    "RateLimitedError",
    "ReplyTooLargeError",
    "RequestTimeoutError",
    "StreamError",
    "StreamOverflowError",
    "StreamRejectedError",
    "TradeFloodError",
    "UnknownExchangeError",
    "UnknownModelError",
    "UnknownSymbolError",
    "VenueError",
    "VenueRejectedError",
    "VenueUnavailableError",
]


def _choices(values: Iterable[str], most: int = 12) -> str:
    items = sorted(values)
    shown = ", ".join(items[:most])
    return shown + (f", ... ({len(items)} in all)" if len(items) > most else "")


class TradeFloodError(Exception):
    """Base of every error TradeFlood raises."""


class QueryError(TradeFloodError, ValueError):
    """The caller asked for something invalid; raised before any request is sent."""


class UnknownExchangeError(QueryError):
    """An exchange no binding of the model serves (a known venue lacking the model raises
    :class:`ModelNotServedError`, a subclass)."""

    def __init__(self, exchange: str, known: Iterable[str], model: str | None = None) -> None:
        self.exchange = exchange
        self.known = sorted(known)
        what = f" for {model}" if model else ""
        super().__init__(
            f"unknown exchange {exchange!r}{what}; valid choices: {_choices(self.known) or 'none'}"
        )


class UnknownModelError(QueryError):
    def __init__(self, model: object, known: Iterable[str], what: str = "binding") -> None:
        self.model = model
        kind = "stream binding" if what == "streams" else "binding"
        hint = "; give poll=SECONDS to poll it over REST instead" if what == "streams" else ""
        super().__init__(
            f"no {kind} serves {getattr(model, '__name__', model)!r}; "
            f"models with a {kind}: {_choices(known) or 'none'}{hint}"
        )


class ModelNotServedError(UnknownModelError, UnknownExchangeError):
    """A known venue that serves no such model (or does not stream it): names the venues that do.

    It is both an :class:`UnknownModelError` (the model is not on that venue) and an
    :class:`UnknownExchangeError` (choose one of the venues listed)."""

    def __init__(self, model: object, exchange: str, venues: Iterable[str], what: str = "binding") -> None:
        self.model = model
        self.exchange = exchange
        self.known = sorted(venues)
        name = getattr(model, "__name__", model)
        kind = "streams" if what == "streams" else "fetches"
        venues_text = _choices(self.known) or "none"
        hint = " (or give poll=SECONDS to poll it over REST)" if what == "streams" else ""
        QueryError.__init__(self, f"{exchange} has no {name} {kind}; venues that do: {venues_text}{hint}")


class UnknownSymbolError(QueryError):
    def __init__(self, exchange: str, symbol: str, known: Iterable[str]) -> None:
        self.exchange = exchange
        self.symbol = symbol
        known = sorted(known)
        near = [k for k in known if k.split("/")[0] == symbol.split("/")[0]]
        hint = f"; similar: {_choices(near, 6)}" if near else ""
        super().__init__(
            f"{exchange} lists no symbol {symbol!r} ({len(known)} symbols listed){hint}. "
            "Unified symbols are BASE/QUOTE for spot and BASE/QUOTE:SETTLE for perpetuals."
        )


class InvalidIntervalError(QueryError):
    def __init__(self, interval: object, valid: Iterable[str], exchange: str | None = None) -> None:
        self.interval = interval
        where = f" on {exchange}" if exchange else ""
        choices = ", ".join(valid)
        if interval is None:
            message = f"candles need an interval{where}, e.g. interval='1h'; valid choices: {choices}"
        else:
            message = f"invalid interval {interval!r}{where}; valid choices: {choices}"
        super().__init__(message)


class InvalidTimeError(QueryError):
    """A time or range the caller gave is malformed, naive, or empty."""


class ConfigError(TradeFloodError, ValueError):
    """A session setting (URL override, environment variable, option) is invalid."""


class BindingConflictError(TradeFloodError):
    """Two bindings, neither derived from the other, claim the same (model, venue)."""


class VenueError(TradeFloodError):
    """The venue answered, but with an error instead of data.

    Carries the venue, the endpoint, the HTTP status, the venue's own error code
    and message, and the start of the body as it came back.
    """

    def __init__(
        self,
        venue: str,
        endpoint: str,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        body: bytes | str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.venue = venue
        self.endpoint = endpoint
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.body = body if isinstance(body, str) else (body or b"").decode("utf-8", "replace")
        parts = [f"{venue} {endpoint}"]
        if status is not None:
            parts.append(f"HTTP {status}")
        if code is not None:
            parts.append(f"code {code}")
        excerpt = self.body[:200]
        tail = f" (body: {excerpt!r})" if excerpt and excerpt not in message else ""
        super().__init__(f"{' '.join(parts)}: {message}{tail}")


class VenueRejectedError(VenueError):
    """The venue refused the request with an error code in its body."""


class RateLimitedError(VenueError):
    """HTTP 429 (slow down) or 418 (this IP is banned for a while)."""


class VenueUnavailableError(VenueError):
    """HTTP 5xx: the venue is down or overloaded."""


class ReplyTooLargeError(VenueError):
    """A reply's body grew past the session's bound (``max_reply_bytes``), counted once decoded.

    The body was cut off there and dropped; the request is not retried.
    """

    def __init__(self, venue: str, endpoint: str, limit: int, encoding: str = "identity") -> None:
        self.limit = limit
        sent = "" if encoding in ("", "identity") else f" ({encoding}-encoded)"
        super().__init__(
            venue, endpoint,
            f"the reply{sent} was larger than {limit:,} bytes once decoded and was cut off there; "
            "no page of a venue is that large. Raise Session(max_reply_bytes=...) if this one is",
        )


class PayloadError(TradeFloodError):
    """A body that could not be understood: not JSON, missing fields, values of the wrong type."""

    def __init__(self, venue: str, endpoint: str, detail: str, body: object = None) -> None:
        self.venue = venue
        self.endpoint = endpoint
        self.detail = detail
        excerpt = repr(body)[:200] if body is not None else ""
        super().__init__(
            f"{venue} {endpoint}: unexpected payload: {detail}"
            + (f" (payload: {excerpt})" if excerpt else "")
        )


class NetworkError(TradeFloodError):
    """No answer: the connection failed or was cut."""

    def __init__(self, venue: str, endpoint: str, detail: str) -> None:
        self.venue = venue
        self.endpoint = endpoint
        super().__init__(f"{venue} {endpoint}: {detail}")


class RequestTimeoutError(NetworkError):
    """The venue did not answer within the timeout."""


class ProxyError(NetworkError):
    """A proxy could not carry a request (unreachable, refused it, wanted other credentials).

    ``proxy`` names the proxy; the request is retried through another one.
    """

    def __init__(self, venue: str, endpoint: str, detail: str, *, proxy: str) -> None:
        self.proxy = proxy
        super().__init__(venue, endpoint, f"through proxy {proxy}: {detail}")


class NoProxyAvailableError(ProxyError):
    """Every proxy that may carry a request is down or blocked; ``causes`` says why, per proxy."""

    def __init__(self, venue: str, endpoint: str, pool: str, causes: Mapping[str, str], *,
                 waited: float | None = None) -> None:
        self.pool = pool
        self.causes = dict(causes)
        #: The seconds the request was willing to wait for a proxy (its retry budget), if it waited.
        self.waited = waited
        shown = "; ".join(f"{name}: {why}" for name, why in self.causes.items()) or "the pool is empty"
        budget = f" within {waited:g} s" if waited is not None else ""
        Exception.__init__(
            self, f"{venue} {endpoint}: no proxy of pool {pool!r} can carry the request{budget} ({shown}); "
            "check the proxies, or add others to the pool",
        )
        self.venue = venue
        self.endpoint = endpoint
        self.proxy = pool


class FetchError(TradeFloodError):
    """A fetch gave up after its retries; nothing gathered before the failure is lost.

    ``partial`` maps each query's position to what had been parsed for it
    before the failure (possibly empty); ``cause`` is the last error.
    """

    def __init__(self, message: str, cause: BaseException, partial: Mapping[int, Any]) -> None:
        self.cause = cause
        self.partial = dict(partial)
        super().__init__(f"{message}: {cause}")


class FetchDeadlineError(FetchError):
    """A fetch ran past its ``deadline=``; what was gathered by then is in ``partial``."""

    def __init__(self, deadline: float, partial: Mapping[int, Any], failed: str = "") -> None:
        self.deadline = deadline
        cause = TimeoutError(f"the fetch deadline of {deadline:g} s passed")
        which = f" ({failed})" if failed else ""
        super().__init__(f"unfinished at its deadline{which}", cause, partial)


class StreamError(TradeFloodError):
    """A live stream cannot go on for this consumer; the session and other streams carry on."""


class StreamRejectedError(StreamError):
    """The venue refused a subscription: the channel, symbol or parameters are unknown to it."""

    def __init__(self, venue: str, topic: str, detail: str) -> None:
        self.venue = venue
        self.topic = topic
        self.detail = detail
        super().__init__(f"{venue} refused the subscription to {topic}: {detail}")


class StreamOverflowError(StreamError):
    """A consumer read a live stream more slowly than it came; its queue overflowed.

    ``missed`` items could not be delivered (none is dropped silently).
    """

    def __init__(self, missed: int, maxsize: int, stream: str | None = None) -> None:
        self.missed = missed
        self.maxsize = maxsize
        self.stream = stream
        super().__init__(
            f"{stream or 'stream'}: the consumer fell behind; {missed} item(s) could not be delivered "
            f"(its queue holds {maxsize}). Read faster, give a larger queue, or choose the 'drop' "
            "or 'conflate' overflow policy."
        )
