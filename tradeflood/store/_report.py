"""What a store holds, as a table for people: series, row counts, coverage as ISO dates."""

from __future__ import annotations

from datetime import UTC, datetime

from ._store import SeriesInfo, StoreInfo

__all__ = ["format_size", "format_store_info"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_size(size: int) -> str:
    """A byte count in the largest binary unit that keeps it at or above 1 (``3.4 MiB``)."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _coverage(series: SeriesInfo) -> str:
    if not series.covered:
        return "-"
    first, last = series.covered[0][0], series.covered[-1][1]
    holes = len(series.covered) - 1
    span = f"{_iso(first)} .. {_iso(last)}"
    return span if not holes else f"{span} ({holes} hole{'s' if holes > 1 else ''})"


def format_store_info(info: StoreInfo) -> str:
    """The store's path and size, then one aligned row per series (UTC times): its kind is the
    interval of candles, or what other rows it holds (``FundingRate``, ``MarkCandle:1m``, ``Trade``)."""
    lines = [f"store: {info.path}", f"size:  {format_size(info.size_bytes)}"]
    if not info.series:
        lines.append("nothing stored")
        return "\n".join(lines)
    header = ("exchange", "symbol", "kind", "rows", "complete from .. to (UTC)")
    rows = [(s.exchange, s.symbol, s.interval, f"{s.candles:,}", _coverage(s)) for s in info.series]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    lines.append("")
    for exchange, symbol, interval, candles, coverage in (header, *rows):
        cells = (exchange.ljust(widths[0]), symbol.ljust(widths[1]), interval.ljust(widths[2]),
                 candles.rjust(widths[3]), coverage)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
