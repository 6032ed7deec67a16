"""TradeFlood errors as HTTP answers: one JSON shape, a status that says whose fault it is.

``{"error": "<TradeFlood error class>", "message": "...", "valid": [...]}`` with 400 for
bad input, 404 for an unknown symbol, 503 with ``Retry-After`` when a venue is
rate-limited or down, and 502 when the venue answered something unusable. A
fetch that failed after gathering part of its result keeps that part under
``"partial"`` (query position -> items gathered) and names the cause.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from fastapi.responses import Response

from tradeflood.errors import (
    ConfigError,
    FetchError,
    NetworkError,
    QueryError,
    RateLimitedError,
    StreamError,
    UnknownSymbolError,
    VenueError,
    VenueUnavailableError,
)

from ._encode import jsonable

__all__ = ["ApiError", "error_body", "error_response", "status_of"]


class ApiError(Exception):
    """An answer the server itself gives (401, 404 for an unknown id, 413, 429)."""

    def __init__(self, status: int, error: str, message: str, *, retry_after: float | None = None,
                 valid: list[str] | None = None) -> None:
        self.status = status
        self.error = error
        self.message = message
        self.retry_after = retry_after
        self.valid = valid
        super().__init__(message)


def _valid(exc: BaseException) -> list[str] | None:
    known = getattr(exc, "known", None)
    if isinstance(known, list | tuple) and known:
        return [str(k) for k in known]
    message = str(exc)
    marker = "valid choices: "
    if marker in message:
        tail = message.split(marker, 1)[1].split(";")[0].split(" (")[0]
        return [v.strip() for v in tail.split(",") if v.strip() and not v.strip().startswith("...")]
    return None


def status_of(exc: BaseException) -> tuple[int, float | None]:
    """The HTTP status of an error, and the seconds to put in ``Retry-After`` if any."""
    if isinstance(exc, ApiError):
        return exc.status, exc.retry_after
    if isinstance(exc, FetchError):
        return status_of(exc.cause)
    if isinstance(exc, UnknownSymbolError):
        return 404, None
    if isinstance(exc, QueryError | ConfigError):
        return 400, None
    if isinstance(exc, RateLimitedError | VenueUnavailableError):
        retry = exc.retry_after if exc.retry_after and exc.retry_after > 0 else 1.0
        return 503, retry
    if isinstance(exc, NetworkError):
        return 503, 1.0
    if isinstance(exc, VenueError | StreamError):
        return 502, None
    return 502, None


def error_body(exc: BaseException) -> dict[str, Any]:
    """The JSON body of an error; never a traceback."""
    if isinstance(exc, ApiError):
        body: dict[str, Any] = {"error": exc.error, "message": exc.message}
        if exc.valid:
            body["valid"] = exc.valid
        return body
    body = {"error": type(exc).__name__, "message": str(exc).splitlines()[0] if str(exc) else ""}
    valid = _valid(exc.cause if isinstance(exc, FetchError) else exc)
    if valid:
        body["valid"] = valid
    if isinstance(exc, FetchError):
        body["cause"] = type(exc.cause).__name__
        body["partial"] = {str(i): jsonable(items) for i, items in sorted(exc.partial.items())}
        body["message"] += " (what was gathered before the failure is under 'partial', by query position)"
    return body


def error_response(exc: BaseException) -> Response:
    status, retry = status_of(exc)
    headers = {"Retry-After": str(max(1, math.ceil(retry)))} if retry is not None else None
    return Response(orjson.dumps(error_body(exc)), status_code=status, headers=headers,
                    media_type="application/json")
