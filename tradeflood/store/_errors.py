"""Errors of the candle store, part of TradeFlood's one hierarchy.

::

    TradeFloodError
    └── StoreError                  the candle store could not do what was asked
        ├── StoreCorruptError       the file is not a TradeFlood store (foreign, damaged, newer)
        └── StoreBusyError          another process held the store longer than the timeout
"""

from __future__ import annotations

from pathlib import Path

from tradeflood.errors import TradeFloodError

__all__ = ["StoreBusyError", "StoreCorruptError", "StoreError"]


class StoreError(TradeFloodError):
    """The candle store could not do what was asked; ``path`` names its file."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(message)


class StoreCorruptError(StoreError):
    """The file where the store expects its own is foreign, damaged or from a newer TradeFlood.

    The file is left exactly as it was found: it may hold data someone needs.
    """

    def __init__(self, path: Path, problem: str) -> None:
        self.problem = problem
        super().__init__(
            path,
            f"{path} is not a usable TradeFlood candle store: {problem}. It was left untouched. "
            "If it holds nothing you need, remove it (`tradeflood store clear` deletes the default "
            "store); otherwise point the store elsewhere (TRADEFLOOD_STORE=/other/path.sqlite3 "
            "or Session(store=...)).",
        )


class StoreBusyError(StoreError):
    """Another process kept the store locked for longer than the store's timeout."""

    def __init__(self, path: Path, timeout: float, detail: str) -> None:
        super().__init__(
            path,
            f"{path}: another process kept the store locked for over {timeout:g} s ({detail}); "
            "try again when that process is done, or give each process its own store path.",
        )
