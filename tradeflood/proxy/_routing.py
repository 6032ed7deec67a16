"""Request types: which route key a request answers to.

A route key names a request type. For a request made by the library (a
:class:`~tradeflood.turns.Turn`) the keys that match are, most specific first:

1. ``"venue:group"``: one rate-limit group of one venue (``"example:spot-history-candles"``),
2. ``"group"``: the turn's rate-limit group, on any venue (``"spot-candles"``, a venue's ``"futures"``),
3. a kind word: a word of the group or of the endpoint's name, with the venues' words
   mapped to one vocabulary (``klines`` -> ``candles``, ``depth``/``orderbook`` -> ``book``,
   ``fills`` -> ``trades``, ``symbols``/``contracts``/``exchange_info`` -> ``instruments``,
   ``tickers`` -> ``ticker``); e.g. ``"candles"``, ``"history"``, ``"spot"``, ``"mix"``;
   when several kind words of a route match, the one listed first in the route wins,
4. ``"*"``: everything else.

Proxyter's clients name the request type themselves (the Proxy-Authorization
user name); there the name is matched as it is, then ``"*"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradeflood.connector import Connector
    from tradeflood.turns import Turn

__all__ = ["STREAM", "known_request_types", "request_types", "stream_route", "turn_route"]

#: The request type of live streams (WebSocket connections): route ``"stream"`` or ``"venue:stream"``.
STREAM = "stream"

#: The venues' own words for a kind of request, mapped to one vocabulary.
ALIASES = {
    "klines": "candles", "kline": "candles", "depth": "book", "orderbook": "book", "merge": "book",
    "fills": "trades", "symbols": "instruments", "contracts": "instruments", "exchange": "instruments",
    "info": "instruments", "tickers": "ticker", "24hr": "ticker",
}


def _words(group: str, endpoint: str) -> list[str]:
    out: list[str] = []
    for word in [*group.replace("_", "-").split("-"), *endpoint.split("_")]:
        word = ALIASES.get(word.lower(), word.lower())
        if word and word not in out:
            out.append(word)
    return out


def request_types(turn: Turn) -> list[str]:
    """Every route key a turn answers to, most specific first (``"*"`` last)."""
    return [f"{turn.venue}:{turn.group}", turn.group, *_words(turn.group, turn.endpoint), "*"]


def stream_route(venue: str, route: Mapping[str, str]) -> str | None:
    """The pool for a venue's live streams: ``"venue:stream"``, ``"stream"``, then ``"*"``."""
    return route.get(f"{venue}:{STREAM}") or route.get(STREAM) or route.get("*")


def turn_route(turn: Turn, route: Mapping[str, str]) -> str | None:
    """The pool for ``turn``: exact keys first, then kind words in the route's own order, then ``*``."""
    exact = route.get(f"{turn.venue}:{turn.group}") or route.get(turn.group)
    if exact is not None:
        return exact
    words = set(_words(turn.group, turn.endpoint))
    for key, pool in route.items():
        if key in words:
            return pool
    return route.get("*")


def _connectors() -> set[type[Connector]]:
    from tradeflood import registry

    return {binding.connector for binding in registry.bindings_for().values()}


def known_request_types() -> set[str]:
    """Every route key some registered connector's endpoint answers to."""
    keys = {"*", STREAM}
    for cls in _connectors():
        for name in dir(cls):
            meta = getattr(getattr(cls, name, None), "__turn__", None)
            if meta is None:
                continue
            group = str(meta["group"])
            keys |= {f"{cls.name}:{group}", f"{cls.name}:{STREAM}", group, *_words(group, name)}
    return keys
