"""The ASGI layer in front of every endpoint: API keys, per-key rates, body bounds, logs, metrics.

One JSON log line per request (logger ``tradeflood.server.access``), and the
request counters and latency histogram by venue, endpoint and status.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import ApiError, error_response

if TYPE_CHECKING:
    from ._state import ServerState

__all__ = ["Guard"]

access = logging.getLogger("tradeflood.server.access")
OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/", "/static/status.js", "/openapi.json", "/docs",
              "/docs/oauth2-redirect", "/redoc")


class _TooLarge(Exception):
    pass


class Guard:
    """Checks keys and limits before the app sees a request; logs and counts it after."""

    def __init__(self, app: ASGIApp, state_of: Any) -> None:
        self.app = app
        self.state_of = state_of  # () -> ServerState, once the app has started

    def _key(self, state: ServerState, scope: Scope) -> tuple[str | None, bool]:
        """The API key presented (None if none), and whether it is acceptable."""
        token = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                text = value.decode("latin-1")
                if text[:7].lower() == "bearer ":
                    token = text[7:].strip()
        if token is None and scope["type"] == "websocket":
            token = (parse_qs(scope.get("query_string", b"").decode()).get("token") or [None])[0]
        keys = state.settings.api_keys
        if not keys:
            return token, True
        ok = token is not None and any(hmac.compare_digest(token, k) for k in keys)
        return token, ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state: ServerState = self.state_of()
        path = scope["path"]
        guarded = path not in OPEN_PATHS
        token, ok = self._key(state, scope)
        client = scope.get("client") or ("?", 0)
        keyed = bool(token and ok and state.settings.api_keys)
        who = (f"key:{hashlib.sha256(token.encode()).hexdigest()[:12]}" if keyed and token
               else f"addr:{client[0]}")
        scope["tradeflood.key"] = who
        if scope["type"] == "websocket":
            if guarded and not ok:
                await send({"type": "websocket.close", "code": 1008, "reason": "a valid API key is needed"})
                return
            if state.stopping:
                await send({"type": "websocket.close", "code": 1001, "reason": "server shutting down"})
                return
            await self.app(scope, receive, send)
            return
        await self._http(state, scope, receive, send, guarded, ok, who)

    async def _http(self, state: ServerState, scope: Scope, receive: Receive, send: Send, guarded: bool,
                    ok: bool, who: str) -> None:
        started = time.perf_counter()
        status = {"code": 500}
        path = scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
        venue = (query.get("exchange") or ["-"])[0][:32]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            refusal = self._refuse(state, scope, guarded, ok, who)
            if refusal is not None:
                await error_response(refusal)(scope, receive, sending)
                return
            limit = state.settings.max_body_bytes
            seen = 0

            async def receiving() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise _TooLarge
                return message

            try:
                await self.app(scope, receiving, sending)
            except _TooLarge:
                await error_response(_too_large(limit))(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            endpoint = path if path.startswith(("/v1/", "/healthz", "/readyz", "/metrics")) else "other"
            if endpoint.startswith("/v1/callbacks/"):
                endpoint = "/v1/callbacks/{id}"
            state.metrics.requests.labels(venue, endpoint, str(status["code"])).inc()
            state.metrics.latency.labels(endpoint).observe(elapsed)
            access.info("request", extra={"method": scope["method"], "path": path, "status": status["code"],
                                          "ms": round(elapsed * 1000, 2), "venue": venue, "client": who})

    def _refuse(self, state: ServerState, scope: Scope, guarded: bool, ok: bool, who: str) -> ApiError | None:
        if guarded and not ok and scope["method"] != "OPTIONS":  # CORS preflights carry no key
            return ApiError(401, "Unauthorized", "give a valid API key: 'Authorization: Bearer <key>'")
        length = dict(scope.get("headers", ())).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > state.settings.max_body_bytes:
            return _too_large(state.settings.max_body_bytes)
        if guarded and scope["path"].startswith("/v1/"):
            wait = state.limits.take(who)
            if wait is not None:
                return ApiError(429, "TooManyRequests",
                                f"over {state.settings.requests_per_second:g} requests/s for this key",
                                retry_after=wait)
        return None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "RequestTooLarge", f"the request body is over {limit} bytes")
