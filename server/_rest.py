"""REST under ``/v1``: venues, instruments, candles, book, trades, ticker, gather and plan.

Every parameter goes through the library's own :class:`~tradeflood.Query`
before anything is sent; identical requests running at the same time share one
fetch (and the session's executor shares identical upstream requests besides).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response, StreamingResponse

import tradeflood.models as models
from tradeflood import CandleBinding, registry
from tradeflood.errors import FetchError, QueryError
from tradeflood.intervals import interval_ms
from tradeflood.store import CandleStore

from ._encode import FORMATS, candle_chunks, candle_rows, dumps, format_of, gaps_of, jsonable
from ._errors import ApiError
from ._schemas import CandlesOut, ErrorBody, GatherOut, PlanOut, VenueOut
from ._state import ServerState

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["data"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input (the error names the valid choices)."},
    401: {"model": ErrorBody, "description": "No valid API key."},
    404: {"model": ErrorBody, "description": "Unknown symbol."},
    413: {"model": ErrorBody, "description": "Request body too large."},
    429: {"model": ErrorBody, "description": "Over this key's request rate; see Retry-After."},
    502: {"model": ErrorBody, "description": "The venue answered something unusable."},
    503: {"model": ErrorBody, "description": "The venue is rate-limited or down; see Retry-After."},
}
MODEL_NAMES: dict[str, type[models.Model]] = {
    "candle": models.Candle, "book": models.OrderBook, "trade": models.Trade, "trades": models.Trade,
    "ticker": models.Ticker, "instrument": models.Instrument, "instruments": models.Instrument,
    "funding-rate": models.FundingRate, "open-interest": models.OpenInterest,
    "mark-candle": models.MarkCandle, "index-candle": models.IndexCandle,
}
_QUERY_FIELDS = ("exchange", "symbol", "interval", "start", "end", "depth", "limit")


def _state(request: Request) -> ServerState:
    return request.app.state.tradeflood  # type: ignore[no-any-return]


def _json(value: Any, status: int = 200) -> Response:
    return Response(dumps(value), status_code=status, media_type="application/json")


def _time(name: str, value: str | None) -> str | int | None:
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else text


def _int(name: str, value: str | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise QueryError(f"{name}={value!r}: give a positive integer")


def _params(raw: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name in _QUERY_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if name in ("start", "end"):
            value = _time(name, value) if isinstance(value, str) else value
        elif name in ("depth", "limit"):
            value = _int(name, value)
        elif not isinstance(value, str):
            raise QueryError(f"{name}={value!r}: give a string")
        params[name] = value
    return params


async def fetch_shared(state: ServerState, model: type[models.Model], params: dict[str, Any]) -> Any:
    """One query's result; identical concurrent calls share one fetch."""
    query = state.session.query(model, **params)  # checked here, before anything is sent

    async def run() -> Any:
        try:
            return (await state.session.agather(query))[0]
        except FetchError as exc:
            if isinstance(exc.cause, QueryError):
                raise exc.cause from None
            raise

    key = (model.__name__, tuple(sorted((k, str(v)) for k, v in params.items())))
    return await state.shared.run(key, run)


def encode_result(result: Any) -> Any:
    """A fetch result as JSON values: histories as ``{"data", "gaps"}`` (candles with their
    public fields), models as their JSON."""
    candles = isinstance(result, Sequence) and len(result) and isinstance(result[0], models.Candle)
    if candles or (hasattr(result, "gaps") and getattr(result, "model", None) is models.Candle):
        rows = [row for batch in candle_rows(result) for row in batch]
        return {"data": rows, "gaps": gaps_of(result)}
    if hasattr(result, "gaps"):  # another history (funding rates, open interest)
        return {"data": jsonable(list(result)), "gaps": gaps_of(result)}
    return jsonable(result)


@router.get("/venues", response_model=list[VenueOut], responses=ERRORS)
async def venues() -> Response:
    """Venues with their models, candle intervals and rate limits."""
    out = []
    for venue, names in registry.venues().items():
        intervals: list[str] = []
        limits: dict[str, str] = {}
        for (_, v), binding in registry.bindings_for().items():
            if v == venue:
                limits.update({g: f"{lim.count}/{lim.per:g}s" for g, lim in binding.connector.limits.items()
                               if lim.has_window})
                if issubclass(binding, CandleBinding):
                    intervals = list(binding.intervals)
        out.append({"name": venue, "models": list(names), "intervals": intervals, "limits": limits})
    return _json(out)


@router.get("/instruments", response_model=list[dict[str, Any]], responses=ERRORS)
async def instruments(request: Request, exchange: str = Query(description="Venue, e.g. bitget.")) -> Response:
    """The instruments a venue lists, with unified and native symbols."""
    result = await fetch_shared(_state(request), models.Instrument, {"exchange": exchange})
    return _json(jsonable(result))


@router.get("/candles", response_model=CandlesOut, responses={
    **ERRORS, 200: {"content": {m: {} for m in FORMATS.values()},
                    "description": "Candles; `format=` or Accept picks json, jsonl, csv, arrow or parquet."}})
