"""Trade histories over a time range: windows of a venue's historical-trade endpoint, each trade once.

A venue's trade binding serves the recent trades; mixing in
:class:`TradeHistoryBinding` lets it serve ``start``/``end`` too. The range is
cut into windows the venue's endpoint accepts (a span per request, a look-back
from now); each window is one turn that pages on by cursor until the window is
exhausted. The trades of every page are put together once each (by trade id,
across page and window boundaries), in the venue's order, within the range.
A page that comes back short while, at its own trade rate, many trades would
still lie between the window's start and its oldest trade is doubted
(:func:`cut_short`): the venue's next-page rule asks once more, so a page cut
short mid-window does not end the window silently. What the venue cannot serve
is reported as gaps: the part of the range older than its look-back, and, where
the venue numbers its trades consecutively, every jump in the ids. A session's
store keeps each window whose pages were all fetched, once it has settled
(:mod:`tradeflood.store`), so a range asked again is answered from disk::

    class ExampleTrades(TradeHistoryBinding, ExampleRecentTrades):
        window_ms = 3_600_000              # the endpoint takes at most an hour per request
        lookback_ms = 90 * 86_400_000      # and serves the last 90 days

        def window(self, query, start, end):
            return self.api.trades_between(query.symbol, start, end).paginate(next_page)

        def page_trades(self, query, turn, page, ctx):
            return parse_trades(page, ...)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .binding import Binding, ModelList, ParseContext, Part
from .errors import QueryError
from .series import Gap

if TYPE_CHECKING:
    from tradeflood.models import Model

    from .query import Query
    from .turns import Turn

__all__ = ["SHORT_PAGE_EXPECTED", "TradeHistory", "TradeHistoryBinding", "cut_short"]

SHORT_PAGE_EXPECTED = 5.0
"""Trades a short page's own rate must promise between the window's start and its oldest trade
before :func:`cut_short` doubts it (an empty span that long happens by chance about e^-5 < 1%
of the time)."""


def cut_short(times: Sequence[int], start: int, *, expected: float | None = None) -> bool:
    """Whether a page that came back with fewer trades than asked probably stopped before the
    window's ``start`` rather than at it: at the rate of its own trades, at least
    ``expected`` (default :data:`SHORT_PAGE_EXPECTED`) more would fall between ``start``
    and its oldest trade. A venue's next-page rule then asks once more for older trades:
    an empty answer ends the window (it was quiet), trades continue it (the page had
    been cut short mid-window, which would otherwise end the window silently).

    >>> cut_short([10_000, 9_000, 8_000], start=0)        # 8 s unasked at 1 trade/s
    True
    >>> cut_short([10_000, 9_000, 8_000], start=6_000)    # 2 s: a quiet tail is likely
    False
    """
    if len(times) < 2:
        return False  # one trade shows no rate
    newest, oldest = max(times), min(times)
    if oldest <= start:
        return False
    rate = (len(times) - 1) / max(newest - oldest, 1)
    return (oldest - start) * rate >= (SHORT_PAGE_EXPECTED if expected is None else expected)


class TradeHistory(ModelList):
    """Trades over a time range in the venue's order, each once, with ``gaps``: the spans of the
    range the venue did not serve (``missing`` counts the trades known to be lost; 0 when the
    venue gives no way to count them)."""

    def __init__(self, items: Sequence[Any] = (), gaps: Sequence[Gap] = (),
                 model: type[Model] | None = None) -> None:
        super().__init__(items, model)
        self.gaps: list[Gap] = list(gaps)


def _order(trade: Any) -> tuple[int, int, str]:
    ident = trade.id
    return trade.timestamp, int(ident) if ident.isdigit() else 0, ident


class TradeHistoryBinding(Binding):
    """Mixed in before a venue's recent-trades binding: serves ``start``/``end`` by windows.

    Subclasses set ``window_ms`` (the longest span one request may ask for),
    ``lookback_ms`` (how far back the endpoint serves, None for no limit),
    ``consecutive_ids`` (the venue numbers trades one by one, so an id jump is a
    gap) and define :meth:`window` and :meth:`page_trades`. Without a range the
    recent-trades binding it is mixed into answers as before.
    """

    ranged = True

    window_ms: ClassVar[int] = 3_600_000
    lookback_ms: ClassVar[int | None] = None
    consecutive_ids: ClassVar[bool] = False

    def window(self, query: Query, start: int, end: int) -> Turn:
        """The turn (paging on by itself) for the trades with ``start <= time < end``."""
        raise NotImplementedError(f"{type(self).__name__} must define window()")

    def page_trades(self, query: Query, turn: Turn, page: Any, ctx: ParseContext) -> list[Any]:
        """The trades of one page of a window's payload."""
        raise NotImplementedError(f"{type(self).__name__} must define page_trades()")

    def extra_turns(self, query: Query) -> list[Turn]:
        """Turns a history also needs besides its windows (an instrument listing, say)."""
        return []

    def finish(self, query: Query, parts: Sequence[Part], trades: list[Any]) -> list[Any]:
        """The history's trades after assembly (a venue scales contract sizes here)."""
        return trades

    # -- planning ---------------------------------------------------------------------------

    @classmethod
    def check(cls, query: Query) -> None:
        super().check(query)
        if query.interval is not None:
            raise QueryError(f"{query.model.__name__} on {query.exchange} takes no interval (candles do)")
        if query.end is not None and query.start is None:
            raise QueryError(f"{query.describe()}: a trade history needs start= as well as end=")
        if query.start is not None and query.limit is not None:
            raise QueryError(f"{query.describe()}: limit= is for the recent trades; a history from "
                             "start= to end= returns every trade in it")

    @staticmethod
    def _ranged(query: Query) -> bool:
        return query.start is not None or query.end is not None

    def history_range(self, query: Query, now_ms: int) -> tuple[int, int]:
        if query.start is None:
            raise QueryError(f"{query.describe()}: a trade history needs start= (and end=, default now)")
        return query.start, query.end if query.end is not None else now_ms + 1

    def _served_from(self, now_ms: int) -> int:
        return -1 if self.lookback_ms is None else now_ms - self.lookback_ms

    def window_spans(self, query: Query, now_ms: int) -> list[tuple[int, int]]:
        """The ``[start, end)`` of each window of the query's range the venue serves, in order."""
        start, end = self.history_range(query, now_ms)
        a = max(start, self._served_from(now_ms) + 60_000)  # a minute inside the look-back edge
        size = self.window_ms
        spans = []
        while a < min(end, now_ms + 1):
            b = min(end, (a // size + 1) * size)  # window edges on a grid, so ranges share them
            spans.append((a, b))
            a = b
        return spans

    def window_turn(self, query: Query, start: int, end: int) -> Turn:
        """:meth:`window`'s turn, marked with the span whose trades it brings."""
        turn = self.window(query, start, end)
        turn.window = (start, end)
        return turn

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        if not self._ranged(query):
            return super().plan(query, now_ms)
        return [*self.extra_turns(query),
                *(self.window_turn(query, a, b) for a, b in self.window_spans(query, now_ms))]

    def is_history(self, query: Query) -> bool:
        """Whether ``query`` asks for trades over a time range (else for the recent trades)."""
        return self._ranged(query)

    def window_complete(self, query: Query, trades: Sequence[Any]) -> bool:
        """Whether a fetched window's trades (each once) show no hole the venue left, so a store
        may keep the window as known: with consecutive ids, no id between them is missing."""
        if not self.consecutive_ids:
            return True
        ids = sorted(int(t.id) for t in trades)
        return all(after - before == 1 for before, after in itertools.pairwise(ids))

    # -- parsing and putting together --------------------------------------------------------

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Any]:
        if not self._ranged(query) or turn.window is None:
            return list(super().parse(query, turn, payload, ctx))
        pages = payload if turn.next_page is not None else [payload]
        return [t for page in pages for t in self.page_trades(query, turn, page, ctx)]

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> Any:
        if not self._ranged(query):
            return super().assemble(query, parts, now_ms)
        start, end = self.history_range(query, now_ms)
        seen: set[str] = set()
        trades = []
        for part in parts:
            if part.turn.window is None:
                continue
            a, b = part.turn.window  # a window's last page may reach past it: only its own trades count
            for t in part.items:
                if a <= t.timestamp < b and t.id not in seen:
                    seen.add(t.id)
                    trades.append(t)
        trades.sort(key=_order)
        trades = self.finish(query, parts, trades)
        return TradeHistory(trades, self.gaps(query, trades, start, end, now_ms), self.model)

    def gaps(self, query: Query, trades: Sequence[Any], start: int, end: int, now_ms: int) -> list[Gap]:
        """The part of the range before the look-back, and every id jump of consecutive ids."""
        out = []
        edge = min(self._served_from(now_ms) + 60_000, end)
        if start < edge:
            out.append(Gap(start, edge, 0))
        if self.consecutive_ids:
            for before, after in itertools.pairwise(trades):
                jump = int(after.id) - int(before.id)
                if jump > 1:
                    out.append(Gap(before.timestamp + 1, after.timestamp, jump - 1))
        return out
