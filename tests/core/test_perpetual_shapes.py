"""The shapes funding-rate and open-interest bindings share (tradeflood.perpetuals, and the
parsers a current-or-history binding may name), read on an example venue."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from tradeflood.errors import PayloadError, QueryError
from tradeflood.latest import LatestOrHistoryBinding
from tradeflood.models import FundingRate
from tradeflood.parsing import Reader
from tradeflood.perpetuals import (
    FundingQueries,
    OpenInterestBinding,
    OpenInterestQueries,
    open_interest,
    settled_rates,
)

HOUR = 3_600_000
QUERY = SimpleNamespace(symbol="BTC/USDT:USDT", exchange="example", interval="1h", start=None, end=None,
                        limit=None)
TURN = SimpleNamespace(path="/example/funding")


def test_settled_rates_come_oldest_first_with_the_venue_field_names() -> None:
    read = Reader("example", "/example/funding", None)
    rows = [{"id": "BTCUSDT", "at": 8 * HOUR, "r": "-0.0001"}, {"id": "BTCUSDT", "at": 0, "r": "0.0002"}]
    got = settled_rates(read, rows, symbol="BTC/USDT:USDT", native="id", time="at", rate="r",
                        newest_first=True)
    assert [(g.funding_time, g.rate, g.native_symbol, g.exchange) for g in got] == [
        (0, Decimal("0.0002"), "BTCUSDT", "example"), (8 * HOUR, Decimal("-0.0001"), "BTCUSDT", "example")]
    assert all(g.interval_ms is None and g.timestamp is None for g in got)


def test_a_bad_settled_row_is_refused_naming_its_row_and_field() -> None:
    read = Reader("example", "/example/funding", None)
    rows = [{"id": "BTCUSDT", "at": 0, "r": "0.0001"}, {"id": "BTCUSDT", "at": "later", "r": "0.0001"}]
    with pytest.raises(PayloadError, match=r"example /example/funding: .*row 1: at is 'later', not a milli"):
        settled_rates(read, rows, symbol="BTC/USDT:USDT", native="id", time="at", rate="r")


def test_open_interest_reads_size_and_value_signed_and_passes_the_rest_on() -> None:
    r = Reader("example", "/example/oi", None)
    got = open_interest(r, {"sz": "-12.5", "val": "1000"}, symbol="BTC/USDT:USDT", native_symbol="BTCUSDT",
                        timestamp=HOUR, size="sz", value="val", interval="1h")
    assert (got.size, got.value, got.interval, got.timestamp, got.exchange) == (
        Decimal("-12.5"), Decimal("1000"), "1h", HOUR, "example")  # the value checks judge the sign
    bare = open_interest(r, {"sz": "3"}, symbol="BTC/USDT:USDT", native_symbol="BTCUSDT", timestamp=0,
                         size="sz")
    assert (bare.size, bare.value) == (Decimal("3"), None)
    with pytest.raises(PayloadError, match="sz is 'lots'"):
        open_interest(r, {"sz": "lots"}, symbol="BTC/USDT:USDT", native_symbol="BTCUSDT", timestamp=0,
                      size="sz")


def _rate(payload: Any, *, symbol: str, endpoint: str) -> FundingRate:
    return FundingRate(exchange="example", symbol=symbol, native_symbol=endpoint, funding_time=payload,
                       rate=Decimal("0.0001"))


def _rates(payload: Any, *, symbol: str, endpoint: str) -> list[FundingRate]:
    return [_rate(t, symbol=symbol, endpoint=endpoint) for t in payload]


class _Named(LatestOrHistoryBinding):
    current_parser = staticmethod(_rate)
    history_parser = staticmethod(_rates)


def test_named_parsers_serve_both_halves_with_the_query_symbol_and_turn_path() -> None:
    binding = _Named(None)  # type: ignore[arg-type]
    [now] = binding.parse_current(QUERY, TURN, 8 * HOUR, None)  # type: ignore[arg-type]
    assert (now.funding_time, now.symbol, now.native_symbol) == (
        8 * HOUR, "BTC/USDT:USDT", "/example/funding")
    rows = binding.parse_history(QUERY, TURN, [0, 8 * HOUR], None)  # type: ignore[arg-type]
    assert [r.funding_time for r in rows] == [0, 8 * HOUR]


def test_without_named_parsers_the_halves_must_be_defined() -> None:
    class Bare(LatestOrHistoryBinding):
        pass

    with pytest.raises(NotImplementedError, match=r"Bare must define parse_current\(\)"):
        Bare(None).parse_current(QUERY, TURN, {}, None)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match=r"Bare must define parse_history\(\)"):
        Bare(None).parse_history(QUERY, TURN, {}, None)  # type: ignore[arg-type]


def test_an_open_interest_history_steps_by_its_interval_in_one_series_per_period() -> None:
    class Example(OpenInterestBinding):
        periods = ("1h",)

    binding = Example(None)  # type: ignore[arg-type]
    assert binding.step(QUERY) == HOUR  # type: ignore[arg-type]
    assert binding.series_key(QUERY) == ("example", "BTC/USDT:USDT", "OpenInterest:1h")  # type: ignore[arg-type]


def test_the_query_mixins_check_on_the_binding_venue() -> None:
    class Funding(FundingQueries):
        connector = SimpleNamespace(name="example")  # type: ignore[assignment]

    class Interest(OpenInterestQueries):
        connector = SimpleNamespace(name="example")  # type: ignore[assignment]

    with pytest.raises(QueryError, match=r"funding rates take no interval \(interval='1h'\)"):
        Funding.check(QUERY)  # type: ignore[arg-type]
    history = SimpleNamespace(**{**vars(QUERY), "limit": 10})
    with pytest.raises(QueryError, match="example serves the current open interest only, no history of it"):
        Interest.check(history)  # type: ignore[arg-type]
    Interest.periods = ("1h",)
    Interest.check(history)  # type: ignore[arg-type]
