"""The JSON shapes of the API, for the OpenAPI document (endpoints write the bytes themselves)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "CallbackIn",
    "CallbackOut",
    "CandleRow",
    "CandlesOut",
    "ErrorBody",
    "GapOut",
    "GatherOut",
    "PlanOut",
    "PollOut",
    "VenueOut",
]


class ErrorBody(BaseModel):
    error: str = Field(description="The TradeFlood error class (or the server's own error name).")
    message: str
    valid: list[str] | None = Field(None, description="The valid choices, when there are some.")
    cause: str | None = None
    partial: dict[str, Any] | None = Field(
        None, description="For a fetch that failed part way: what was gathered, by query position.")


class CandleRow(BaseModel):
    open_time: int = Field(description="UTC milliseconds.")
    open: str
    high: str
    low: str
    close: str
    volume: str
    quote_volume: str | None
    closed: bool


class GapOut(BaseModel):
    start: int
    end: int
    missing: int


class CandlesOut(BaseModel):
    data: list[CandleRow]
    gaps: list[GapOut]


class VenueOut(BaseModel):
    name: str
    models: list[str]
    intervals: list[str]
    limits: dict[str, str]


class GatherOut(BaseModel):
    results: list[Any]


class PlanOut(BaseModel):
    explain: str
    requests: int
    declared: int
    saved: int
    weight: dict[str, int]
    estimated_seconds: float


class PollOut(BaseModel):
    items: list[dict[str, Any]]
    cursor: str
    missed: int = 0


class CallbackIn(BaseModel):
    url: str
    subscription: dict[str, Any]
    batch_ms: int = Field(1000, ge=10, le=600_000)
    secret: str = Field(min_length=8, max_length=512)


class CallbackOut(BaseModel):
    id: str
    url: str
    subscription: dict[str, Any]
    batch_ms: int
    state: str
    deliveries: int
    failures: int
    attempts: int
    items_delivered: int
    lost: int
    pending: int
    last_error: str | None
    last_delivery_ms: int | None
