"""Bad input is refused before any request: times, intervals, exchanges, models, URLs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import toyvenue

import tradeflood
from tradeflood import Query, Session, registry
from tradeflood.clock import LiveClock, ScaledClock
from tradeflood.errors import (
    ConfigError,
    InvalidIntervalError,
    InvalidTimeError,
    QueryError,
    UnknownExchangeError,
    UnknownModelError,
)
from tradeflood.models import Candle, Instrument, Ticker, Trade
from tradeflood.timeparse import parse_time

T0 = 1_704_067_200_000


@pytest.mark.parametrize("value", [
    "2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", "2024-01-01", T0,
    datetime(2024, 1, 1, tzinfo=UTC), "1704067200000",
])
def test_time_forms(value: object) -> None:
    assert parse_time(value) == T0  # type: ignore[arg-type]


def test_relative_time() -> None:
    assert parse_time("-7d", now_ms=T0) == T0 - 7 * 86_400_000
    assert parse_time("-90m", now_ms=T0) == T0 - 90 * 60_000
    for absurd in ("-99999999999d", "-999999999999999999999w"):  # was an OverflowError traceback
        with pytest.raises(InvalidTimeError, match="reaches back before 1970"):
            parse_time(absurd, now_ms=T0)


@pytest.mark.parametrize(("value", "message"), [
    (datetime(2024, 1, 1), "naive datetime"),
    ("2024-01-01T00:00:00", "no timezone"),
    ("yesterday-ish", "is not a time"),
    (1_704_067_200, "looks like seconds"),
    (True, "bool"),
    (3.5, "ISO-8601"),
    (99999999999999999999999, "after the year 9999"),
    ("99999999999999999999999", "after the year 9999"),
    ("9999-12-31T23:59:59-05:00", "after the year 9999 in UTC"),
])
def test_bad_times(value: object, message: str) -> None:
    with pytest.raises(InvalidTimeError, match=message):
        parse_time(value)  # type: ignore[arg-type]


def checked(model: type, now_ms: int = T0, **params: object) -> Query:
    """A query checked against its venue's binding, as a session builds or plans it."""
    return registry.resolve(Query(model, **params), now_ms)  # type: ignore[arg-type]


def test_query_errors_name_the_choices() -> None:
    with pytest.raises(UnknownExchangeError, match=r"valid choices: .*toy"):
        checked(Candle, exchange="nasdaq", symbol="BTC/USD", interval="1m")
    with pytest.raises(InvalidIntervalError, match="valid choices: 1m, 1h"):
        checked(Candle, exchange="toy", symbol="BTC/USD", interval="7m")
    with pytest.raises(InvalidTimeError, match="must be before end"):
        Query(Candle, exchange="toy", symbol="BTC/USD", interval="1m", start=T0, end=T0)
    with pytest.raises(QueryError, match="candles need a symbol"):
        checked(Candle, exchange="toy", interval="1m")
    with pytest.raises(QueryError, match="depth=-1"):
        Query(Candle, exchange="toy", symbol="BTC/USD", interval="1m", depth=-1)
    with pytest.raises(QueryError, match="exchange=''"):
        Query(Candle, exchange="", symbol="BTC/USD", interval="1m")

    class Weather(tradeflood.models.Model):
        pass

    with pytest.raises(UnknownModelError, match=r"models with a binding: .*Candle"):
        checked(Weather, exchange="toy")
    assert issubclass(UnknownExchangeError, ValueError)


def test_no_binding_for_this_model_on_this_venue() -> None:
    with pytest.raises(UnknownExchangeError, match=r"toy has no Trade fetches; venues that do: binance"):
        checked(Trade, exchange="toy", symbol="BTC/USD")


