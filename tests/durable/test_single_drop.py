"""A lone result that fails a check, under invalid="drop" (issue 12 scope 1).

An order book, a ticker or a current funding rate has no row to leave out: with
invalid="raise" the query fails with a PayloadError naming the field; with
invalid="drop" it has no result instead of failing: fetch returns None, gather
puts None in its place and says why in ``results.absent``, the other queries'
results come back whole, and the refusal is logged (never silent).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import tradeflood.bindings  # noqa: F401 - registers the built-in venues
from tradeflood import Session, VirtualClock
from tradeflood.cli import main
from tradeflood.errors import FetchError, PayloadError, QueryError
from tradeflood.models import Candle, FundingRate, OrderBook, Ticker
from tradeflood.testing import BinanceVenue, BitgetVenue, SimulatorTransport

NOW = 1_717_200_030_000
MINUTE = 60_000


class Rewrite(httpx.AsyncBaseTransport):
    """The simulator, but each reply to a path in ``rewrite`` goes through its function."""

    def __init__(self, inner: httpx.AsyncBaseTransport, rewrite: dict[str, Callable[[Any], None]]) -> None:
        self.inner, self.rewrite = inner, rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        change = self.rewrite.get(request.url.path)
        if change is None or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        change(body)
        return httpx.Response(200, json=body, request=request)


def _cross(body: Any) -> None:  # Binance depth: the best bid above the best ask
    body["bids"][0][0] = str(float(body["asks"][0][0]) + 100)


def _low_above_high(body: Any) -> None:  # Bitget spot ticker: a 24-hour low above its high
    row = body["data"][0]
    row["low24h"] = str(float(row["high24h"]) + 1)


def _absurd_rate(body: Any) -> None:  # Binance premiumIndex: 250% a funding
    body["lastFundingRate"] = "2.5"


REWRITES = {"/api/v3/depth": _cross, "/api/v2/spot/market/tickers": _low_above_high,
            "/fapi/v1/premiumIndex": _absurd_rate}


def _session(**kw: Any) -> Session:
    clock = VirtualClock(start=NOW / 1000)
    venues = {"binance": BinanceVenue(clock=clock), "bitget": BitgetVenue(clock=clock)}
    return Session(transport=Rewrite(SimulatorTransport(venues), REWRITES), clock=clock, store=False, **kw)


CASES = [
    (OrderBook, {"exchange": "binance", "symbol": "BTC/USDT", "depth": 20}, "book 0: asks price",
     "/api/v3/depth"),
    (Ticker, {"exchange": "bitget", "symbol": "BTC/USDT"}, "ticker 0: low ",
     "/api/v2/spot/market/tickers"),
    (FundingRate, {"exchange": "binance", "symbol": "BTC/USDT:USDT"}, "funding rate 0: rate is 2.5",
     "/fapi/v1/premiumIndex"),
]
IDS = ["book", "ticker", "funding"]


@pytest.mark.parametrize(("model", "params", "detail", "endpoint"), CASES, ids=IDS)
def test_raise_fails_the_query_naming_the_field(model: type[Any], params: dict[str, Any], detail: str,
                                                endpoint: str) -> None:
    with _session() as s, pytest.raises(FetchError) as err:
        s.fetch(model, **params)
    cause = err.value.cause
    assert isinstance(cause, PayloadError) and cause.endpoint == endpoint
    assert cause.detail.startswith(detail), cause.detail


@pytest.mark.parametrize(("model", "params", "detail", "endpoint"), CASES, ids=IDS)
def test_drop_gives_no_result_and_says_why(model: type[Any], params: dict[str, Any], detail: str,
                                           endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tradeflood"), _session() as s:
        assert s.fetch(model, invalid="drop", **params) is None
    warned = [r.getMessage() for r in caplog.records if "has no result" in r.getMessage()]
    assert len(warned) == 1 and detail in warned[0] and endpoint in warned[0], warned


@pytest.mark.parametrize(("model", "params", "detail", "endpoint"), CASES, ids=IDS)
async def test_fetch_hands_the_reason_of_an_absent_result_to_on_absent(
        model: type[Any], params: dict[str, Any], detail: str, endpoint: str,
        caplog: pytest.LogCaptureFixture) -> None:
    """fetch's structured twin of ``Results.absent``: the PayloadError itself, not a log line
    (which is still written); sync and async alike."""
    sync_reasons: list[PayloadError] = []
    async_reasons: list[PayloadError] = []
    with caplog.at_level(logging.WARNING, logger="tradeflood"):
        with _session() as s:
            assert s.fetch(model, invalid="drop", on_absent=sync_reasons.append, **params) is None
        async with _session() as s:
            assert await s.afetch(model, invalid="drop", on_absent=async_reasons.append, **params) is None
    for reasons in (sync_reasons, async_reasons):
        (reason,) = reasons
        assert isinstance(reason, PayloadError)
        assert (reason.venue, reason.endpoint) == (params["exchange"], endpoint)
        assert reason.detail.startswith(detail), reason.detail
    warned = [r.getMessage() for r in caplog.records if "has no result" in r.getMessage()]
    assert len(warned) == 2 and all(detail in w for w in warned), warned


def test_on_absent_is_not_called_for_a_result_nor_under_raise() -> None:
    called: list[PayloadError] = []
    with _session() as s:
        ticker = s.fetch(Ticker, exchange="binance", symbol="BTC/USDT", invalid="drop",
                         on_absent=called.append)
        with pytest.raises(FetchError):
            s.fetch(OrderBook, exchange="binance", symbol="BTC/USDT", depth=20, on_absent=called.append)
        sent = s.stats.requests
        with pytest.raises(QueryError, match="on_absent="):
            s.fetch(OrderBook, exchange="binance", symbol="BTC/USDT", depth=20, on_absent="print")
        assert s.stats.requests == sent  # refused before any request
    assert isinstance(ticker, Ticker) and ticker.last is not None and ticker.last > 0
    assert called == []


def test_gather_keeps_the_others_and_reports_the_absent_one() -> None:
    with _session(invalid="drop") as s:
        queries = [s.query(OrderBook, exchange="binance", symbol="BTC/USDT", depth=20),
                   s.query(Candle, exchange="binance", symbol="BTC/USDT", interval="1m",
                           start=NOW - 10 * MINUTE - NOW % MINUTE, end=NOW - NOW % MINUTE),
                   s.query(Ticker, exchange="bitget", symbol="BTC/USDT"),
                   s.query(Ticker, exchange="binance", symbol="BTC/USDT")]
        results = s.gather(*queries)
    book, candles, bitget_ticker, binance_ticker = results
    assert book is None and bitget_ticker is None
    assert sorted(results.absent) == [0, 2]
    assert results.absent[0].detail.startswith("book 0: asks price")
    assert results.absent[2].detail.startswith("ticker 0: low ")
    assert len(candles) == 10 and candles.dropped == 0
    assert isinstance(binance_ticker, Ticker) and binance_ticker.last is not None and binance_ticker.last > 0


def test_a_query_saying_raise_still_fails_beside_a_dropping_session() -> None:
    with _session(invalid="drop") as s, pytest.raises(FetchError) as err:
        s.gather(s.query(OrderBook, exchange="binance", symbol="BTC/USDT", depth=20, invalid="raise"),
                 s.query(Ticker, exchange="bitget", symbol="BTC/USDT"))
    assert err.value.partial[1] is None  # the dropping query's absent result, not a failure
    assert isinstance(err.value.cause, PayloadError)


def test_cli_drop_prints_no_rows_and_says_so(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import tradeflood.cli as cli_module

    real = cli_module._session

    def hostile(urls: Any, no_store: bool, progress: Any) -> Session:
        return _session()

    monkeypatch.setattr(cli_module, "_session", hostile)
    assert real is not hostile
    code = main(["fetch", "book", "--exchange", "binance", "--symbol", "BTC/USDT", "--depth", "20",
                 "--invalid", "drop", "--no-store"])
    out = capsys.readouterr()
    assert code == 0 and out.out == ""
    assert "no result" in out.err
