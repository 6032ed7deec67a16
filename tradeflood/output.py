"""Writing results as CSV, JSON lines or Parquet, with exact decimals kept exact."""

from __future__ import annotations

import csv
import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson
from pydantic import BaseModel, BeforeValidator

from .errors import TradeFloodError

if TYPE_CHECKING:
    from tradeflood.models import Model

__all__ = ["check_writable", "iso_ms", "time_fields", "write_csv", "write_file", "write_jsonl",
           "write_stream"]


def iso_ms(ms: int) -> str:
    """UTC milliseconds as ISO-8601 with milliseconds and a ``Z``: ``2024-01-01T00:00:00.000Z``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@functools.cache
def time_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The model's UTC-millisecond fields: those parsed as timestamps, and computed ``*_time`` ones."""
    from tradeflood.models import to_ms

    stamped = [name for name, info in model.model_fields.items()
               if any(isinstance(m, BeforeValidator) and m.func is to_ms for m in info.metadata)]
    computed = [name for name in model.model_computed_fields if name.endswith("_time")]
    return (*stamped, *computed)


def _row(item: BaseModel, iso: bool = False) -> dict[str, Any]:
    dumped = item.model_dump(mode="json")
    times = time_fields(type(item)) if iso else ()
    row: dict[str, Any] = {}
    for key, value in dumped.items():
        row[key] = orjson.dumps(value).decode() if isinstance(value, list) else value  # book levels
        if key in times and isinstance(value, int):
            row[f"{key}_iso"] = iso_ms(value)
    return row


def write_csv(items: Sequence[BaseModel], out: TextIO, *, iso: bool = False) -> None:
    """One header line, then one line per model; decimals as their exact strings.

    ``iso`` adds an ISO-8601 UTC column after each millisecond time (``open_time_iso``).
    """
    if not items:
        return
    first = _row(items[0], iso)
    writer = csv.DictWriter(out, fieldnames=list(first), lineterminator="\n")
    writer.writeheader()
    writer.writerow(first)
    for item in items[1:]:
        writer.writerow(_row(item, iso))


def write_jsonl(items: Sequence[BaseModel], out: TextIO, *, iso: bool = False) -> None:
    """One JSON object per line; decimals as strings, so nothing is rounded.

    ``iso`` adds an ISO-8601 UTC field after each millisecond time (``"timestamp_iso"``).
    """
    for item in items:
        row = item.model_dump(mode="json")
        if iso:
            for key in time_fields(type(item)):
                if isinstance(row.get(key), int):
                    row[f"{key}_iso"] = iso_ms(row[key])
        out.write(orjson.dumps(row).decode())
        out.write("\n")


def write_stream(items: Sequence[BaseModel], out: TextIO, fmt: str, *, iso: bool = False) -> None:
    (write_jsonl if fmt == "jsonl" else write_csv)(items, out, iso=iso)


def check_writable(path: Path) -> None:
    """Refuse an output path before any work is done: bad suffix, missing or read-only folder."""
    if path.suffix.lower() not in (".csv", ".jsonl", ".parquet"):
        raise TradeFloodError(f"cannot write {path}: use a .csv, .jsonl or .parquet file name")
    folder = path.parent
    if not folder.is_dir():
        raise TradeFloodError(f"cannot write {path}: folder {folder} does not exist")
    import os

    if not os.access(folder, os.W_OK):
        raise TradeFloodError(f"cannot write {path}: folder {folder} is not writable")


def write_file(items: Sequence[Model], path: Path, *, iso: bool = False) -> None:
    """Write by the file's suffix: .csv, .jsonl or .parquet (Parquet needs pyarrow).

    The file is written next to its final name and moved into place, so a failed
    write never leaves half a file behind. ``iso`` adds ISO-8601 time columns to
    CSV and JSON lines (Parquet keeps its own timestamp types).
    """
    check_writable(path)
    suffix = path.suffix.lower()
    tmp = path.with_name(f".{path.name}.partial")
    try:
        if suffix == ".parquet":
            _write_parquet(items, tmp)
        else:
            with tmp.open("w", newline="") as out:
                write_stream(items, out, suffix[1:], iso=iso)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TradeFloodError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_parquet(items: Sequence[Model], path: Path) -> None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise TradeFloodError("writing Parquet needs pyarrow: pip install pyarrow") from None
    from .columnar import to_arrow

    pq.write_table(to_arrow(items), path)
