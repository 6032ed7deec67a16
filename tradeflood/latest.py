"""A model served two ways by one binding: its current value, and its history over a range.

Funding rates and open interest are such models: ``fetch(M, symbol=...)``
asks for the venue's current value (one model), ``fetch(M, symbol=...,
start=...)`` (or ``end=`` or ``limit=``) for the history (a
:class:`~tradeflood.series.Series`, paged, with gaps and the store). A venue
binding subclasses :class:`LatestOrHistoryBinding` and defines both halves::

    class ExampleFunding(LatestOrHistoryBinding, model=FundingRate, connector=Example):
        time_field = "funding_time"
        step_ms = 8 * 3_600_000

        def plan_current(self, query, now_ms):
            return [self.api.current_funding(query.symbol)]

        def parse_current(self, query, turn, payload, ctx):
            return [FundingRate(...)]

        def page_sources(self, query):
            return [PageSource("funding", 100, lambda a, b, n: self.api.funding(query.symbol, a, b, n))]

        def parse_history(self, query, turn, payload, ctx):
            return [FundingRate(...) for row in payload]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .binding import ParseContext, Part
from .history import HistoryBinding

if TYPE_CHECKING:
    from .query import Query
    from .turns import Turn

__all__ = ["LatestOrHistoryBinding"]


class LatestOrHistoryBinding(HistoryBinding):
    """A binding serving a model's current value (no ``start``, ``end`` or ``limit``) and its
    paged history (any of them): :meth:`plan_current` and :meth:`parse_current` for the
    first, :meth:`page_sources` and :meth:`parse_history` for the second."""

    #: Whether the venue serves a history at all (False: only the current value; a history
    #: query is refused by the binding's ``check``). The venue table reads it.
    has_history: ClassVar[bool] = True
    #: The venue's parse of a current value's reply, called ``(payload, symbol=, endpoint=)``
    #: with the query's symbol and the turn's path and giving the one model; set it, or define
    #: :meth:`parse_current`.
    current_parser: ClassVar[Callable[..., Any] | None] = None
    #: The same for a history page's reply, giving its rows; set it, or define :meth:`parse_history`.
    history_parser: ClassVar[Callable[..., Sequence[Any]] | None] = None

    def serves_history(self, query: Query) -> bool:
        return query.start is not None or query.end is not None or query.limit is not None

    def plan_current(self, query: Query, now_ms: int) -> Sequence[Turn]:
        """The turns of the current value."""
        raise NotImplementedError(f"{type(self).__name__} must define plan_current()")

    def parse_current(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        """The current value from one payload (a list holding the model)."""
        parser = type(self).current_parser
        if parser is None:
            raise NotImplementedError(f"{type(self).__name__} must define parse_current()")
        return [parser(payload, symbol=query.symbol or "", endpoint=turn.path)]

    def parse_history(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        """The rows of one history page (pure; the range is applied when assembling)."""
        parser = type(self).history_parser
        if parser is None:
            raise NotImplementedError(f"{type(self).__name__} must define parse_history()")
        return parser(payload, symbol=query.symbol or "", endpoint=turn.path)

    def assemble_current(self, query: Query, parts: Sequence[Part], now_ms: int) -> Any:
        """The current value from its parts: by default the one model parsed."""
        return self.single(parts)

    # -- the dispatch ------------------------------------------------------------------------

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        if self.serves_history(query):
            return super().plan(query, now_ms)
        return self.plan_current(query, now_ms)

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        if self.serves_history(query):
            return self.parse_history(query, turn, payload, ctx)
        return self.parse_current(query, turn, payload, ctx)

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> Any:
        if self.serves_history(query):
            return super().assemble(query, parts, now_ms)
        return self.assemble_current(query, parts, now_ms)

    def repair(self, query: Query, parts: Sequence[Part], now_ms: int) -> Sequence[Turn]:
        return super().repair(query, parts, now_ms) if self.serves_history(query) else ()
