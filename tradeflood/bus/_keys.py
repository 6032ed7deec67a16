"""Topic keys of the bus: what a gatherer publishes and a consumer reads, named as the design says.

    stream.{tenant}.{exchange}.{action}.{symbol}           a Redis Stream of entries, oldest first
    stream.snapshot.{tenant}.{exchange}.{action}.{symbol}  the whole current state (a hash)
    stream.config.{agent_id}                               an agent's JSON configuration
    stream.status.{agent_id}                               what an agent says about itself (a hash)

Actions are ``trades``, ``orderbook``, ``ticker`` and ``ohlcv-{interval}``, and for
perpetuals ``funding-rate``, ``open-interest``, ``liquidations``, ``mark-ohlcv-{interval}``
and ``index-ohlcv-{interval}`` (see :mod:`tradeflood.bus._kinds`);
symbols are unified (``BTC/USDT``, ``BTC/USDT:USDT``). A key is parsed from
the left: the symbol is the rest, so it may hold any character.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tradeflood.intervals import INTERVALS

from ._errors import BusConfigError
from ._kinds import CANDLE_PREFIXES, PLAIN, action_interval

if TYPE_CHECKING:
    from tradeflood.models import Model

__all__ = ["ACTIONS", "Topic", "action_for", "config_key", "lease_key", "members_key", "model_for",
           "status_key"]

ACTIONS = (*PLAIN, *(p + "{interval}" for p in CANDLE_PREFIXES))
RESERVED = ("snapshot", "config", "status", "lease", "fence", "members")
"""Words after ``stream.`` that are not tenants: the bus's own keys."""


def model_for(action: str) -> type[Model]:
    """The model an action carries (``ohlcv-1m`` -> Candle); a clear error for anything else."""
    import tradeflood.models as models

    found = action_interval(action)
    if found is None:
        raise BusConfigError(f"unknown action {action!r}; valid: {', '.join(PLAIN)}, and "
                             f"{', '.join(p + '{interval}' for p in CANDLE_PREFIXES)} with an interval "
                             f"among {' '.join(INTERVALS)}")
    return getattr(models, found[0])  # type: ignore[no-any-return]


def action_for(model: type[Model], interval: str | None = None) -> str:
    """The action name of ``model`` (a candle, mark or index bar needs its interval)."""
    name = model.__name__
    for action, model_name in PLAIN.items():
        if model_name == name:
            return action
    for prefix, model_name in CANDLE_PREFIXES.items():
        if model_name == name:
            if interval not in INTERVALS:
                raise BusConfigError(f"a {name} topic needs an interval among {' '.join(INTERVALS)}, "
                                     f"not {interval!r}")
            return f"{prefix}{interval}"
    raise BusConfigError(f"the bus carries {', '.join([*PLAIN.values(), *CANDLE_PREFIXES.values()])}, "
                         f"not {name}")


def _check_name(what: str, value: str) -> str:
    if not isinstance(value, str) or not value or "." in value or any(c.isspace() for c in value):
        raise BusConfigError(f"{what}={value!r}: give a non-empty name without dots or spaces")
    if what == "tenant" and value in RESERVED:
        raise BusConfigError(f"tenant={value!r} is a word the bus keeps for itself ({', '.join(RESERVED)})")
    return value


@dataclass(frozen=True, slots=True)
class Topic:
    """One upstream topic as the bus names it: tenant, venue, action and unified symbol."""

    tenant: str
    exchange: str
    action: str
    symbol: str

    def __post_init__(self) -> None:
        _check_name("tenant", self.tenant)
        _check_name("exchange", self.exchange)
        model_for(self.action)
        if not self.symbol or any(c.isspace() for c in self.symbol):
            raise BusConfigError(f"symbol={self.symbol!r}: give a unified symbol such as 'BTC/USDT'")

    @property
    def suffix(self) -> str:
        return f"{self.tenant}.{self.exchange}.{self.action}.{self.symbol}"

    @property
    def stream(self) -> str:
        """The Redis Stream of entries."""
        return f"stream.{self.suffix}"

    @property
    def snapshot(self) -> str:
        """The hash holding the whole current state."""
        return f"stream.snapshot.{self.suffix}"

    @property
    def model(self) -> type[Model]:
        return model_for(self.action)

    @property
    def interval(self) -> str | None:
        found = action_interval(self.action)
        return found[1] if found else None

    @staticmethod
    def is_bar_action(action: str) -> bool:
        """Whether ``action`` names bars of an interval (``ohlcv-1m``, ``mark-ohlcv-1h``...)."""
        found = action_interval(action)
        return found is not None and found[1] is not None

    @classmethod
    def parse(cls, key: str) -> Topic:
        """The topic of a stream key (``stream.t1.example.trades.BTC/USDT``)."""
        parts = key.split(".", 4)
        if len(parts) != 5 or parts[0] != "stream" or parts[1] in RESERVED:
            raise BusConfigError(f"{key!r} is not a topic key; expected stream.TENANT.EXCHANGE.ACTION.SYMBOL")
        _, tenant, exchange, action, symbol = parts
        return cls(tenant, exchange, action, symbol)

    def __str__(self) -> str:
        return self.stream


def config_key(agent: str) -> str:
    return f"stream.config.{_check_name('agent', agent)}"


def status_key(agent: str) -> str:
    return f"stream.status.{_check_name('agent', agent)}"


def members_key(agent: str) -> str:
    """The live processes of an agent: a sorted set of member id -> lease expiry (ms)."""
    return f"stream.members.{_check_name('agent', agent)}"


def lease_key(topic: Topic) -> str:
    """The owner of a topic: ``{fencing token}:{member id}``, expiring unless renewed."""
    return f"stream.lease.{topic.suffix}"
