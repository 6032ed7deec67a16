"""The catalog: what each registered venue serves, by kind of data and transport.

Built from the registry alone (the fetch and stream bindings that are declared),
so the table in the README, ``tradeflood venues --markdown`` and what the
library really does cannot drift apart. Transports:

- ``history``: REST over a time range, paged (``start=``/``end=``);
- ``current``: REST, the venue's current or recent data (one request);
- ``stream``: WebSocket (``Session.stream`` / ``subscribe``);
- ``poll``: live by polling REST (``poll=seconds``), shown where no stream is
  declared (every REST kind can be polled).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import registry
from .latest import LatestOrHistoryBinding
from .trades import TradeHistoryBinding

__all__ = ["Offer", "catalog", "markdown_table"]

#: The order of the transports in a cell.
TRANSPORTS = ("history", "current", "stream", "poll")


@dataclass(frozen=True, slots=True)
class Offer:
    """How one venue serves one kind of data."""

    venue: str
    model: str
    transports: tuple[str, ...]


def catalog() -> list[Offer]:
    """Every (venue, model) the registry serves, with its transports, sorted by model then venue."""
    fetched, streamed = registry.bindings_for(), registry.stream_bindings_for()
    pairs = {(m.__name__, v) for m, v in fetched} | {(m.__name__, v) for m, v in streamed}
    fetch_by = {(m.__name__, v): b for (m, v), b in fetched.items()}
    stream_by = {(m.__name__, v) for m, v in streamed}
    offers = []
    for model, venue in sorted(pairs):
        ways = []
        binding = fetch_by.get((model, venue))
        if binding is not None:
            if issubclass(binding, LatestOrHistoryBinding):
                ways.append("current")
                if binding.has_history:
                    ways.append("history")
            elif issubclass(binding, TradeHistoryBinding):  # recent trades, or a range
                ways += ["current", "history"]
            else:
                ways.append("history" if getattr(binding, "ranged", False) else "current")
        if (model, venue) in stream_by:
            ways.append("stream")
        elif binding is not None:
            ways.append("poll")
        offers.append(Offer(venue, model, tuple(w for w in TRANSPORTS if w in ways)))
    return offers


def markdown_table(offers: list[Offer] | None = None) -> str:
    """The catalog as a Markdown table: a row per kind of data, a column per venue."""
    offers = catalog() if offers is None else offers
    venues = sorted({o.venue for o in offers})
    models = sorted({o.model for o in offers})
    cell = {(o.model, o.venue): ", ".join(o.transports) for o in offers}
    lines = ["| Data | " + " | ".join(venues) + " |", "|---" * (len(venues) + 1) + "|"]
    for model in models:
        lines.append(f"| {model} | " + " | ".join(cell.get((model, v), "—") for v in venues) + " |")
    return "\n".join(lines) + "\n"
