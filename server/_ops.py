"""Operations: liveness, readiness with rate-limit headroom, Prometheus metrics, the status page."""

from __future__ import annotations

import asyncio
import time
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import tradeflood.models as models
from tradeflood import registry

from ._rest import ERRORS, _json, _state
from ._state import ServerState

__all__ = ["router"]

router = APIRouter(tags=["operations"])
ONLINE_HEADROOM = 0.1  # a venue within 10% of any limit is not online (the seeds' isOnline)
_PROBE_EVERY = 10.0


async def _reachable(state: ServerState, venue: str) -> tuple[bool | None, str | None]:
    """Whether ``venue`` answers: its instrument list (once per session), then a ticker every 10 s.
    None for a venue with no instrument list to probe (a plugin's venue, say)."""
    if (models.Instrument, venue) not in registry.bindings_for(models.Instrument):
        return None, "no instrument list to probe this venue with"
    cached = state.probes.get(venue)
    now = time.monotonic()
    if cached is not None and now - cached[0] < _PROBE_EVERY:
        return cached[1], cached[2]
    try:
        async with asyncio.timeout(5):
            listed = await state.session.afetch(models.Instrument, exchange=venue)
            if listed:
                await state.session.afetch(models.Ticker, exchange=venue, symbol=listed[0].symbol)
        result: tuple[bool | None, str | None] = (True, None)
    except TimeoutError:
        result = (False, "no answer within 5 s")
    except Exception as exc:
        result = (False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    state.probes[venue] = (now, *result)
    return result


@router.get("/healthz", responses={200: {"content": {"application/json": {}}}})
async def healthz() -> Response:
    """Alive: the process answers."""
    return _json({"status": "ok"})


@router.get("/readyz", responses={503: {"description": "Not ready: a venue is unreachable or near a limit.",
                                          "content": {"application/json": {}}}})
async def readyz(request: Request) -> Response:
    """Ready: every venue reachable, and not close to any of its rate limits."""
    state = _state(request)
    headroom = state.session.headroom()
    venues = sorted(registry.venues())
    checks = await asyncio.gather(*(_reachable(state, v) for v in venues))
    out: dict[str, Any] = {}
    for venue, (ok, error) in zip(venues, checks, strict=True):
        groups = headroom.get(venue, {})
        lowest = min(groups.values(), default=1.0)
        out[venue] = {"reachable": ok, "error": error, "headroom": groups,
                      "online": ok is not False and lowest >= ONLINE_HEADROOM}
    ready = all(v["online"] for v in out.values()) and not state.stopping
    return _json({"ready": ready, "venues": out}, 200 if ready else 503)


@router.get("/metrics", response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
async def metrics(request: Request) -> Response:
    """Prometheus text: requests, 429s, retries, headroom, streams, clients, queues, callbacks, latency."""
    return Response(generate_latest(_state(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/status", responses=ERRORS)
async def status(request: Request) -> Response:
    """What the status page shows: health, headroom, upstream subscriptions, proxies, callbacks."""
    state = _state(request)
    proxies = state.session.proxies.health() if state.session.proxies is not None else None
    return _json({
        "status": "stopping" if state.stopping else "ok",
        "uptime_s": round(time.time() - state.started, 1),
        "headroom": state.session.headroom(),
        "hub": state.session.stream_stats(),
        "topics": state.topics.describe(),
        "clients": len(state.connections),
        "proxies": proxies,
        "callbacks": [c.describe() for c in state.callbacks.all.values()],
        "upstream": {"requests": state.session.stats.requests, "retries": state.session.stats.retries,
                     "rate_limited": state.session.stats.rate_limited},
    })


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse(_static("index.html"))


@router.get("/static/status.js", include_in_schema=False)
async def script() -> Response:
    return Response(_static("status.js"), media_type="text/javascript")


def _static(name: str) -> str:
    return resources.files("tradeflood.server").joinpath("static", name).read_text()
