"""A local order book kept from a snapshot and level updates, for live book streams.

:class:`LocalBook` holds both sides keyed by exact ``Decimal`` price, with each
side's prices in one sorted list, so that an update costs a dictionary write
and, for a new or vanished level, one ``bisect``; best-first top-N reads slice
that list. It knows nothing of sequence numbers: :mod:`._booksync` decides what
may be applied. Nothing here does I/O::

    book = LocalBook()
    book.load(bids=[("100.5", "2")], asks=[("101", "1.5")])
    undo = book.apply(bids=[("100.5", "0"), ("100.4", "3")])    # size 0 removes a level
    book.snapshot(10)      # (((Decimal('100.4'), Decimal('3')),), ((Decimal('101'), Decimal('1.5')),))
    book.rollback(undo)    # back to the loaded state
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tradeflood.models import OrderBook, trusted_builder

__all__ = ["Level", "LocalBook", "RawLevel", "Undo"]

Level = tuple[Decimal, Decimal]
RawLevel = tuple[str | Decimal, str | Decimal]
"""A ``(price, size)`` level as received: the venue's strings (kept for checksums) or Decimals."""

_order_book = trusted_builder(OrderBook)


class _Side:
    """One side of a book: sizes by price, prices ascending, and optionally the venue's spellings."""

    __slots__ = ("highest_first", "prices", "sizes", "texts")

    def __init__(self, highest_first: bool, keep_text: bool) -> None:
        self.highest_first = highest_first
        self.prices: list[Decimal] = []
        self.sizes: dict[Decimal, Decimal] = {}
        self.texts: dict[Decimal, tuple[str, str]] | None = {} if keep_text else None

    def load(self, levels: Iterable[RawLevel]) -> None:
        self.sizes.clear()
        if self.texts is not None:
            self.texts.clear()
        for raw_price, raw_size in levels:
            price, size = Decimal(raw_price), Decimal(raw_size)
            if size:
                self.sizes[price] = size
                if self.texts is not None:
                    self.texts[price] = (str(raw_price), str(raw_size))
            else:
                self.sizes.pop(price, None)
        self.prices = sorted(self.sizes)

    def update(self, levels: Iterable[RawLevel], undo: list[tuple[_Side, Decimal, Decimal | None,
                                                                  tuple[str, str] | None]]) -> None:
        # The hot path of a live book: locals bound once, and the text-keeping variant apart.
        sizes, prices, texts, dec, record = self.sizes, self.prices, self.texts, Decimal, undo.append
        if texts is None:
            for raw_price, raw_size in levels:
                price, size = dec(raw_price), dec(raw_size)
                old = sizes.get(price)
                record((self, price, old, None))
                if size:
                    if old is None:
                        insort(prices, price)
                    sizes[price] = size
                elif old is not None:
                    del sizes[price]
                    del prices[bisect_left(prices, price)]
            return
        for raw_price, raw_size in levels:
            price, size = dec(raw_price), dec(raw_size)
            old = sizes.get(price)
            record((self, price, old, texts.get(price)))
            if size:
                if old is None:
                    insort(prices, price)
                sizes[price] = size
                texts[price] = (str(raw_price), str(raw_size))
            elif old is not None:
                del sizes[price]
                del prices[bisect_left(prices, price)]
                del texts[price]

    def restore(self, price: Decimal, size: Decimal | None, text: tuple[str, str] | None) -> None:
        present = price in self.sizes
        if size is None:
            if present:
                del self.sizes[price]
                del self.prices[bisect_left(self.prices, price)]
                if self.texts is not None:
                    self.texts.pop(price, None)
            return
        if not present:
            insort(self.prices, price)
        self.sizes[price] = size
        if self.texts is not None and text is not None:
            self.texts[price] = text

    def best(self) -> Decimal | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.highest_first else self.prices[0]

    def top_prices(self, n: int | None) -> list[Decimal]:
        prices = self.prices
        if self.highest_first:
            if n is None or n >= len(prices):
                return prices[::-1]
            return prices[: -n - 1 : -1] if n > 0 else []
        return prices[:] if n is None else prices[: max(n, 0)]


