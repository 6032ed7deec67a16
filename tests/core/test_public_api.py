"""The public surface is explicit and pinned."""

from __future__ import annotations

import tradeflood


def test_public_names_are_pinned() -> None:
    assert tradeflood.__all__ == sorted(tradeflood.__all__)
    assert set(tradeflood.__all__) == {
        "Ban", "Binding", "BindingConflictError", "CandleBinding", "CandleSeries", "Clock", "ConfigError",
        "Connector", "Derived", "FetchError", "FundingHistoryBinding", "Gap", "HistoryBinding",
        "InvalidIntervalError",
        "InvalidTimeError", "LatestOrHistoryBinding", "Limit", "LiveClock", "NetworkError",
        "NoProxyAvailableError",
        "PageSource",
        "Param", "Params", "ParseContext", "Part", "PayloadError", "Plan", "PriceCandleBinding",
        "ProxyError", "ProxyEvent", "ProxyScheme", "Query", "QueryError",
        "RateLimitedError", "Reply", "RequestTimeoutError", "RetryPolicy", "ScaledClock", "Series", "Session",
        "StreamError", "StreamOverflowError", "StreamRejectedError", "TradeFloodError", "TradeHistory",
        "TradeHistoryBinding",
        "Turn", "UnknownExchangeError", "UnknownModelError", "UnknownSymbolError", "VenueError",
        "VenueRejectedError", "VenueUnavailableError", "VirtualClock", "__version__", "afetch", "cut_short",
        "fetch",
        "stream", "turn",
    }
    for name in tradeflood.__all__:
        assert getattr(tradeflood, name) is not None


def test_errors_form_one_hierarchy() -> None:
    for name in tradeflood.__all__:
        obj = getattr(tradeflood, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, tradeflood.TradeFloodError)
