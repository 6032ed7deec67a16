"""Instrument: a market a venue lists, with its unified and native symbols."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from ._base import Model, Size, TimestampMs

__all__ = ["Instrument"]


class Instrument(Model):
    """A listed market: ``kind`` is ``spot`` or ``linear`` (a perpetual settled in the quote).

    ``tick_size`` and ``step_size`` are the price and amount increments;
    ``contract_size`` is the base amount of one contract (1 for spot).
    """

    kind: Literal["spot", "linear", "inverse"]
    base: str
    quote: str
    settle: str | None = None
    active: bool = True
    tick_size: Decimal | None = None
    step_size: Decimal | None = None
    min_amount: Size | None = None
    contract_size: Decimal = Decimal(1)
    listed_at: TimestampMs | None = None