def test_building_a_query_consults_neither_the_registry_nor_a_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("consulted while building a Query")

    monkeypatch.setattr(registry, "lookup", forbidden)
    monkeypatch.setattr(registry, "lookup_stream", forbidden)
    monkeypatch.setattr(LiveClock, "time_ms", forbidden)
    query = Query(Candle, exchange="Toy", symbol="btc/usd", interval="1h", start="-2h", end="-1h")
    assert (query.exchange, query.symbol, query.start, query.end, query.resolved) == (
        "toy", "BTC/USD", None, None, False)  # relative times wait for the planning session's clock
    monkeypatch.undo()
    assert registry.resolve(query, T0) is query
    assert (query.start, query.end, query.resolved) == (T0 - 7_200_000, T0 - 3_600_000, True)
    with Session(store=False, clock=ScaledClock(1, start=T0 / 1000)) as s:  # planning resolves it
        plan = s.plan(Query(Candle, exchange="toy", symbol="BTC/USD", interval="1h", start="-3h"))
        start = plan.queries[0].query.start
        assert start is not None and 0 <= start - (T0 - 3 * 3_600_000) < 600_000  # the session's clock


def test_url_overrides_are_checked_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown venue 'nowhere'"):
        Session(urls={"nowhere": {"rest": "http://127.0.0.1:1"}})
    with pytest.raises(ConfigError, match="not a valid toy rest URL"):
        Session(urls={"toy": {"rest": "ftp://x"}})
    monkeypatch.setenv("TRADEFLOOD_TOY_REST_URL", "http://127.0.0.1:9/prefix/")
    assert toyvenue.Toy().base_urls["rest"] == "http://127.0.0.1:9/prefix"
    api = toyvenue.Toy(urls={"rest": "http://127.0.0.1:7"})  # the session's override beats the environment
    assert api.url(api.symbols()) == "http://127.0.0.1:7/symbols"
    monkeypatch.setenv("TRADEFLOOD_TOY_REST_URL", "not a url")
    with pytest.raises(ConfigError, match="environment"):
        toyvenue.Toy()


@pytest.mark.parametrize(("model", "params", "message"), [
    (Trade, {"symbol": "BTC/USDT", "limt": 5}, "unknown argument limt for Trade on bitget"),
    (Candle, {"symbol": "BTC/USDT", "interval": "1h", "stat": "-1d", "ende": "-1h"},
     "unknown arguments ende, stat for Candle on bitget"),
    (Trade, {"symbol": "BTC/USDT", "interval": "1m"}, "Trade on bitget takes no interval"),
    (Trade, {"symbol": "BTC/USDT", "end": "-23h"}, "a trade history needs start= as well as end="),
    (Ticker, {"symbol": "BTC/USDT", "start": "-1d"}, "takes no start or end"),
    (Candle, {"symbol": "BTC/USDT", "interval": "1h", "start": T0 + 86_400_000},
     "is in the future: there is nothing to fetch yet"),
])
def test_what_a_binding_would_ignore_is_refused(model: type, params: dict[str, object], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        checked(model, exchange="bitget", **params)


def test_declared_options_and_stream_options_are_taken() -> None:
    assert checked(Ticker, exchange="binance", symbol="BTC/USDT", bid_ask=False).options == {"bid_ask": False}
    assert checked(Instrument, exchange="binance", kind="spot").options == {"kind": "spot"}
    assert checked(Ticker, exchange="bitget", symbol="BTC/USDT", poll=5).options == {"poll": 5}
    with pytest.raises(QueryError, match=r"takes: bid_ask"):
        checked(Ticker, exchange="binance", symbol="BTC/USDT", bidask=False)


def test_a_limit_reaching_back_before_1970_is_refused_before_any_request(
        capsys: pytest.CaptureFixture[str]) -> None:
    from tradeflood.cli import main

    with Session(store=False) as s:
        query = s.query(Candle, exchange="bitget", symbol="BTC/USDT", interval="1m", limit=10**9)
        with pytest.raises(QueryError, match=r"limit=1000000000 rows of .* would reach back before 1970"):
            s.plan(query)  # was a plan of millions of pages, sending startTime=-57844927200000
        assert s.stats.requests == 0
    assert main(["plan", "candle", "--exchange", "bitget", "--symbol", "BTC/USDT", "--interval", "1m",
                 "--limit", "1000000000"]) == 2
    assert "would reach back before 1970" in capsys.readouterr().err
