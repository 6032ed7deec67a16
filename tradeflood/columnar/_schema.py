"""What column each model field becomes: read from the pydantic fields, once per model class.

A field is one of a few column kinds: ``timestamp`` (int UTC ms, the models'
``TimestampMs``), ``decimal`` (``Decimal``: prices, sizes, steps), ``int``,
``bool``, ``category`` (repetitive text: exchange, symbols, interval, Literal
fields) or ``text`` (anything else textual, such as trade ids).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from tradeflood.models import Model, to_ms

__all__ = ["Column", "columns_of"]

#: Text fields whose values repeat down a column; they become dictionary-encoded columns.
CATEGORY_FIELDS = frozenset({"exchange", "symbol", "native_symbol", "interval", "base", "quote", "settle"})


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a model's table: the field name, its kind, and whether it may be null."""

    name: str
    kind: str
    nullable: bool
    computed: bool = False


def _kind(name: str, annotation: Any, metadata: list[Any]) -> tuple[str, bool]:
    nullable = False
    for meta in metadata:
        if getattr(meta, "func", None) is to_ms:
            return "timestamp", nullable
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"field {name!r} ({annotation}) has no columnar form")
        kind, _ = _kind(name, args[0], metadata)
        return kind, True
    if origin is Annotated:
        inner, *extra = typing.get_args(annotation)
        return _kind(name, inner, [*metadata, *extra])
    if origin is Literal:
        return "category", nullable
    if annotation is Decimal:
        return "decimal", nullable
    if annotation is bool:
        return "bool", nullable
    if annotation is int:
        return "int", nullable
    if annotation is str:
        return ("category" if name in CATEGORY_FIELDS else "text"), nullable
    if origin is tuple:
        return "levels", nullable
    raise TypeError(f"field {name!r} ({annotation}) has no columnar form")


_COLUMNS: dict[type[Model], tuple[Column, ...]] = {}


def columns_of(model: type[Model]) -> tuple[Column, ...]:
    """The columns of ``model``'s table, fields first, then computed fields (``close_time``).

    A computed int field named ``*_time`` is a timestamp.

    >>> from tradeflood.models import Trade
    >>> [(c.name, c.kind) for c in columns_of(Trade)][3:6]
    [('id', 'text'), ('timestamp', 'timestamp'), ('price', 'decimal')]
    """
    if model in _COLUMNS:
        return _COLUMNS[model]
    out = []
    for name, info in model.model_fields.items():
        kind, nullable = _kind(name, info.annotation, list(info.metadata))
        out.append(Column(name, kind, nullable or info.default is None))
    for name, computed in model.model_computed_fields.items():
        kind, nullable = _kind(name, computed.return_type, [])
        if kind == "int" and name.endswith("_time"):
            kind = "timestamp"
        out.append(Column(name, kind, nullable, computed=True))
    _COLUMNS[model] = tuple(out)
    return _COLUMNS[model]
