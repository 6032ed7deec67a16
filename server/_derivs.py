"""REST for the derivatives data under ``/v1``: funding rates, open interest, mark and index candles.

``/v1/funding-rate`` and ``/v1/open-interest`` give the current value (one
object) without ``start``/``end``/``limit``, and a history ``{"data", "gaps"}``
with them, as ``fetch`` does. ``/v1/mark-candles`` and ``/v1/index-candles`` are
ranges of bars like ``/v1/candles``, in the same five encodings (``format=`` or
Accept: json, jsonl, csv, arrow, parquet; the gaps in ``X-TradeFlood-Gaps`` when
not JSON), each row with every field of the model.
Liquidations have no REST endpoint on any venue: they are a WebSocket topic.
Every parameter goes through the library's :class:`~tradeflood.Query` first,
so a spot symbol is refused (400) before anything is sent.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

import tradeflood.models as models

from ._encode import FORMATS, dumps, format_of, gaps_of, model_chunks
from ._rest import ERRORS, _json, _params, _state, encode_result, fetch_shared
from ._schemas import GapOut

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["derivatives"])

_SYMBOL = Query(description="A perpetual's unified symbol, e.g. BTC/USDT:USDT (a spot pair is refused).")
_START = Query(None, description="ISO-8601 with a zone, UTC ms, or relative like -3d: asks for the history.")
_END = Query(None, description="As start; default now. Exclusive.")
_LIMIT = Query(None, description="The last N rows of the history.")


class FundingRateRow(BaseModel):
    exchange: str
    symbol: str
    native_symbol: str
    funding_time: int = Field(description="UTC ms of the funding the rate applies to.")
    rate: str
    timestamp: int | None = Field(None, description="When the venue stated a current rate (UTC ms).")
    next_rate: str | None = None
    next_funding_time: int | None = None
    mark_price: str | None = None
    index_price: str | None = None
    interval_ms: int | None = Field(None, description="The funding interval, where the venue states it.")


class FundingHistoryOut(BaseModel):
    data: list[FundingRateRow]
    gaps: list[GapOut]


class OpenInterestRow(BaseModel):
    exchange: str
    symbol: str
    native_symbol: str
    timestamp: int
    size: str = Field(description="In the base coin.")
    value: str | None = Field(None, description="In the quote coin, where the venue gives it.")
    interval: str | None = Field(None, description="A history row's period.")


class OpenInterestHistoryOut(BaseModel):
    data: list[OpenInterestRow]
    gaps: list[GapOut]


class PriceCandleRow(BaseModel):
    exchange: str
    symbol: str
    native_symbol: str
    interval: str
    open_time: int = Field(description="UTC milliseconds.")
    open: str
    high: str
    low: str
    close: str
    closed: bool
    close_time: int


class PriceCandlesOut(BaseModel):
    data: list[PriceCandleRow]
    gaps: list[GapOut]


@router.get("/funding-rate", response_model=FundingRateRow | FundingHistoryOut, responses=ERRORS)
async def funding_rate(request: Request, exchange: str = Query(description="Venue, e.g. okx."),
                       symbol: str = _SYMBOL, start: str | None = _START, end: str | None = _END,
                       limit: str | None = _LIMIT) -> Response:
    """The current funding rate (the coming funding; mark, index and interval where the venue gives
    them), or with ``start``/``end``/``limit`` the settled rates of a range and the gaps."""
    params = _params({"exchange": exchange, "symbol": symbol, "start": start, "end": end, "limit": limit})
    return _json(encode_result(await fetch_shared(_state(request), models.FundingRate, params)))


@router.get("/open-interest", response_model=OpenInterestRow | OpenInterestHistoryOut, responses=ERRORS)
async def open_interest(request: Request, exchange: str = Query(description="Venue, e.g. bybit."),
                        symbol: str = _SYMBOL,
                        interval: str | None = Query(None, description="A history's period, e.g. 5m, 1h."),
                        start: str | None = _START, end: str | None = _END,
                        limit: str | None = _LIMIT) -> Response:
    """The open interest now, or with ``start``/``end``/``limit`` (and ``interval``) its history."""
    params = _params({"exchange": exchange, "symbol": symbol, "interval": interval, "start": start,
                      "end": end, "limit": limit})
    return _json(encode_result(await fetch_shared(_state(request), models.OpenInterest, params)))


_FORMAT = Query(None, description="json (default), jsonl, csv, arrow or parquet.")
_INTERVAL = Query(description="1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M.")
_BARS = {**ERRORS, 200: {"content": {m: {} for m in FORMATS.values()},
                         "description": "Bars; `format=` or Accept picks json, jsonl, csv, arrow, parquet."}}


async def _price_candles(request: Request, model: type[models.Model], exchange: str, symbol: str,
                         interval: str, start: str | None, end: str | None, fmt: str | None) -> Response:
    chosen = format_of(fmt, request.headers.get("accept"))  # a bad format is refused before any fetch
    params = _params({"exchange": exchange, "symbol": symbol, "interval": interval, "start": start,
                      "end": end})
    series = await fetch_shared(_state(request), model, params)
    if chosen == "json":
        return _json(encode_result(series))
    headers = {"X-TradeFlood-Gaps": dumps(gaps_of(series)[:100]).decode()}
    return StreamingResponse(model_chunks(series, model, chosen), media_type=FORMATS[chosen], headers=headers)


@router.get("/mark-candles", response_model=PriceCandlesOut, responses=_BARS)
async def mark_candles(request: Request, exchange: str = Query(description="Venue, e.g. binance."),
                       symbol: str = _SYMBOL, interval: str = _INTERVAL, start: str | None = _START,
                       end: str | None = _END, format: str | None = _FORMAT) -> Response:
    """Mark-price bars of a range (the last one may be forming: ``closed`` false), with the gaps."""
    return await _price_candles(request, models.MarkCandle, exchange, symbol, interval, start, end, format)


@router.get("/index-candles", response_model=PriceCandlesOut, responses=_BARS)
async def index_candles(request: Request, exchange: str = Query(description="Venue, e.g. binance."),
                        symbol: str = _SYMBOL, interval: str = _INTERVAL, start: str | None = _START,
                        end: str | None = _END, format: str | None = _FORMAT) -> Response:
    """Index-price bars of a range (the last one may be forming: ``closed`` false), with the gaps."""
    return await _price_candles(request, models.IndexCandle, exchange, symbol, interval, start, end, format)
