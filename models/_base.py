"""What every model shares: frozen pydantic, exact decimals, UTC millisecond timestamps."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import repeat
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict

__all__ = ["Model", "Price", "Size", "TimestampMs", "ms_to_datetime", "to_ms", "trusted_batch",
           "trusted_builder", "trusted_setters"]


def to_ms(value: Any) -> int:
    """Normalise a timestamp to integer UTC milliseconds; aware datetimes only."""
    if isinstance(value, bool):
        raise TypeError("a timestamp must be integer milliseconds or an aware datetime, not bool")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} is ambiguous; give it a timezone (e.g. UTC)"
            )
        return int(value.timestamp() * 1000)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise TypeError(f"a timestamp must be integer milliseconds or an aware datetime, not {value!r}")


def ms_to_datetime(ms: int) -> datetime:
    """Integer UTC milliseconds as an aware datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _to_decimal(value: Any) -> Any:
    # Floats are refused: their binary value is rarely the price the venue sent.
    if isinstance(value, float):
        raise TypeError(f"{value!r} is a float; give prices and sizes as str or Decimal")
    if isinstance(value, str | int) and not isinstance(value, bool):
        return Decimal(value)
    return value


TimestampMs = Annotated[int, BeforeValidator(to_ms)]
Price = Annotated[Decimal, BeforeValidator(_to_decimal)]
Size = Annotated[Decimal, BeforeValidator(_to_decimal)]


class Model(BaseModel):
    """Base of every market-data model: immutable, exact, venue-neutral.

    ``exchange`` names the venue, ``symbol`` is the unified symbol (``BTC/USDT``
    spot, ``BTC/USDT:USDT`` linear perpetual) and ``native_symbol`` the venue's
    own id for it (``BTCUSDT``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange: str
    symbol: str
    native_symbol: str


M = TypeVar("M", bound=BaseModel)

#: What pydantic sets on every instance, as the slots' own setters (no __setattr__).
_SLOT_SETTERS = tuple(BaseModel.__dict__[name].__set__ for name in (
    "__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"))


def trusted_setters() -> tuple[Callable[[Any, Any], None], ...]:
    """The four slot setters :func:`trusted_builder` calls on each new instance (``__dict__``,
    the fields-set, extra, private), for the one parser hot enough to build its models in line
    (a live trade event: a Python call per trade counts there). Same trust and same steps as
    :func:`trusted_builder`: ``obj = object.__new__(cls)``, then the dict of every field, the
    shared ``set(cls.model_fields)``, ``None`` and ``None``; models without private attributes only."""
    return _SLOT_SETTERS


def trusted_builder(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """A constructor for field values a parser has already checked, for hot parse loops.

    It does what ``model_construct`` does (no re-validation) without its per-call
    overhead, which costs more than the rest of a candle's parse. The dict must
    hold every field, already of the right type. Every instance shares one
    fields-set; pydantic copies it before changing it (``model_copy``), so that is
    safe. Falls back to ``model_construct`` for models with private attributes.
    """
    fields = set(cls.model_fields)
    new = object.__new__
    set_dict, set_fields, set_extra, set_private = _SLOT_SETTERS

    def build(values: dict[str, Any]) -> M:
        obj = new(cls)
        set_dict(obj, values)
        set_fields(obj, fields)
        set_extra(obj, None)
        set_private(obj, None)
        return obj

    def construct(values: dict[str, Any]) -> M:
        return cls.model_construct(**values)

    return build if not cls.__private_attributes__ else construct


def trusted_batch(cls: type[M]) -> Callable[[Sequence[dict[str, Any]]], list[M]]:
    """:func:`trusted_builder` for a whole page at once: models from a list of field dicts, each
    step run over every dict in C (no Python call per model). The same trust: every field,
    already checked and of the right type."""
    if cls.__private_attributes__:
        one = trusted_builder(cls)
        return lambda values: [one(v) for v in values]
    fields = set(cls.model_fields)
    new = object.__new__
    set_dict, set_fields, set_extra, set_private = _SLOT_SETTERS

    def build(values: Sequence[dict[str, Any]]) -> list[M]:
        n = len(values)
        out: list[M] = list(map(new, repeat(cls, n)))
        deque(map(set_dict, out, values), 0)
        deque(map(set_fields, out, repeat(fields, n)), 0)
        deque(map(set_extra, out, repeat(None, n)), 0)
        deque(map(set_private, out, repeat(None, n)), 0)
        return out

    return build
