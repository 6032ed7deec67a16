"""Writing results as CSV or JSON lines, with exact decimals and ISO times kept readable."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any, TextIO

import orjson
from pydantic import BaseModel

__all__ = ["write_csv", "write_jsonl"]


def _row(item: BaseModel) -> dict[str, Any]:
    row = item.model_dump(mode="json")
    for key, value in row.items():
        if isinstance(value, list):  # order-book levels
            row[key] = orjson.dumps(value).decode()
    return row


def write_csv(items: Sequence[BaseModel], out: TextIO) -> None:
    """One header line, then one line per model; decimals as their exact strings."""
    if not items:
        return
    first = _row(items[0])
    writer = csv.DictWriter(out, fieldnames=list(first), lineterminator="\n")
    writer.writeheader()
    writer.writerow(first)
    for item in items[1:]:
        writer.writerow(_row(item))


def write_jsonl(items: Sequence[BaseModel], out: TextIO) -> None:
    """One JSON object per line; decimals as strings, so nothing is rounded."""
    for item in items:
        out.write(orjson.dumps(item.model_dump(mode="json")).decode())
        out.write("\n")
