"""TradeFlood: market data from trading venues, planned as one deduplicated request graph.

::

    import tradeflood
    from tradeflood.models import Candle

    candles = tradeflood.fetch(Candle, exchange="example", symbol="BTC/USDT",
                               interval="1h", start="2024-01-01", end="2024-02-01")
    for trade in tradeflood.stream(Trade, exchange="example", symbol="BTC/USDT"):
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .binding import Binding, ParseContext, Part
from .candles import CandleBinding, CandleSeries, Gap, PriceCandleBinding
from .clock import Clock, LiveClock, ScaledClock, VirtualClock
from .connector import Connector, Reply
from .errors import (
    BindingConflictError,
    ConfigError,
    FetchError,
    InvalidIntervalError,
    InvalidTimeError,
    NetworkError,
    NoProxyAvailableError,
    PayloadError,
    ProxyError,
    QueryError,
    RateLimitedError,
    RequestTimeoutError,
    StreamError,
    StreamOverflowError,
    StreamRejectedError,
    TradeFloodError,
    UnknownExchangeError,
    UnknownModelError,
    UnknownSymbolError,
    VenueError,
    VenueRejectedError,
    VenueUnavailableError,
)
from .fundinghistory import FundingHistoryBinding
from .history import HistoryBinding
from .latest import LatestOrHistoryBinding
from .paging import PageSource
from .planner import Plan
from .query import Query
from .ratelimit import Limit
from .retry import RetryPolicy
from .series import Series
from .session import Session, afetch, fetch
from .trades import TradeHistory, TradeHistoryBinding, cut_short
from .turns import Derived, Param, Params, Turn, turn

if TYPE_CHECKING:
    from .proxy import ProxyEvent, ProxyScheme
    from .streams._api import stream

__version__ = "0.1.0"

__all__ = [
    "Binding",
    "BindingConflictError",
    "CandleBinding",
    "CandleSeries",
    "Clock",
    "ConfigError",
    "Connector",
    "Derived",
    "FetchError",
    "FundingHistoryBinding",
    "Gap",
    "HistoryBinding",
    "InvalidIntervalError",
    "InvalidTimeError",
    "LatestOrHistoryBinding",
    "Limit",
    "LiveClock",
    "NetworkError",
    "NoProxyAvailableError",
    "PageSource",
    "Param",
    "Params",
    "ParseContext",
    "Part",
    "PayloadError",
    "Plan",
    "PriceCandleBinding",
    "ProxyError",
    "ProxyEvent",
    "ProxyScheme",
    "Query",
    "QueryError",
    "RateLimitedError",
    "Reply",
    "RequestTimeoutError",
    "RetryPolicy",
    "ScaledClock",
    "Series",
    "Session",
    "StreamError",
    "StreamOverflowError",
    "StreamRejectedError",
    "TradeFloodError",
    "TradeHistory",
    "TradeHistoryBinding",
    "Turn",
    "UnknownExchangeError",
    "UnknownModelError",
    "UnknownSymbolError",
    "VenueError",
    "VenueRejectedError",
    "VenueUnavailableError",
    "VirtualClock",
    "__version__",
    "afetch",
    "cut_short",
    "fetch",
    "stream",
    "turn",
]


_LAZY = {"ProxyEvent": "proxy", "ProxyScheme": "proxy", "stream": "streams._api"}


def __getattr__(name: str) -> Any:
    # Streams and proxies load when first named, so ``import tradeflood`` stays quick.
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