class LocalBook:
    """Bids and asks of one symbol kept up to date by level updates; size 0 removes a level.

    With ``keep_text`` the book also remembers each level's price and size as the
    venue spelled them, which some venues compute their checksums over.
    """

    __slots__ = ("_asks", "_bids")

    def __init__(self, *, keep_text: bool = False) -> None:
        self._bids = _Side(highest_first=True, keep_text=keep_text)
        self._asks = _Side(highest_first=False, keep_text=keep_text)

    def load(self, bids: Iterable[RawLevel], asks: Iterable[RawLevel]) -> None:
        """Replace the whole book by a snapshot's levels (any order; zero sizes are skipped)."""
        self._bids.load(bids)
        self._asks.load(asks)

    def apply(self, bids: Iterable[RawLevel] = (), asks: Iterable[RawLevel] = ()) -> Undo:
        """Apply one batch of level updates; the result can :meth:`rollback` the batch."""
        undo: list[tuple[_Side, Decimal, Decimal | None, tuple[str, str] | None]] = []
        self._bids.update(bids, undo)
        self._asks.update(asks, undo)
        return Undo(undo)

    def rollback(self, undo: Undo) -> None:
        """Put back what the batch ``undo`` came from changed (the last batch applied)."""
        for side, price, size, text in reversed(undo.changes):
            side.restore(price, size, text)

    @property
    def bid_depth(self) -> int:
        return len(self._bids.prices)

    @property
    def ask_depth(self) -> int:
        return len(self._asks.prices)

    def best_bid(self) -> Level | None:
        price = self._bids.best()
        return None if price is None else (price, self._bids.sizes[price])

    def best_ask(self) -> Level | None:
        price = self._asks.best()
        return None if price is None else (price, self._asks.sizes[price])

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask, which a venue's book never is."""
        bids, asks = self._bids.prices, self._asks.prices
        return bool(bids and asks and bids[-1] >= asks[0])

    def snapshot(self, n: int | None = None) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """The best ``n`` levels of each side (all when None), best first."""
        bs, as_ = self._bids.sizes, self._asks.sizes
        return (tuple([(p, bs[p]) for p in self._bids.top_prices(n)]),
                tuple([(p, as_[p]) for p in self._asks.top_prices(n)]))

    def text_levels(self, n: int | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The best ``n`` levels of each side as the venue spelled them (needs ``keep_text``)."""
        bt, at = self._bids.texts, self._asks.texts
        if bt is None or at is None:
            raise ValueError("this LocalBook was made without keep_text=True, so it has no level texts")
        return [bt[p] for p in self._bids.top_prices(n)], [at[p] for p in self._asks.top_prices(n)]

    def to_model(self, exchange: str, symbol: str, native_symbol: str, timestamp: int,
                 sequence: int | None = None, depth: int | None = None) -> OrderBook:
        """An immutable :class:`~tradeflood.models.OrderBook` of the best ``depth`` levels a side."""
        bids, asks = self.snapshot(depth)
        return _order_book({"exchange": exchange, "symbol": symbol, "native_symbol": native_symbol,
                            "timestamp": timestamp, "bids": bids, "asks": asks, "sequence": sequence})

    def __repr__(self) -> str:
        return f"LocalBook(bid={self.best_bid()}, ask={self.best_ask()}, " \
               f"depth={self.bid_depth}/{self.ask_depth})"


@dataclass(frozen=True, slots=True)
class Undo:
    """What one :meth:`LocalBook.apply` changed, so that :meth:`LocalBook.rollback` can put it back."""

    changes: list[tuple[_Side, Decimal, Decimal | None, tuple[str, str] | None]]
