"""Record live market data as it arrived, and replay it through the same code on any clock.

::

    async with tradeflood.Session(record="data/") as s:      # live, and recorded
        ...
    async with tradeflood.Session(replay="data/", speed="max") as s:
        async for book in s.stream(OrderBook, exchange=VENUE, symbol="BTC/USDT", depth=20):
            ...                                             # the books the live session built

A recording keeps every WebSocket frame and REST reply the session received (not
what TradeFlood made of them) with its receive time in ns, in zstandard-compressed,
self-contained blocks rotated hourly. A replay hands them to the session's own
decode, parse, book-sync and candle code, moving the session's clock to each
frame's receive time, and never answers a request with a reply from after the
clock (backtests see no look-ahead). Needs the ``record`` extra (``zstandard``).
"""

from __future__ import annotations

from ._format import RecordingCorruptError, RecordingError, RecordingFormatError
from ._reader import RecordingFile, merged, open_directory
from ._recorder import Recorder, RecordingTransport
from ._replay import Replayer, ReplayMissError
from ._replayconn import ReplayConnection, ReplayTransport

__all__ = [
    "Recorder", "RecordingCorruptError", "RecordingError", "RecordingFile", "RecordingFormatError",
    "RecordingTransport", "ReplayConnection", "ReplayMissError", "ReplayTransport", "Replayer", "merged",
    "open_directory",
]
