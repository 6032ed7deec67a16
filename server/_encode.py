"""Models out as bytes: JSON (decimals as strings, times in ms), and candle ranges (trade,
mark and index candles) in five encodings.

A long candle range is written batch by batch from the series' Arrow table, so
a year of 1m candles is never held a second time as JSON or CSV text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

import orjson
from pydantic import BaseModel

from tradeflood.errors import QueryError
from tradeflood.models import Model

__all__ = ["CANDLE_FIELDS", "FORMATS", "candle_chunks", "dumps", "format_of", "jsonable", "model_chunks"]

CANDLE_FIELDS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "closed")
FORMATS = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "arrow": "application/vnd.apache.arrow.stream",
    "parquet": "application/vnd.apache.parquet",
}
_ACCEPT = {media: name for name, media in FORMATS.items()} | {"application/jsonl": "jsonl",
                                                                "application/parquet": "parquet"}
_BATCH = 20_000


def jsonable(value: Any) -> Any:
    """A model (or list of models, or event dataclass) as plain JSON values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):  # lists, tradeflood.Series
        return [jsonable(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def format_of(fmt: str | None, accept: str | None) -> str:
    """The encoding asked for: ``format=`` first, then the Accept header, else JSON."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise QueryError(f"format={fmt!r}: choose one of {', '.join(FORMATS)}; valid choices: "
                             + ", ".join(FORMATS))
        return fmt
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in _ACCEPT:
            return _ACCEPT[media]
    return "json"


def candle_rows(series: Sequence[Any]) -> Iterator[list[dict[str, Any]]]:
    """The candle series in batches of row dicts with the public fields only."""
    table = getattr(series, "table", None)
    if table is None:
        for start in range(0, len(series), _BATCH):
            yield [{k: v for k, v in c.model_dump(mode="json").items() if k in CANDLE_FIELDS}
                   for c in series[start:start + _BATCH]]
        return
    import pyarrow as pa
    import pyarrow.compute as pc

    for batch in table.select(list(CANDLE_FIELDS)).to_batches(_BATCH):
        cols: list[list[Any]] = []
        for name in CANDLE_FIELDS:
            col = batch.column(name)
            if name == "open_time":
                col = col.cast(pa.int64())
            elif name != "closed":
                col = pc.cast(col, pa.string())
            cols.append(col.to_pylist())
        yield [dict(zip(CANDLE_FIELDS, row, strict=True)) for row in zip(*cols, strict=True)]


def gaps_of(series: Any) -> list[dict[str, int]]:
    return [{"start": g.start, "end": g.end, "missing": g.missing} for g in getattr(series, "gaps", ())]


def candle_chunks(series: Any, fmt: str) -> Iterator[bytes]:
    """The encoded candle series, chunk by chunk."""
    if fmt == "json":
        yield b'{"data":['
        first = True
        for rows in candle_rows(series):
            if rows:
                body = orjson.dumps(rows)[1:-1]
                yield body if first else b"," + body
                first = False
        yield b'],"gaps":' + orjson.dumps(gaps_of(series)) + b"}"
    elif fmt == "jsonl":
        for rows in candle_rows(series):
            yield b"".join(orjson.dumps(r) + b"\n" for r in rows)
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(CANDLE_FIELDS), lineterminator="\n")
        writer.writeheader()
        for rows in candle_rows(series):
            writer.writerows(rows)
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
        if out.tell():
            yield out.getvalue().encode()
    else:
        yield from _columnar(series, fmt)


def model_chunks(series: Any, model: type[Model], fmt: str) -> Iterator[bytes]:
    """A history of other models (mark and index candles) encoded whole: JSON as
    ``{"data", "gaps"}`` with every field of the model, JSON lines and CSV one row per
    model (CSV's header is the model's fields, so an empty range still names them),
    Arrow and Parquet with the model's exact decimal columns."""
    if fmt == "json":
        yield orjson.dumps({"data": jsonable(list(series)), "gaps": gaps_of(series)})
    elif fmt == "jsonl":
        for start in range(0, len(series), _BATCH):
            yield b"".join(orjson.dumps(m.model_dump(mode="json")) + b"\n"
                           for m in series[start:start + _BATCH])
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*model.model_fields, *model.model_computed_fields],
                                lineterminator="\n")
        writer.writeheader()
        for start in range(0, len(series), _BATCH):
            writer.writerows(m.model_dump(mode="json") for m in series[start:start + _BATCH])
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
        if out.tell():
            yield out.getvalue().encode()
    elif len(series):
        yield from _columnar(series, fmt)
    else:  # no row: the model's empty table, so the reader still learns the columns
        from tradeflood.columnar import arrow_schema

        yield from _table_chunks(arrow_schema(model).empty_table(), fmt)


class _Chunks(io.RawIOBase):
    """A write-only file whose writes are collected and handed on in chunks."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.parts.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _columnar(series: Any, fmt: str) -> Iterator[bytes]:
    table = series.to_arrow() if hasattr(series, "to_arrow") else None
    if table is None:
        from tradeflood.columnar import to_arrow

        table = to_arrow(list(series))
    yield from _table_chunks(table, fmt)


def _table_chunks(table: Any, fmt: str) -> Iterator[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = _Chunks()
    if fmt == "arrow":
        with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), table.schema) as writer:
            for batch in table.to_batches(_BATCH * 5):
                writer.write_batch(batch)
                yield sink.take()
    else:
        with pq.ParquetWriter(pa.PythonFile(sink, mode="w"), table.schema) as writer:
            for batch in table.to_batches(_BATCH * 5):
                writer.write_batch(batch)
                yield sink.take()
    yield sink.take()
