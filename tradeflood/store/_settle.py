"""When the store takes a bar or a trade window as final: its end, plus a settle margin, has passed.

A venue can still change a bar for a moment after its end: trades matched just
before the bar closed reach its market-data feed a little late, and the local
clock that judged the bar closed may run a little ahead of the venue's. A
reply is free to call such a bar ``closed`` (its end has passed), but the store
keeps what it is given forever, so it waits for :data:`DEFAULT_SETTLE_MS` more
before it takes a bar, or the trades of a window, as final. The margin costs
next to nothing: the page that holds a bar still settling is almost always the
page holding the open bar, which a fetch asks for anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tradeflood.intervals import interval_ms

__all__ = ["DEFAULT_SETTLE_MS", "check_settle_ms", "final_end", "last_closed_end"]

DEFAULT_SETTLE_MS = 10_000
"""How long after its end a bar (or a window of trades) is taken as final by the store, in ms.

Ten seconds: a venue publishes a late trade within a second or two of matching
it, and hosts that keep time by NTP sit well within a second of the venue's
clock; ten seconds leaves room for a host whose clock has drifted several
seconds ahead, and still stores a just-closed one-minute bar on the next fetch
a few seconds later."""


def check_settle_ms(settle_ms: object) -> int:
    """``settle_ms`` if it is a whole number of milliseconds, 0 or more; else a ValueError."""
    if type(settle_ms) is not int or settle_ms < 0:
        raise ValueError(f"settle_ms must be a whole number of milliseconds, 0 or more, not {settle_ms!r} "
                         f"(default {DEFAULT_SETTLE_MS})")
    return settle_ms


def last_closed_end(interval: str, now_ms: int) -> int:
    """The end of the last bar closed at ``now_ms`` (the open time of the bar still forming)."""
    if interval == "1M":
        now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
        return int(datetime(now.year, now.month, 1, tzinfo=UTC).timestamp() * 1000)
    step = interval_ms(interval)
    offset = 4 * 86_400_000 if interval == "1w" else 0  # weekly bars open on Mondays
    return (now_ms - offset) // step * step + offset


def final_end(interval: str, now_ms: int, settle_ms: int) -> int:
    """The end of the last bar the store takes as final at ``now_ms``: closed ``settle_ms`` ago.

    >>> final_end("1m", 120_100, 10_000), final_end("1m", 130_000, 10_000)
    (60000, 120000)
    """
    return last_closed_end(interval, now_ms - settle_ms)
