"""Bitget's order-book rules: the ``books`` channel's sync dialect and its checksum.

Bitget (v2 ``books`` channel) sends a CRC32 of the top 25 levels of each side
with every snapshot and update. The checked string interleaves the sides, best
first, ``bid1:ask1:bid2:ask2:...`` where each level is ``price:size`` spelled
exactly as the venue sent it; once the shorter side runs out the longer side
continues alone. The venue's value is the CRC32 read as a *signed* 32-bit
integer::

    bitget_checksum([("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")])
    # the CRC32 of "3366.1:7:3366.8:9:3368:8:3372:8", read as a signed 32-bit int
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import ClassVar, Literal

from tradeflood.streams import BookDelta, BookSync, LocalBook, SequenceGap

__all__ = ["BITGET_CHECKSUM_DEPTH", "BitgetBookSync", "bitget_checksum", "bitget_checksum_text", "signed32"]

BITGET_CHECKSUM_DEPTH = 25

TextLevel = tuple[str, str]


def signed32(value: int) -> int:
    """An unsigned 32-bit value (what ``zlib.crc32`` returns) read as a signed 32-bit integer."""
    value &= 0xFFFFFFFF
    return value - 0x1_0000_0000 if value & 0x8000_0000 else value


def bitget_checksum_text(bids: Sequence[TextLevel], asks: Sequence[TextLevel],
                         depth: int = BITGET_CHECKSUM_DEPTH) -> str:
    """The string Bitget checksums: up to ``depth`` levels a side, best first, interleaved."""
    parts: list[str] = []
    for i in range(min(depth, max(len(bids), len(asks)))):
        if i < len(bids):
            parts.append(bids[i][0])
            parts.append(bids[i][1])
        if i < len(asks):
            parts.append(asks[i][0])
            parts.append(asks[i][1])
    return ":".join(parts)


def bitget_checksum(bids: Sequence[TextLevel], asks: Sequence[TextLevel],
                    depth: int = BITGET_CHECKSUM_DEPTH) -> int:
    """Bitget's signed CRC32 of a book given as ``(price, size)`` strings, best first."""
    return signed32(zlib.crc32(bitget_checksum_text(bids, asks, depth).encode("ascii")))


class BitgetBookSync(BookSync):
    """Bitget v2 ``books``: the venue's own snapshot, then updates whose ``pseq`` is the previous
    ``seq``, each checked against the signed CRC32 of the top 25 levels as the venue spelled them.

    A ``seq`` that does not follow (even one that goes back, as after a venue
    restart) is a gap: Bitget numbers may reset, so nothing is dropped as stale.
    """

    snapshot_source: ClassVar[Literal["rest", "stream"]] = "stream"
    buffers_deltas: ClassVar[bool] = False
    keeps_text: ClassVar[bool] = True

    def is_stale(self, delta: BookDelta, last_id: int) -> bool:
        return False

    def gap(self, delta: BookDelta, last_id: int) -> SequenceGap | None:
        # A push without ``pseq`` (not every Bitget API version sends it) cannot show a gap
        # by itself; the checksum, checked on every update, still catches a missed one.
        if delta.prev_id is None:
            return None
        return None if delta.prev_id == last_id else SequenceGap(last_id, delta.prev_id)

    def checksum(self, book: LocalBook) -> int:
        bids, asks = book.text_levels(BITGET_CHECKSUM_DEPTH)
        return bitget_checksum(bids, asks)
