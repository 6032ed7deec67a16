"""Nothing but TradeFloodErrors leaves fetch/afetch/gather, and `partial` keeps the others' results."""

from __future__ import annotations

from typing import Any

import pytest

from tradeflood import FetchError, Session, VirtualClock
from tradeflood.errors import PayloadError, QueryError, TradeFloodError
from tradeflood.models import Candle
from tradeflood.testing import BinanceVenue, BitgetVenue, SimulatorTransport

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
VENUES = {"bitget": BitgetVenue, "binance": BinanceVenue}


def _session(venue: str) -> Session:
    clock = VirtualClock(start=NOW / 1000)
    return Session(transport=SimulatorTransport({venue: VENUES[venue](clock=clock)}), clock=clock,
                   store=False)


@pytest.mark.parametrize("raised", [ValueError("bad digits"), OverflowError("too big"), KeyError("x")])
@pytest.mark.parametrize("venue", VENUES)
async def test_a_raw_exception_in_one_parse_fails_that_query_alone(venue: str, raised: Exception) -> None:
    async with _session(venue) as s:
        good = s.query(Candle, exchange=venue, symbol="BTC/USDT", interval="1h", start=NOW - 3 * DAY,
                       end=NOW - DAY)
        bad = s.query(Candle, exchange=venue, symbol="ETH/USDT", interval="1h", start=NOW - 3 * DAY,
                      end=NOW - DAY)
        binding = s.binding_for(bad)
        parse = binding.parse

        def broken(query: Any, *args: Any) -> Any:
            if query.symbol == "ETH/USDT":
                raise raised
            return parse(query, *args)

        binding.parse = broken  # type: ignore[method-assign,assignment]
        with pytest.raises(FetchError) as caught:
            await s.agather(good, bad)
        del binding.parse
        honest = await s.agather(good)
    error = caught.value
    assert isinstance(error.cause, PayloadError)
    assert error.cause.venue == venue and repr(raised) in str(error.cause)
    assert "ETH/USDT" in str(error) and "1 of 2 queries failed" in str(error)
    assert list(error.partial[0]) == list(honest[0]) and len(honest[0]) == 48
    assert list(error.partial[1]) == []


@pytest.mark.parametrize("venue", VENUES)
async def test_absurd_arguments_are_query_errors(venue: str) -> None:
    async with _session(venue) as s:
        for params in ({"start": "-99999999999d"}, {"start": 99999999999999999999999},
                       {"limit": 10**9}):
            with pytest.raises(TradeFloodError) as caught:
                await s.afetch(Candle, exchange=venue, symbol="BTC/USDT", interval="1m", **params)
            assert isinstance(caught.value, QueryError), (params, caught.value)
