"""An agent's configuration (the JSON at ``stream.config.{agent}``), checked before it is applied.

::

    {"tenant": "t1",
     "subscriptions": [
        {"exchange": "venue-a", "action": "trades", "symbol": "BTC/USDT"},
        {"exchange": "venue-b", "action": "orderbook", "symbol": "BTC/USDT:USDT", "depth": 50},
        {"exchange": "venue-a", "action": "ohlcv-1m", "symbol": "ETH/USDT"},
        {"exchange": "venue-a", "action": "ticker", "symbol": "SOL/USDT", "poll": 1}],
     "retention": {"trades": 100000, "orderbook": "1h"}}

``venue-a`` and ``venue-b`` stand for registered venue names (see ``examples/``).
Perpetuals also take ``funding-rate``, ``open-interest``, ``liquidations``,
``mark-ohlcv-{interval}`` and ``index-ohlcv-{interval}`` (:mod:`._kinds`).
``depth`` applies to books; ``poll`` (seconds) polls over REST instead of
streaming (a kind the venue does not stream is polled every 10 s without it).
``retention`` trims each action's streams to about that many entries, or to entries
younger than an age (``"30m"``, ``"1h"``, ``"2d"``).
Anything wrong (bad JSON, an unknown venue, action or symbol) is a
:class:`~tradeflood.errors.ConfigError` or :class:`~tradeflood.errors.QueryError`
naming the subscription and the valid choices.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from tradeflood import registry
from tradeflood.errors import QueryError, UnknownSymbolError
from tradeflood.query import Query

from ._backend import Trim
from ._errors import BusConfigError
from ._keys import Topic
from ._kinds import default_poll

__all__ = ["DEFAULT_RETENTION", "AgentConfig", "Subscription", "parse_config"]

DEFAULT_RETENTION = {"trades": Trim(count=100_000), "orderbook": Trim(count=20_000),
                     "ticker": Trim(count=10_000), "ohlcv": Trim(count=100_000),
                     "funding-rate": Trim(count=10_000), "open-interest": Trim(count=10_000),
                     "liquidations": Trim(count=100_000), "mark-ohlcv": Trim(count=100_000),
                     "index-ohlcv": Trim(count=100_000)}
_AGE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_KEYS = {"exchange", "action", "symbol", "depth", "poll"}


@dataclass(frozen=True, slots=True)
class Subscription:
    """One configured topic and how to gather it."""

    topic: Topic
    depth: int | None = None
    poll: float | None = None

    def stream_params(self) -> dict[str, Any]:
        """The keyword arguments of ``Session.stream`` for this topic."""
        params: dict[str, Any] = {"exchange": self.topic.exchange, "symbol": self.topic.symbol}
        if self.topic.interval:
            params["interval"] = self.topic.interval
        if self.depth is not None:
            params["depth"] = self.depth
        if self.poll is not None:
            params["poll"] = self.poll
        return params


@dataclass(frozen=True)
class AgentConfig:
    """A checked configuration: the tenant, its subscriptions in order, and trimming per action."""

    tenant: str
    subscriptions: tuple[Subscription, ...]
    retention: dict[str, Trim] = field(default_factory=lambda: dict(DEFAULT_RETENTION))
    raw: str = ""

    def trim(self, topic: Topic) -> Trim:
        family = topic.action.rsplit("-", 1)[0] if topic.interval else topic.action
        return self.retention.get(topic.action) or self.retention[family]

    def by_topic(self) -> dict[Topic, Subscription]:
        return {s.topic: s for s in self.subscriptions}


SymbolLookup = Callable[[str], Awaitable[Sequence[str]]]


async def parse_config(raw: str | bytes, symbols: SymbolLookup | None = None) -> AgentConfig:
    """Check a raw configuration; ``symbols(exchange)`` lists a venue's unified symbols."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BusConfigError(f"the configuration is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BusConfigError("the configuration must be a JSON object with 'tenant' and 'subscriptions'")
    unknown = set(data) - {"tenant", "subscriptions", "retention"}
    if unknown:
        raise BusConfigError(f"unknown configuration keys {sorted(unknown)}; "
                             "valid: tenant, subscriptions, retention")
    tenant = data.get("tenant", "default")
    subs = data.get("subscriptions")
    if not isinstance(subs, list):
        raise BusConfigError("'subscriptions' must be a list of {exchange, action, symbol} objects")
    checked: list[Subscription] = []
    seen: set[Topic] = set()
    for i, sub in enumerate(subs):
        one = await _subscription(i, sub, tenant, symbols)
        if one.topic in seen:
            raise BusConfigError(f"subscriptions[{i}]: {one.topic} is configured twice")
        seen.add(one.topic)
        checked.append(one)
    return AgentConfig(tenant, tuple(checked), _retention(data.get("retention", {})),
                       raw if isinstance(raw, str) else raw.decode())


async def _subscription(i: int, sub: Any, tenant: Any, symbols: SymbolLookup | None) -> Subscription:
    where = f"subscriptions[{i}]"
    if not isinstance(sub, dict):
        raise BusConfigError(f"{where} must be an object such as "
                             '{"exchange": "<venue>", "action": "trades", "symbol": "BTC/USDT"}')
    if set(sub) - _KEYS or not {"exchange", "action", "symbol"} <= set(sub):
        raise BusConfigError(f"{where}: needs exchange, action and symbol (and may have depth, poll); "
                             f"got {sorted(sub)}")
    if not isinstance(sub["symbol"], str):
        raise BusConfigError(f"{where}: symbol must be a string such as 'BTC/USDT'")
    topic = Topic(tenant, str(sub["exchange"]).lower(), str(sub["action"]), sub["symbol"].strip().upper())
    poll = sub.get("poll")
    if poll is not None and (isinstance(poll, bool) or not isinstance(poll, int | float) or poll <= 0):
        raise BusConfigError(f"{where}: poll={poll!r}: give the polling period in seconds")
    if poll is None:
        poll = default_poll(topic.model, topic.exchange)  # a kind the venue does not stream
    try:
        query = registry.resolve(Query(topic.model, exchange=topic.exchange, symbol=topic.symbol,
                                       interval=topic.interval, depth=sub.get("depth"), live=poll is None))
    except QueryError as exc:
        exc.args = (f"{where}: {exc}",)  # same error, naming the subscription
        raise
    if symbols is not None:
        known = await symbols(query.exchange)
        if topic.symbol not in known:
            raise UnknownSymbolError(topic.exchange, topic.symbol, list(known))
    return Subscription(topic, sub.get("depth"), None if poll is None else float(poll))


def _retention(value: Any) -> dict[str, Trim]:
    if not isinstance(value, dict):
        raise BusConfigError("'retention' must map an action to a count or an age, e.g. "
                             '{"trades": 100000, "orderbook": "1h"}')
    out = dict(DEFAULT_RETENTION)
    for action, keep in value.items():
        if action not in DEFAULT_RETENTION and not Topic.is_bar_action(action):
            raise BusConfigError(f"retention: unknown action {action!r}")
        if isinstance(keep, int) and not isinstance(keep, bool) and keep > 0:
            out[action] = Trim(count=keep)
        elif isinstance(keep, str) and (m := _AGE.match(keep)):
            out[action] = Trim(age_ms=int(m.group(1)) * _UNITS[m.group(2)])
        else:
            raise BusConfigError(f"retention[{action!r}]={keep!r}: give a count (100000) or an age ('1h')")
    return out
