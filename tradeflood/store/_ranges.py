"""Half-open ranges ``[start, end)`` of open times: union and complement."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Range", "complement", "union"]

Range = tuple[int, int]


def union(ranges: Iterable[Range]) -> list[Range]:
    """The ranges merged (overlapping or touching ones become one), in order; empty ones dropped."""
    merged: list[Range] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def complement(start: int, end: int, covered: Iterable[Range]) -> list[Range]:
    """The parts of ``[start, end)`` outside ``covered``, merged, in order.

    >>> complement(0, 10, [(2, 4), (3, 6), (8, 20)])
    [(0, 2), (6, 8)]
    """
    gaps: list[Range] = []
    at = start
    for a, b in union(covered):
        if b <= at:
            continue
        if a >= end:
            break
        if a > at:
            gaps.append((at, a))
        at = max(at, b)
    if at < end:
        gaps.append((at, end))
    return gaps
