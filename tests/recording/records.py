"""What a recording holds, read back for tests: the meta line of each REST record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tradeflood.recording._format import REST
from tradeflood.recording._reader import open_directory

__all__ = ["rest_metas", "rest_records"]


def rest_records(directory: Path) -> list[tuple[int, dict[str, Any]]]:
    """Each REST record of the recording in ``directory`` as (its ns, its meta: the request, and
    how it ended: ``failed``, ``stopped``, its ``route``...), in recording time order."""
    out = [(r.ns, orjson.loads(r.data.partition(b"\n")[0]))
           for f in open_directory(directory, "rest") for r in f.records() if r.kind == REST]
    return sorted(out, key=lambda item: item[0])


def rest_metas(directory: Path) -> list[dict[str, Any]]:
    """The metas of :func:`rest_records`, in the same order."""
    return [meta for _, meta in rest_records(directory)]
