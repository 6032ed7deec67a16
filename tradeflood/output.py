"""Writing results as CSV, JSON lines or Parquet, with exact decimals kept exact."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import orjson
from pydantic import BaseModel

from .errors import TradeFloodError

__all__ = ["check_writable", "write_csv", "write_file", "write_jsonl", "write_stream"]


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


def write_stream(items: Sequence[BaseModel], out: TextIO, fmt: str) -> None:
    (write_jsonl if fmt == "jsonl" else write_csv)(items, out)


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


def write_file(items: Sequence[BaseModel], path: Path) -> None:
    """Write by the file's suffix: .csv, .jsonl or .parquet (Parquet needs pyarrow).

    The file is written next to its final name and moved into place, so a failed
    write never leaves half a file behind.
    """
    check_writable(path)
    suffix = path.suffix.lower()
    tmp = path.with_name(f".{path.name}.partial")
    try:
        if suffix == ".parquet":
            _write_parquet(items, tmp)
        else:
            with tmp.open("w", newline="") as out:
                write_stream(items, out, suffix[1:])
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TradeFloodError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_parquet(items: Sequence[BaseModel], path: Path) -> None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise TradeFloodError("writing Parquet needs pyarrow: pip install pyarrow") from None
    from .columnar import to_arrow

    pq.write_table(to_arrow(items), path)
