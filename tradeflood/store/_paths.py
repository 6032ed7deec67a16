"""Where the candle store lives unless told otherwise."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["STORE_ENV", "cache_store_path", "default_store_path"]

#: The environment variable naming the store's file.
STORE_ENV = "TRADEFLOOD_STORE"


def default_store_path() -> Path:
    """The store's file: ``$TRADEFLOOD_STORE``, else ``$XDG_CACHE_HOME/tradeflood/candles.sqlite3``,
    else ``~/.cache/tradeflood/candles.sqlite3``.

    >>> import os; os.environ["TRADEFLOOD_STORE"] = "/tmp/tf.sqlite3"
    >>> str(default_store_path())
    '/tmp/tf.sqlite3'
    >>> del os.environ["TRADEFLOOD_STORE"]
    """
    explicit = os.environ.get(STORE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return cache_store_path()


def cache_store_path() -> Path:
    """The store's place in the user's cache folder, the one path whose missing folders are
    created: a path someone typed (``Session(store=...)``, ``$TRADEFLOOD_STORE``) must name an
    existing folder, so that a typo is an error rather than a new store somewhere else."""
    cache = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(cache) if cache and os.path.isabs(cache) else Path.home() / ".cache"
    return base / "tradeflood" / "candles.sqlite3"
