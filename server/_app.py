"""``create_app(settings)``: the ASGI app over one shared :class:`~tradeflood.Session`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette.exceptions import HTTPException

import tradeflood
from tradeflood.errors import TradeFloodError

from . import _derivs, _live, _ops, _rest
from ._errors import ApiError, error_response
from ._guard import Guard
from ._settings import ServerSettings
from ._state import ServerState
from ._ws import serve_socket

__all__ = ["create_app"]

log = logging.getLogger("tradeflood.server")


def create_app(settings: ServerSettings | None = None, *,
               session: tradeflood.Session | None = None) -> FastAPI:
    """The server as an ASGI app. It opens its own Session (venue URLs from the settings and the
    ``TRADEFLOOD_*`` environment) when it starts, unless given one to share (not closed by the app)."""
    settings = settings or ServerSettings.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = session is None
        s = session or tradeflood.Session(urls=settings.urls or None, store=settings.store)
        state = ServerState(settings, s, owns_session=own)
        app.state.tradeflood = state
        log.info("tradeflood server ready")
        try:
            yield
        finally:
            await state.aclose()
            log.info("tradeflood server stopped")

    app = FastAPI(title="TradeFlood", version=tradeflood.__version__, lifespan=lifespan,
                  description="Market data from trading venues over one shared session: REST, one "
                              "WebSocket for many subscriptions, long-poll and signed callbacks.")
    app.include_router(_rest.router)
    app.include_router(_derivs.router)
    app.include_router(_live.router)
    app.include_router(_ops.router)

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket) -> None:
        await serve_socket(ws.app.state.tradeflood, ws)

    async def library_error(request: Request, exc: Exception) -> Response:
        return error_response(exc)

    async def bad_input(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                             for e in exc.errors()[:5])
        return error_response(ApiError(400, "QueryError", problems or "invalid request"))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        name = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return error_response(ApiError(exc.status_code, name, str(exc.detail)))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(ApiError(500, "InternalError", "the server failed unexpectedly; it is logged"))

    app.add_exception_handler(TradeFloodError, library_error)
    app.add_exception_handler(ApiError, library_error)
    app.add_exception_handler(ValueError, library_error)
    app.add_exception_handler(RequestValidationError, bad_input)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(Guard, state_of=lambda: app.state.tradeflood)
    return app


