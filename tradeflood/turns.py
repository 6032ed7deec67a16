"""Turns: declared requests, the nodes of the request graph.

A connector method marked ``@turn`` performs no I/O. Calling it returns a
:class:`Turn` whose identity is the canonical request key ``(venue, api,
method, path, sorted params)``: two turns with the same key are the same node
wherever they were declared. A parameter may be a :class:`Derived` value (a
function of another turn's result), which makes an edge of the graph; a turn
may also :meth:`~Turn.paginate`, expanding into the next page after it runs::

    class Example(Connector, name="example"):
        urls = {"rest": "https://api.example.com"}

        @turn("/v1/symbols", group="market", cache="session")
        def symbols(self) -> Params:
            return {}

        @turn("/v1/candles", group="market", weight=2)
        def candles(self, symbol: Param, start: int) -> Params:
            return {"symbol": symbol, "start": start}

    api = Example()
    listing = api.symbols()
    page = api.candles(listing.derive(native_id, "BTC/USDT"), 1704067200000)
    assert page.deps == (listing,)          # an edge: listing runs first
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, ParamSpec, Protocol, TypeAlias

__all__ = ["Derived", "Param", "Params", "Turn", "TurnKey", "turn"]

TurnKey: TypeAlias = tuple[Any, ...]
Param: TypeAlias = "str | int | Derived"
Params: TypeAlias = "Mapping[str, str | int | bool | Derived | None]"
CachePolicy = Literal["session"] | None
P = ParamSpec("P")


class Named(Protocol):
    """Anything with a venue name: a connector declaring its turns."""

    name: str


def _fn_name(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


class Derived:
    """A value computed from another turn's result: ``fn(result, *args)``.

    Used as a turn parameter it makes an edge. Its identity is the source turn's
    key, the function's qualified name and the arguments, so the same
    derivation declared twice is computed once per run. Derivations chain:
    ``listing.derive(parse_map).derive(lookup, "BTC/USDT")``.
    """

    __slots__ = ("args", "fn", "key", "source")

    def __init__(self, source: Turn | Derived, fn: Callable[..., Any], *args: Any) -> None:
        self.source = source
        self.fn = fn
        self.args = args
        self.key: TurnKey = ("derived", source.key, _fn_name(fn), args)

    def derive(self, fn: Callable[..., Any], *args: Any) -> Derived:
        """A further value computed from this one."""
        return Derived(self, fn, *args)

    @property
    def turn(self) -> Turn:
        """The turn whose result this value is computed from."""
        node = self.source
        while isinstance(node, Derived):
            node = node.source
        return node

    def __repr__(self) -> str:
        return f"Derived({self.turn.endpoint} -> {self.fn.__name__}{self.args!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Derived) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


def _canonical(name: str, value: object) -> str | Derived:
    if isinstance(value, Derived | str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"turn parameter {name}={value!r}: give str, int, bool or a Derived value")


class Turn:
    """One declared request: a node of the request graph, identified by its key.

    A turn is plain data: the venue's name, the endpoint and its parameters; the
    session finds the venue's connector (URLs, envelope, limits) when it sends it.
    ``group`` names the rate-limit group it is charged to and ``weight`` its
    cost there. ``cache="session"`` marks results that hold for a whole session
    (instrument lists). A turn is immutable; :meth:`paginate` returns a new one.
    """

    __slots__ = (
        "api",
        "cache",
        "endpoint",
        "group",
        "key",
        "max_pages",
        "method",
        "next_page",
        "params",
        "path",
        "venue",
        "weight",
        "window",
    )

    def __init__(
        self,
        venue: str | Named,
        endpoint: str,
        method: str,
        path: str,
        params: Params,
        *,
        api: str = "rest",
        group: str = "public",
        weight: int = 1,
        cache: CachePolicy = None,
        next_page: Callable[[Turn, Any], Turn | None] | None = None,
        max_pages: int = 100,
    ) -> None:
        self.venue: str = venue if isinstance(venue, str) else venue.name
        self.endpoint = endpoint
        self.method = method.upper()
        self.path = path
        self.api = api
        self.group = group
        self.weight = weight
        self.cache = cache
        self.next_page = next_page
        self.max_pages = max_pages
        #: The time span ``(start, end)`` in UTC ms a paged turn covers, set by the
        #: planner; informational, not part of the identity (the parameters are).
        self.window: tuple[int, int] | None = None
        self.params: tuple[tuple[str, str | Derived], ...] = tuple(
            sorted((k, _canonical(k, v)) for k, v in params.items() if v is not None)
        )
        key_params = tuple((k, v.key if isinstance(v, Derived) else v) for k, v in self.params)
        key: TurnKey = (self.venue, self.api, self.method, self.path, key_params)
        if next_page is not None:
            key = (*key, ("paginate", _fn_name(next_page), max_pages))
        self.key = key

    @property
    def deps(self) -> tuple[Turn, ...]:
        """The turns whose results this one's parameters are derived from."""
        seen: dict[TurnKey, Turn] = {}
        for _, value in self.params:
            if isinstance(value, Derived):
                src = value.turn
                seen.setdefault(src.key, src)
        return tuple(seen.values())

    def derived(self) -> Iterator[tuple[str, Derived]]:
        """The parameters that are computed from other turns."""
        for name, value in self.params:
            if isinstance(value, Derived):
                yield name, value

    def derive(self, fn: Callable[..., Any], *args: Any) -> Derived:
        """A value computed from this turn's result, to pass to another turn."""
        return Derived(self, fn, *args)

    def paginate(
        self, next_page: Callable[[Turn, Any], Turn | None], *, max_pages: int = 100
    ) -> Turn:
        """This turn, expanding after it runs: ``next_page(turn, payload)`` gives the
        following page's turn, or None at the end (cursor-style pagination). The
        result of a paginating turn is the list of its pages' payloads, in order."""
        return Turn(
            self.venue, self.endpoint, self.method, self.path, dict(self.params),
            api=self.api, group=self.group, weight=self.weight, cache=self.cache,
            next_page=next_page, max_pages=max_pages,
        )

    def with_params(self, **changes: str | int | Derived | None) -> Turn:
        """The same endpoint with some parameters changed (None removes one)."""
        params: dict[str, Any] = dict(self.params)
        params.update(changes)
        return Turn(
            self.venue, self.endpoint, self.method, self.path, params,
            api=self.api, group=self.group, weight=self.weight, cache=self.cache,
        )

    def param(self, name: str) -> str | Derived | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Turn) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.params)
        return f"<Turn {self.venue} {self.method} {self.path} {shown}>"


Weight = int | Callable[[Mapping[str, Any]], int]


def turn(
    path: str,
    *,
    method: str = "GET",
    api: str = "rest",
    group: str = "public",
    weight: Weight = 1,
    cache: CachePolicy = None,
) -> Callable[[Callable[..., Params]], Callable[..., Turn]]:
    """Declare a connector method as an endpoint.

    The decorated method returns the request's parameters (None values are
    dropped); calling it returns a :class:`Turn` and performs no I/O. ``weight``
    may be a function of the parameters, for venues whose cost depends on them
    (a book's weight may grow with ``limit``).
    """

    def decorate(fn: Callable[..., Params]) -> Callable[..., Turn]:
        @functools.wraps(fn)
        def declare(self: Named, *args: Any, **kwargs: Any) -> Turn:
            params = fn(self, *args, **kwargs)
            cost = weight(params) if callable(weight) else weight
            return Turn(
                self, fn.__name__, method, path, params,
                api=api, group=group, weight=cost, cache=cache,
            )

        declare.__turn__ = {  # type: ignore[attr-defined]
            "path": path, "method": method, "api": api, "group": group, "cache": cache,
        }
        return declare

    return decorate
