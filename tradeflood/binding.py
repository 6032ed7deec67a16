"""Binding: links a model to a venue's connector: plans its turns and parses their payloads.

Subclassing registers: ``class ExampleTickers(Binding, model=Ticker,
connector=Example)``. A subclass of a registered binding replaces it for the same
(model, venue), which is how a built-in is changed without editing it::

    class MyCandles(ExampleCandles):
        def parse(self, query, turn, payload, ctx):
            return [c for c in super().parse(query, turn, payload, ctx) if c.volume > 0]

``plan`` declares turns (no I/O); ``parse`` is a pure function of one payload;
``assemble`` puts the parsed parts of a query together into its result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from . import registry
from .columnar import ColumnarMixin
from .connector import Connector
from .errors import PayloadError
from .turns import Turn, TurnKey

if TYPE_CHECKING:
    from tradeflood.models import Model

    from .query import Query

__all__ = ["Binding", "ModelList", "ParseContext", "Part", "VenueBinding"]


class ModelList(ColumnarMixin, list[Any]):
    """A fetch result of many models (trades, instruments): a list with
    ``to_arrow()``, ``to_polars()`` and ``to_pandas()``."""

    def __init__(self, items: Sequence[Any] = (), model: type[Model] | None = None) -> None:
        super().__init__(items)
        self._model = model
        #: Invalid rows the replies held and the fetch dropped (``invalid="drop"``).
        self.dropped = 0

    @property
    def columnar_model(self) -> type[Model] | None:  # type: ignore[override]
        return self._model


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What a parse may know besides the payload: the parameters actually sent
    (derived ones resolved, e.g. the venue's native symbol) and when the reply
    arrived, in UTC milliseconds."""

    params: Mapping[str, str]
    received_ms: int


@dataclass(frozen=True, slots=True)
class Part:
    """The models parsed from one turn of a query, and how many invalid rows were dropped from
    it (``invalid="drop"``; such a page is never recorded as complete). ``refused`` is why,
    when the drop left the reply empty: a query whose one result (a book, a ticker) it was
    then has no result."""

    turn: Turn
    items: Sequence[Any]
    dropped: int = 0
    refused: PayloadError | None = None


class VenueBinding:
    """What fetch and stream bindings share: a model on a venue's connector, registered by
    subclassing with ``model=`` and ``connector=`` (the most derived class wins), and made
    with the session's connector instance, ``api``."""

    model: ClassVar[type[Model]]
    connector: ClassVar[type[Connector]]
    #: Which registry role a subclass is recorded in: live streams, or fetches.
    live: ClassVar[bool] = False
    #: Keyword arguments of a query beyond the standard ones (exchange, symbol, interval,
    #: start, end, depth, limit) that this binding reads from ``query.options``; a query
    #: giving any other is refused, so a misspelt argument never goes unnoticed.
    options: ClassVar[frozenset[str]] = frozenset()
    #: Whether the binding serves a history over a time range (``start``/``end``); the
    #: others serve the venue's current or recent data, and refuse a range.
    ranged: ClassVar[bool] = False

    def __init_subclass__(
        cls, model: type[Model] | None = None, connector: type[Connector] | None = None, **kw: Any
    ) -> None:
        super().__init_subclass__(**kw)
        registry.declare(cls, model, connector, registry.register_stream if cls.live else registry.register)

    def __init__(self, api: Connector) -> None:
        self.api = api


class Binding(VenueBinding):
    """Base of every fetch binding. Subclass with ``model=`` and ``connector=`` to register one."""

    @classmethod
    def check(cls, query: Query) -> None:
        """Validate the venue-specific parameters of a query (interval, depth...).

        Raises a :class:`~tradeflood.errors.QueryError` naming the valid choices.
        Runs when the query is made, before anything is planned or sent.
        """

    def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
        """The turns whose payloads make up the query's result (dependencies follow from them)."""
        raise NotImplementedError(f"{type(self).__name__} must define plan()")

    def prerequisites(self, query: Query, now_ms: int) -> Sequence[Turn]:
        """Turns whose replies :meth:`plan` needs to plan ``query`` well (a history whose row
        spacing the venue states elsewhere); none by default.

        A fetch sends them before planning, once for all its queries (session-cached ones come
        from the cache), hands each query's replies to :meth:`prepare`, then plans. One that
        fails is logged, and the query planned without it.
        """
        return ()

    def prepare(self, query: Query, payloads: Mapping[TurnKey, Any]) -> None:
        """Take what the replies of :meth:`prerequisites` say, by turn key (a failed one is
        absent), before ``query`` is planned; a bad payload raises, and is logged."""

    def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> Sequence[Any]:
        """Models from one payload: pure, no I/O; bad payloads raise PayloadError."""
        raise NotImplementedError(f"{type(self).__name__} must define parse()")

    def wire_names(self, turn: Turn) -> Mapping[str, str]:
        """The venue's names for the model's fields in ``turn``'s reply, where they differ
        (``{"price": "px"}``): a value check's error quotes them beside the model's; none by default."""
        return {}

    def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> Any:
        """The query's result from its parsed parts; by default every item, in turn order."""
        return [item for part in parts for item in part.items]

    def single(self, parts: Sequence[Part]) -> Any:
        """The one model of a single-result query (a book, a ticker): for ``assemble``."""
        for part in parts:
            if part.items:
                return part.items[0]
        raise PayloadError(self.connector.name, self.model.__name__,
                           "no reply was parsed into a result")

    def repair(self, query: Query, parts: Sequence[Part], now_ms: int) -> Sequence[Turn]:
        """Turns to send once more when the parts look incomplete (short pages).

        Returns nothing by default. The executor runs them in one more round and
        ``assemble`` then sees the old parts and the new ones together.
        """
        return ()
