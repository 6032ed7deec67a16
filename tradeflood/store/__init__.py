"""The embedded candle store: closed candles kept on disk, so history is fetched once.

It keeps the other immutable histories too: funding rates, open interest, closed
mark and index bars, and trade histories (every trade of a window, once the
venue's pages covering it were all fetched and the window has settled).

::

    from tradeflood.store import CandleStore, default_store_path, verify_store

    with CandleStore(default_store_path()) as store:
        store.missing("example", "BTC/USDT", "1m", start, end)   # what is still to fetch
        candles = store.read("example", "BTC/USDT", "1m", start, end)
        print(verify_store(store))          # re-check what an older version stored (fix=True removes)

When a bar is final
-------------------
A reply may call a bar closed as soon as its end has passed, but a venue can
still change it for a moment (trades matched just before the close reach its
feed a little late). The store takes a bar, or a window of trades, as final
only once it ended ``settle_ms`` before the reply (default
:data:`DEFAULT_SETTLE_MS`, ten seconds); until then a fetch returns it and asks
for it again next time. Choose another margin with
``Session(store=CandleStore(path, settle_ms=30_000))``.

Where it lives
--------------
One SQLite file: ``$TRADEFLOOD_STORE`` if set, else
``$XDG_CACHE_HOME/tradeflood/candles.sqlite3``, else
``~/.cache/tradeflood/candles.sqlite3`` (next to it SQLite keeps ``-wal`` and
``-shm`` files while it is open). Deleting the file forgets everything; nothing
else refers to it.

Why SQLite
----------
The store keeps closed candles, which never change, and the open-time ranges
known to be complete, so the planner fetches only what is missing. SQLite ships
with Python (no dependency, no server) and gives what a cache of expensive
downloads needs: every write is one ACID transaction, so a crash or a kill in
the middle of a write leaves the file as it was before it (the write-ahead log
is replayed or discarded on the next open), and several processes may share
the file (WAL mode: readers never wait; writers take turns through
``BEGIN IMMEDIATE`` and a busy timeout). The file says what it is
(``PRAGMA application_id`` and a schema version), so a foreign or damaged file
is refused with one clear error and left untouched. Candles are kept in blocks
of 1024 per row, column by column, with prices as exact integer mantissas and
their scales (text for the rare value that does not fit): read back, a value
has the digits and exponent it was written with, and a million candles reach
an Arrow table from a few thousand byte strings, in well under a second, where
a row per candle costs Python's sqlite3 seconds just to build its row tuples.
Flat files (CSV, Parquet) would need their own locking and crash safety;
key-value engines (LMDB, RocksDB) would be a dependency and offer no ranges
query or schema check we would not have to write ourselves.
"""

from __future__ import annotations

from ._errors import StoreBusyError, StoreCorruptError, StoreError
from ._paths import STORE_ENV, cache_store_path, default_store_path
from ._report import format_store_info
from ._settle import DEFAULT_SETTLE_MS
from ._store import CandleStore, SeriesInfo, StoreInfo
from ._verify import BadRow, VerifyReport, verify_store

__all__ = [
    "DEFAULT_SETTLE_MS",
    "STORE_ENV",
    "BadRow",
    "CandleStore",
    "SeriesInfo",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreInfo",
    "VerifyReport",
    "cache_store_path",
    "default_store_path",
    "format_store_info",
    "verify_store",
]