async def candles(
    request: Request,
    exchange: str = Query(description="Venue, e.g. bitget."),
    symbol: str = Query(description="Unified symbol, e.g. BTC/USDT or BTC/USDT:USDT."),
    interval: str = Query(description="1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M."),
    start: str | None = Query(None, description="ISO-8601 with a zone, UTC ms, or relative like -3d."),
    end: str | None = Query(None, description="As start; default now. Exclusive."),
    format: str | None = Query(None, description="json (default), jsonl, csv, arrow or parquet."),
) -> Response:
    """Closed candles of a range (the store answers what it holds), with the gaps the venue left."""
    fmt = format_of(format, request.headers.get("accept"))
    params = _params({"exchange": exchange, "symbol": symbol, "interval": interval, "start": start,
                      "end": end})
    state = _state(request)
    series = _from_store(state, params)
    if series is None:
        series = await fetch_shared(state, models.Candle, params)
    headers = {}
    if fmt != "json":
        headers["X-TradeFlood-Gaps"] = dumps(gaps_of(series)[:100]).decode()
    return StreamingResponse(candle_chunks(series, fmt), media_type=FORMATS[fmt], headers=headers)


def _from_store(state: ServerState, params: dict[str, Any]) -> Any:
    """The whole range straight from the session's store, when it holds every candle of it.

    The store keeps only complete pages of closed candles; a range it covers with a
    candle at every open time needs no plan, no request and has no gaps. Anything
    else (a hole, an open candle, a calendar interval) goes through the fetch.
    """
    store = state.session.store
    if not isinstance(store, CandleStore) or params["interval"] in ("1w", "1M"):
        return None
    query = state.session.query(models.Candle, **params)  # the library's checks, first
    if query.start is None or query.end is None or query.symbol is None or query.interval is None:
        return None
    try:
        bar = interval_ms(query.interval)
    except ValueError:
        return None
    first = -(-query.start // bar) * bar
    expected = max(0, -(-(query.end - first) // bar))
    where = (query.exchange, query.symbol, query.interval, query.start, query.end)
    if not expected or not store.covered(*where):
        return None
    series = store.read_series(query.exchange, query.symbol, query.interval, query.start, query.end)
    return series if len(series) == expected else None


@router.get("/book", response_model=dict[str, Any], responses=ERRORS)
async def book(request: Request, exchange: str = Query(), symbol: str = Query(),
               depth: str | None = Query(None, description="Levels a side.")) -> Response:
    """An order book snapshot: bids and asks as [price, size] strings."""
    params = _params({"exchange": exchange, "symbol": symbol, "depth": depth})
    return _json(jsonable(await fetch_shared(_state(request), models.OrderBook, params)))


@router.get("/trades", response_model=list[dict[str, Any]], responses=ERRORS)
async def trades(request: Request, exchange: str = Query(), symbol: str = Query(),
                 limit: str | None = Query(None, description="How many recent trades.")) -> Response:
    """Recent public trades."""
    params = _params({"exchange": exchange, "symbol": symbol, "limit": limit})
    return _json(jsonable(await fetch_shared(_state(request), models.Trade, params)))


@router.get("/ticker", response_model=dict[str, Any], responses=ERRORS)
async def ticker(request: Request, exchange: str = Query(), symbol: str = Query()) -> Response:
    """The latest price and 24-hour statistics."""
    params = _params({"exchange": exchange, "symbol": symbol})
    return _json(jsonable(await fetch_shared(_state(request), models.Ticker, params)))


def _queries(state: ServerState, body: Any) -> list[Any]:
    if not isinstance(body, list) or not body:
        raise QueryError("give a non-empty JSON list of queries, each like "
                         '{"model": "candle", "exchange": "bitget", "symbol": "BTC/USDT", "interval": "1h"}')
    if len(body) > 100:
        raise QueryError(f"{len(body)} queries: at most 100 per request")
    out = []
    for i, spec in enumerate(body):
        if not isinstance(spec, dict):
            raise QueryError(f"query {i}: give an object, not {type(spec).__name__}")
        model = MODEL_NAMES.get(spec.get("model"))  # type: ignore[arg-type]
        if model is None:
            raise QueryError(f"query {i}: model={spec.get('model')!r}; valid choices: "
                             + ", ".join(MODEL_NAMES))
        unknown = set(spec) - {"model", *_QUERY_FIELDS}
        if unknown:
            raise QueryError(f"query {i}: unknown fields {', '.join(sorted(unknown))}; valid choices: "
                             + ", ".join(("model", *_QUERY_FIELDS)))
        if not isinstance(spec.get("exchange"), str):
            raise QueryError(f"query {i}: give an exchange")
        out.append(state.session.query(model, **_params(spec)))
    return out


_GATHER_BODY = Body(description='A list of queries: [{"model": "candle", "exchange": "bitget", '
                    '"symbol": "BTC/USDT", "interval": "1h", "start": "-1d"}, ...]',
                    examples=[[{"model": "ticker", "exchange": "bitget", "symbol": "BTC/USDT"}]])


@router.post("/gather", response_model=GatherOut, responses=ERRORS)
async def gather(request: Request, body: list[dict[str, Any]] = _GATHER_BODY) -> Response:
    """Run every query in ONE merged plan (shared requests once); results in query order."""
    state = _state(request)
    queries = _queries(state, body)
    results = await state.session.agather(*queries)
    return _json({"results": [encode_result(r) for r in results]})


@router.post("/plan", response_model=PlanOut, responses=ERRORS)
async def plan(request: Request, body: list[dict[str, Any]] = _GATHER_BODY) -> Response:
    """The merged plan of the queries, explained; nothing is sent."""
    state = _state(request)
    p = state.session.plan(*_queries(state, body))
    return _json({"explain": p.explain(), "requests": p.requests, "declared": p.declared,
                  "saved": p.saved, "weight": {f"{v}/{g}": w for (v, g), w in p.weight().items()},
                  "estimated_seconds": p.estimated_seconds()})


def not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", f"no endpoint {path}; see /openapi.json")
