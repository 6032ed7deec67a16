"""Connector: a venue's endpoints, base URLs, rate limits and error mapping; nothing else.

A connector declares; it never sends. Endpoints are methods marked
:func:`~tradeflood.turn`. A regional or testnet variant is a subclass that
overrides ``urls``; a new endpoint is a new ``@turn`` method on a subclass::

    class ExampleWithOpenInterest(Example):
        @turn("/v1/open-interest", group="market")
        def open_interest(self, symbol: Param) -> Params:
            return {"symbol": symbol}

Base URLs resolve in this order: the ``urls`` given to the constructor (from
``Session(urls={"example": {"rest": ...}})``), then the environment
(``TRADEFLOOD_EXAMPLE_REST_URL``; for a secondary API such as ``rest.futures``,
``TRADEFLOOD_EXAMPLE_REST_FUTURES_URL``), then the class's ``urls``. Overriding
``rest`` (or ``ws``) also overrides every ``rest.*`` (``ws.*``) API of the venue
that is not named itself, so one local simulator can stand in for all of a
venue's hosts.

A venue's :meth:`Connector.unwrap` maps its replies onto TradeFlood's errors;
for the common reply shapes it calls :meth:`Connector.unwrap_envelope` (a
``{"code", "msg", "data"}`` envelope) or :meth:`Connector.unwrap_bare` (the
data itself, errors as ``{"code", "msg"}``) instead of writing its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import orjson

from .errors import ConfigError, PayloadError, RateLimitedError, VenueRejectedError, VenueUnavailableError
from .ratelimit import Limit
from .turns import Turn

if TYPE_CHECKING:
    from .streams._protocol import StreamProtocol

__all__ = ["Ban", "Connector", "Reply", "retry_after"]


class Reply:
    """What came back for one request: status, headers and body, before any parsing."""

    __slots__ = ("body", "elapsed", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes, elapsed: float = 0.0):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed


@dataclass(frozen=True, slots=True)
class Ban:
    """A venue's word, read from a reply by :meth:`Connector.ban`, that the sending IP is banned
    (not merely over a rate limit): ``seconds`` until the ban ends, when the venue says."""

    reason: str
    seconds: float | None = None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form), if present and sane."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 3600 else None


def _check_url(venue: str, key: str, url: object, source: str) -> str:
    if not isinstance(url, str):
        raise ConfigError(f"{source}: the {venue} {key} URL must be a string, not {url!r}")
    parts = urlsplit(url)
    allowed = ("http", "https") if key.split(".")[0] == "rest" else ("ws", "wss")
    if parts.scheme not in allowed or not parts.netloc:
        raise ConfigError(
            f"{source}: {url!r} is not a valid {venue} {key} URL; expected "
            f"{allowed[0]}[s]://host[:port][/prefix]"
        )
    return url.rstrip("/")


class Connector:
    """Base of every venue connector. Subclass with ``name="venue"`` to declare a venue."""

    name: ClassVar[str] = ""
    #: API key -> base URL: ``rest`` (and ``rest.<api>`` for secondary hosts), ``ws``.
    urls: ClassVar[Mapping[str, str]] = {}
    #: Rate-limit group -> limit. A ``*`` group, if present, is charged for every request.
    limits: ClassVar[Mapping[str, Limit]] = {}
    #: WebSocket URL key (``ws``, ``ws.futures``) -> the protocol spoken there.
    streams: ClassVar[Mapping[str, StreamProtocol]] = {}

    def __init_subclass__(cls, name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if name is not None:
            cls.name = name

    def __init__(self, urls: Mapping[str, str] | None = None) -> None:
        if not self.name:
            raise TypeError(f"{type(self).__name__} declares no venue name (class X(Connector, name=...))")
        resolved = dict(self.urls)
        env_prefix = f"TRADEFLOOD_{self.name.upper()}_"
        env = {
            key: os.environ[env_prefix + key.upper().replace(".", "_") + "_URL"]
            for key in {*resolved, "rest", "ws"}
            if env_prefix + key.upper().replace(".", "_") + "_URL" in os.environ
        }
        for source, given in ((f"environment {env_prefix}*_URL", env), ("Session(urls=...)", urls or {})):
            for key, url in given.items():
                if key not in resolved and key.split(".")[0] not in ("rest", "ws"):
                    raise ConfigError(
                        f"{source}: {self.name} has no API {key!r}; known: {', '.join(sorted(resolved))}"
                    )
                url = _check_url(self.name, key, url, source)
                resolved[key] = url
                if "." not in key:  # "rest" stands for every "rest.*" not named itself
                    for other in self.urls:
                        if other.startswith(key + ".") and other not in given:
                            resolved[other] = url
        self.base_urls: dict[str, str] = resolved

    def url(self, turn: Turn) -> str:
        """The absolute URL of a turn's endpoint (without the query string)."""
        try:
            return self.base_urls[turn.api] + turn.path
        except KeyError:
            raise ConfigError(f"{self.name} has no base URL for API {turn.api!r}") from None

    def unwrap(self, turn: Turn, reply: Reply) -> Any:
        """Turn a reply into the payload, or raise the venue's error as a typed one.

        The default decodes JSON; venues override it to map their error bodies and
        to strip their envelopes.
        """
        return self.decode(turn, reply)

    def raise_for_http(self, turn: Turn, reply: Reply) -> None:
        """Raise the typed error for HTTP 429/418 (rate limited, banned), 5xx, 408 and 425
        (down or not ready: worth a retry) and redirects (final: market-data endpoints
        do not move, so a redirect means a wrong base URL or a captive network).

        Venues call this first in :meth:`unwrap`, then map their own error bodies.
        """
        if 300 <= reply.status < 400:
            location = reply.headers.get("location", "")
            raise VenueRejectedError(
                self.name, turn.path,
                f"redirected to {location!r}; redirects are not followed, check the {self.name} base URL",
                status=reply.status,
            )
        if reply.status in (418, 429):
            raise RateLimitedError(
                self.name, turn.path,
                "IP banned for a while (HTTP 418)" if reply.status == 418 else "too many requests",
                status=reply.status, body=reply.body[:300],
                retry_after=retry_after(reply.headers),
            )
        if reply.status >= 500 or reply.status in (408, 425):
            raise VenueUnavailableError(
                self.name, turn.path, "the venue is unavailable", status=reply.status,
                body=reply.body[:300], retry_after=retry_after(reply.headers),
            )

    def unwrap_envelope(
        self, turn: Turn, reply: Reply, *, success: str = "0", rate_limited: Collection[str] = ("429",),
        hints: Mapping[str, str] | None = None,
    ) -> Any:
        """The ``data`` of a ``{"code", "msg", "data"}`` envelope, for a venue's :meth:`unwrap`.

        HTTP 429/418/5xx come first (:meth:`raise_for_http`). A ``code`` other than
        ``success`` (compared as text, so ``0`` and ``"0"`` match) is the venue's
        refusal: :class:`RateLimitedError` for a code in ``rate_limited``, else
        :class:`VenueRejectedError` with the venue's ``msg`` and, when ``hints``
        has one for the code, what to do about it. A body that is not such an
        envelope, or has no ``data``, is a :class:`PayloadError`.
        """
        self.raise_for_http(turn, reply)
        body = self.decode(turn, reply)
        if not isinstance(body, dict) or "code" not in body:
            raise PayloadError(self.name, turn.path,
                               f"HTTP {reply.status} body is not a {{code, msg, data}} envelope",
                               reply.body[:200])
        code = str(body["code"])
        if code != success:
            msg = body.get("msg")
            message = str(msg) if msg else "the request was refused without a message"
            if code in rate_limited:
                raise RateLimitedError(self.name, turn.path, message, status=reply.status, code=code,
                                       body=reply.body[:300])
            hint = (hints or {}).get(code)
            raise VenueRejectedError(self.name, turn.path, f"{message} ({hint})" if hint else message,
                                     status=reply.status, code=code, body=reply.body[:300])
        if "data" not in body:
            raise PayloadError(self.name, turn.path, "the envelope has no 'data'", reply.body[:200])
        return body["data"]

    def unwrap_bare(self, turn: Turn, reply: Reply, *,
                    is_error: Callable[[object], bool] | None = None) -> Any:
        """The body itself, for venues that send data bare and errors as ``{"code", "msg"}``.

        HTTP 429/418/5xx come first (:meth:`raise_for_http`); then an object whose
        ``code`` ``is_error`` (by default: an integer below zero), whatever the HTTP
        status, is a :class:`VenueRejectedError` with the venue's ``msg``; then any
        other HTTP error status is one without a code.
        """
        self.raise_for_http(turn, reply)
        payload = self.decode(turn, reply)
        if isinstance(payload, dict) and "code" in payload:
            code = payload["code"]
            if (is_error or _negative_int)(code):
                msg = payload.get("msg")
                raise VenueRejectedError(
                    self.name, turn.path, msg if isinstance(msg, str) and msg else "request rejected",
                    status=reply.status, code=code, body=reply.body[:300])
        if reply.status >= 400:
            raise VenueRejectedError(self.name, turn.path, "request refused without an error code",
                                     status=reply.status, body=reply.body[:300])
        return payload

    def decode(self, turn: Turn, reply: Reply) -> Any:
        """The reply's body as JSON, or a :class:`PayloadError` naming the endpoint.

        An HTTP 4xx whose body is not JSON (a 404 page, a gateway's refusal) is a
        :class:`VenueRejectedError`: asking again would get the same answer.
        """
        try:
            return orjson.loads(reply.body)
        except orjson.JSONDecodeError:
            if 400 <= reply.status < 500:
                raise VenueRejectedError(
                    self.name, turn.path, "refused, with a body that is not JSON",
                    status=reply.status, body=reply.body[:200],
                ) from None
            raise PayloadError(
                self.name, turn.path, f"HTTP {reply.status} body is not JSON", reply.body[:200]
            ) from None

    def used_weight(self, turn: Turn, reply: Reply, now: float) -> tuple[str, int, float] | None:
        """The venue's own count of the weight used, if it reports one.

        ``now`` is the wall-clock time in seconds. Returns ``(group, used, seconds
        until the venue's window resets)``.
        """
        return None

    def ban(self, turn: Turn, reply: Reply, now: float) -> Ban | None:
        """Whether a failed ``reply`` says the sending IP is banned, and for how long.

        ``now`` is the wall-clock time in seconds. Venues that word their bans
        (a status with a body, a "banned until" time) override this; the proxy
        diagnosis then takes that proxy out of service for the venue at once and for
        the ban's length, instead of counting refusals. The default recognises
        none: the statuses alone decide (see :mod:`tradeflood.proxy`).
        """
        return None

    def groups(self, turn: Turn) -> tuple[str, ...]:
        """The rate-limit groups a turn is charged to."""
        if "*" in self.limits and turn.group != "*":
            return (turn.group, "*") if turn.group in self.limits else ("*",)
        return (turn.group,) if turn.group in self.limits else ()


def _negative_int(code: object) -> bool:
    return type(code) is int and code < 0
