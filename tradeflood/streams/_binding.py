"""StreamBinding: links a model to a venue's live stream: which topic, and how to parse it.

Subclassing registers, as with fetch bindings, and the most derived wins::

    class QuietTrades(ExampleTradeStream):
        def parse(self, query, topic, frame, received_ms):
            return [t for t in super().parse(query, topic, frame, received_ms) if t.amount > 1]

``topic`` declares the upstream subscription (no I/O); ``parse`` is a pure
function of one frame. What the stream does with the parsed items (closing
candles, dropping duplicate trades, keeping a book in sync) is the core's
business, chosen by the model; an order-book stream fills in the book hooks
(:meth:`StreamBinding.book_sync`, :attr:`StreamBinding.snapshot_depth`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tradeflood.binding import VenueBinding

if TYPE_CHECKING:
    from tradeflood.models import Instrument
    from tradeflood.query import Query

    from ._booksync import BookSync
    from ._protocol import Frame, Topic

__all__ = ["StreamBinding"]


class StreamBinding(VenueBinding):
    """Base of every stream binding. Subclass with ``model=`` and ``connector=`` to register one.

    A stream looks its symbol up in the venue's instrument list first (the
    :class:`~tradeflood.models.Instrument` it gets names the venue's own symbol
    and market kind for :meth:`topic`), so a venue that streams needs an
    Instrument fetch binding; :meth:`instruments` says which listing to fetch.
    """

    live = True
    #: How often a quiet topic still sends something (seconds), for stale detection.
    expected_every: ClassVar[float | None] = None
    #: Candles: whether the venue flags a bar's final push (else the next bar closes it).
    closes_explicitly: ClassVar[bool] = False
    #: Order books: the depth of the REST snapshot (an OrderBook fetch with a ``sequence``) that
    #: deltas are synced against; unused when the venue pushes its own snapshot on the stream.
    snapshot_depth: ClassVar[int | None] = None

    @classmethod
    def check(cls, query: Query) -> None:
        """Validate the venue-specific parameters of a stream query; raise QueryError."""

    def instruments(self, query: Query) -> Mapping[str, Any]:
        """The instrument listing that ``query.symbol`` is looked up in, as the keyword arguments
        of ``afetch(Instrument, ...)``: by default the venue's whole list, fetched once per
        session. Override to narrow it (e.g. ``{"exchange": ..., "kind": "spot"}``)."""
        return {"exchange": self.connector.name}

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        """The upstream subscription serving ``query`` for the listed ``instrument``."""
        raise NotImplementedError(f"{type(self).__name__} must define topic()")

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Any]:
        """Models (or, for an order book, :class:`~tradeflood.streams.BookDelta` s) from one
        data frame: pure, no I/O; bad frames raise PayloadError."""
        raise NotImplementedError(f"{type(self).__name__} must define parse()")

    def current(self, query: Query, topic: Topic) -> Sequence[Any]:
        """What a reader that joins ``topic`` while it is carried gets at once: for a venue that
        sends a topic's snapshot only on subscribing and deltas after it, the current record (the
        last snapshot with the deltas laid over it), as if the reader had received the snapshot.
        Nothing by default: the reader starts with the next frame. Pure, no I/O."""
        return ()

    def book_sync(self, topic: Topic) -> BookSync:
        """Order books: a new :class:`~tradeflood.streams.BookSync` of the venue's dialect for
        one book stream (its sequence rule, staleness, checksum and snapshot source)."""
        raise NotImplementedError(
            f"{type(self).__name__} streams order books but names no sync rules: define "
            "book_sync() returning a BookSync subclass with the venue's gap() rule")
