"""FundingRate and OpenInterest streams (issue 16): each venue's public channel, not polling.

Unit parses of frames in each venue's documented shape (values asserted), decoded
by the venue's own stream protocol; then each venue over real sockets against the
simulator, values checked against the simulated market at each push's time; one
topic read by several models (Bybit's linear ``tickers``) subscribed once; hostile
frames refused with ``FrameRefused``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tradeflood
from tradeflood import Query, registry
from tradeflood.checks import frame_violations
from tradeflood.cli import main
from tradeflood.clock import ScaledClock
from tradeflood.connectors.binance import Binance
from tradeflood.connectors.bitget import Bitget
from tradeflood.connectors.bybit import Bybit
from tradeflood.connectors.okx import Okx
from tradeflood.errors import PayloadError, QueryError, UnknownModelError
from tradeflood.models import FundingRate, Instrument, OpenInterest, Ticker
from tradeflood.streams import Backoff, FrameRefused, StreamSettings, Topic
from tradeflood.testing import Simulator
from tradeflood.testing import _funding_market as fm
from tradeflood.testing import take as _take
from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._bitget import BitgetVenue
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._okx import OkxVenue
from tradeflood.testing._venue import Venue

SYMBOL = "BTC/USDT:USDT"
EIGHT_HOURS = 8 * 3_600_000


def _perp(native: str, venue: str) -> Instrument:
    return Instrument(exchange=venue, symbol=SYMBOL, native_symbol=native, kind="linear", base="BTC",
                      quote="USDT", settle="USDT", contract_size=Decimal(1))


def _decode(connector: Any, endpoint: str, message: dict[str, Any]) -> Any:
    frame = connector.streams[endpoint].decode(orjson.dumps(message))
    assert frame.kind == "data", frame
    return frame


def _parse(connector: Any, model: type, query: Query, native: str, endpoint: str,
           messages: list[dict[str, Any]], binding: Any = None) -> list[Any]:
    binding = binding or registry.lookup_stream(model, connector.name)(connector)
    topic: Topic = binding.topic(query, _perp(native, connector.name))
    out: list[Any] = []
    for message in messages:
        out.extend(binding.parse(query, topic, _decode(connector, endpoint, message), 1))
    return out


def _q(model: type, venue: str) -> Query:
    return Query(model, exchange=venue, symbol=SYMBOL, live=True)


# -- unit parses of real-shaped frames -------------------------------------------------------

BINANCE_MARK: dict[str, Any] = {
    "e": "markPriceUpdate", "E": 1562305380000, "s": "BTCUSDT", "p": "11794.15000000", "i": "11784.62659091",
    "P": "11784.25641265", "r": "0.00038167", "T": 1562306400000}


def test_binance_mark_price_update_is_the_coming_funding() -> None:
    api = Binance()
    [rate] = _parse(api, FundingRate, _q(FundingRate, "binance"), "BTCUSDT", "ws.futures",
                    [{"stream": "btcusdt@markPrice", "data": BINANCE_MARK}])
    assert rate == FundingRate(exchange="binance", symbol=SYMBOL, native_symbol="BTCUSDT",
                               funding_time=1562306400000, rate=Decimal("0.00038167"),
                               timestamp=1562305380000,
                               mark_price=Decimal("11794.15000000"), index_price=Decimal("11784.62659091"))
    assert rate.next_rate is None and rate.interval_ms is None


BYBIT_SNAPSHOT: dict[str, Any] = {
    "topic": "tickers.BTCUSDT", "type": "snapshot", "cs": 24987956059, "ts": 1673272861686,
    "data": {"symbol": "BTCUSDT", "tickDirection": "PlusTick", "price24hPcnt": "0.017103",
             "lastPrice": "17216.00", "prevPrice24h": "16926.50", "highPrice24h": "17281.50",
             "lowPrice24h": "16915.00", "prevPrice1h": "17238.00", "markPrice": "17217.33",
             "indexPrice": "17227.36", "openInterest": "68744.761", "openInterestValue": "1183601235.91",
             "turnover24h": "1570383121.943499", "volume24h": "91705.276", "nextFundingTime": "1673280000000",
             "fundingRate": "-0.000212", "bid1Price": "17215.50", "bid1Size": "84.489",
             "ask1Price": "17216.00", "ask1Size": "83.020"}}
BYBIT_DELTA_OI: dict[str, Any] = {
    "topic": "tickers.BTCUSDT", "type": "delta", "cs": 24987956060, "ts": 1673272861786,
    "data": {"symbol": "BTCUSDT", "openInterest": "68745.001", "openInterestValue": "1183605367.73"}}
BYBIT_DELTA_BID: dict[str, Any] = {
    "topic": "tickers.BTCUSDT", "type": "delta", "cs": 24987956061, "ts": 1673272861886,
    "data": {"symbol": "BTCUSDT", "bid1Price": "17215.00", "bid1Size": "12.001"}}
BYBIT_DELTA_RATE: dict[str, Any] = {
    "topic": "tickers.BTCUSDT", "type": "delta", "cs": 24987956062, "ts": 1673272861986,
    "data": {"symbol": "BTCUSDT", "fundingRate": "-0.000215", "markPrice": "17218.10"}}


def test_bybit_tickers_snapshot_then_deltas_give_the_merged_values() -> None:
    api = Bybit()
    frames = [BYBIT_SNAPSHOT, BYBIT_DELTA_OI, BYBIT_DELTA_BID, BYBIT_DELTA_RATE]
    rates = _parse(api, FundingRate, _q(FundingRate, "bybit"), "BTCUSDT", "ws.linear", frames)
    ois = _parse(api, OpenInterest, _q(OpenInterest, "bybit"), "BTCUSDT", "ws.linear", frames)
    # A delta carrying none of the model's fields is no new value of it.
    assert [(r.timestamp, r.rate, r.mark_price) for r in rates] == [
        (1673272861686, Decimal("-0.000212"), Decimal("17217.33")),
        (1673272861986, Decimal("-0.000215"), Decimal("17218.10"))]
    assert all(r.funding_time == 1673280000000 and r.index_price == Decimal("17227.36") for r in rates)
    assert [(o.timestamp, o.size, o.value) for o in ois] == [
        (1673272861686, Decimal("68744.761"), Decimal("1183601235.91")),
        (1673272861786, Decimal("68745.001"), Decimal("1183605367.73"))]


def test_a_bybit_delta_before_any_snapshot_is_refused_not_guessed() -> None:
    with pytest.raises(PayloadError, match="delta before any snapshot"):
        _parse(Bybit(), FundingRate, _q(FundingRate, "bybit"), "BTCUSDT", "ws.linear", [BYBIT_DELTA_RATE])


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("openInterest", "-5", "not a non-negative number"),
    ("fundingRate", "abc", "not a decimal number"),
    ("nextFundingTime", "soon", "not a millisecond timestamp"),
])
def test_an_impossible_bybit_delta_is_refused_and_leaves_the_record_alone(
        field: str, value: str, problem: str) -> None:
    api = Bybit()
    binding = registry.lookup_stream(OpenInterest, "bybit")(api)
    query = _q(OpenInterest, "bybit")
    _parse(api, OpenInterest, query, "BTCUSDT", "ws.linear", [BYBIT_SNAPSHOT], binding)
    bad = {**BYBIT_DELTA_OI, "data": {"symbol": "BTCUSDT", field: value}}
    with pytest.raises(PayloadError, match=problem):
        _parse(api, OpenInterest, query, "BTCUSDT", "ws.linear", [bad], binding)
    [after] = _parse(api, OpenInterest, query, "BTCUSDT", "ws.linear", [BYBIT_DELTA_OI], binding)
    assert after.size == Decimal("68745.001")  # laid over the snapshot, not over the refused frame


OKX_FUNDING: dict[str, Any] = {"arg": {"channel": "funding-rate", "instId": "BTC-USDT-SWAP"}, "data": [{
    "formulaType": "noRate", "fundingRate": "0.0001875391284828", "fundingTime": "1700726400000",
    "impactValue": "", "instId": "BTC-USDT-SWAP", "instType": "SWAP", "interestRate": "",
    "method": "current_period", "maxFundingRate": "0.00375", "minFundingRate": "-0.00375",
    "nextFundingRate": "", "nextFundingTime": "1700755200000", "premium": "0.0001233824646391",
    "settFundingRate": "0.0001699799259033", "settState": "settled", "ts": "1700724675402"}]}
OKX_OI: dict[str, Any] = {"arg": {"channel": "open-interest", "instId": "BTC-USDT-SWAP"}, "data": [{
    "instType": "SWAP", "instId": "BTC-USDT-SWAP", "oi": "2216113.01", "oiCcy": "22161.1301",
    "oiUsd": "1477392318.64", "ts": "1700724675402"}]}


def test_okx_funding_rate_and_open_interest_channels() -> None:
    api = Okx()
    [rate] = _parse(api, FundingRate, _q(FundingRate, "okx"), "BTC-USDT-SWAP", "ws", [OKX_FUNDING])
    assert (rate.native_symbol, rate.rate, rate.funding_time, rate.next_funding_time, rate.interval_ms,
            rate.timestamp, rate.next_rate) == (
        "BTC-USDT-SWAP", Decimal("0.0001875391284828"), 1700726400000, 1700755200000, EIGHT_HOURS,
        1700724675402, None)
    [oi] = _parse(api, OpenInterest, _q(OpenInterest, "okx"), "BTC-USDT-SWAP", "ws", [OKX_OI])
    assert (oi.size, oi.value, oi.timestamp) == (Decimal("22161.1301"), Decimal("1477392318.64"),
                                                 1700724675402)


BITGET_TICKER: dict[str, Any] = {"action": "snapshot",
                 "arg": {"instType": "USDT-FUTURES", "channel": "ticker", "instId": "BTCUSDT"},
                 "data": [{"instId": "BTCUSDT", "lastPr": "27000.5", "bidPr": "27000", "askPr": "27000.5",
                           "bidSz": "2.71", "askSz": "8.76", "open24h": "27000.5", "high24h": "30668.5",
                           "low24h": "26999.0", "change24h": "-0.00002", "fundingRate": "0.000010",
                           "nextFundingTime": "1695722400000", "markPrice": "27000.0",
                           "indexPrice": "25702.4",
                           "holdingAmount": "929.502", "baseVolume": "368.900", "quoteVolume": "10152429.961",
                           "openUtc": "27000.5", "symbolType": 1, "symbol": "BTCUSDT", "deliveryPrice": "0",
                           "ts": "1695715383021"}], "ts": 1695715383039}


def test_bitget_futures_ticker_carries_funding_and_open_interest() -> None:
    api = Bitget()
    [rate] = _parse(api, FundingRate, _q(FundingRate, "bitget"), "BTCUSDT", "ws", [BITGET_TICKER])
    assert (rate.rate, rate.funding_time, rate.timestamp, rate.mark_price, rate.index_price) == (
        Decimal("0.000010"), 1695722400000, 1695715383021, Decimal("27000.0"), Decimal("25702.4"))
    [oi] = _parse(api, OpenInterest, _q(OpenInterest, "bitget"), "BTCUSDT", "ws", [BITGET_TICKER])
    assert (oi.size, oi.value, oi.timestamp) == (Decimal("929.502"), None, 1695715383021)
    negative = {**BITGET_TICKER, "data": [{**BITGET_TICKER["data"][0], "holdingAmount": "-1"}]}
    # The parse reads the sign as sent; the stream's frame checks refuse the push for the topic.
    [bad] = _parse(api, OpenInterest, _q(OpenInterest, "bitget"), "BTCUSDT", "ws", [negative])
    assert [(v.field, v.detail) for v in frame_violations([bad])] == [
        ("size", "is -1, a negative size")]


def test_the_value_checks_refuse_impossible_live_values() -> None:
    oi = OpenInterest(exchange="okx", symbol=SYMBOL, native_symbol="BTC-USDT-SWAP", timestamp=1, size="-2",
                      value="5")
    rate = FundingRate(exchange="okx", symbol=SYMBOL, native_symbol="BTC-USDT-SWAP", funding_time=0,
                       rate="-0.0003", mark_price="-1")  # a negative rate is fine, a negative price is not
    assert [(v.field, v.detail) for v in frame_violations([oi])] == [("size", "is -2, a negative size")]
    assert [(v.field, v.detail) for v in frame_violations([rate])] == [
        ("mark_price", "is -1, a negative price")]
    ok = oi.model_copy(update={"size": Decimal(0)})
    assert frame_violations([ok]) == []  # no open interest at all is possible


def test_stream_queries_are_checked_before_any_connection() -> None:
    with pytest.raises(QueryError, match="spot pair"):
        registry.resolve(Query(FundingRate, exchange="bybit", symbol="BTC/USDT", live=True))
    with pytest.raises(QueryError, match="take no interval"):
        registry.resolve(Query(FundingRate, exchange="okx", symbol=SYMBOL, interval="1h", live=True))
    with pytest.raises(UnknownModelError, match=r"binance has no OpenInterest streams.*give poll=SECONDS"):
        registry.resolve(Query(OpenInterest, exchange="binance", symbol=SYMBOL, live=True))


# -- over real sockets against the simulator -------------------------------------------------

@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(60.0)


def _settings() -> StreamSettings:
    return StreamSettings(backoff=Backoff(first=0.5, most=3.0), stale_after=3.0, open_timeout=5.0)


VENUES: dict[str, Callable[..., Venue]] = {"binance": BinanceVenue, "bybit": BybitVenue, "okx": OkxVenue,
                                           "bitget": BitgetVenue}
STREAMED_OI = ("bybit", "okx", "bitget")
#: How the simulator names each venue's funding topic (its end).
CHANNELS = {"binance": "btcusdt@markPrice", "bybit": "tickers.BTCUSDT", "okx": "funding-rate:BTC-USDT-SWAP",
            "bitget": "USDT-FUTURES:ticker:BTCUSDT"}


@pytest.fixture
async def venue_session(request: pytest.FixtureRequest, clock: ScaledClock,
                        ) -> AsyncIterator[tuple[Venue, Simulator, tradeflood.Session]]:
    venue = VENUES[request.param](clock=clock)
    async with Simulator({request.param: venue}) as sim, \
            tradeflood.Session(urls=sim.urls(), clock=clock, store=False, stream_settings=_settings()) as s:
        yield venue, sim, s



take = functools.partial(_take, timeout=15.0)  # these streams push every few clock seconds


def _subscribed(sim: Simulator, venue: str) -> dict[str, int]:
    return {k: v for k, v in sim.streams[venue].stats.subscriptions.items() if v}


@pytest.mark.parametrize("venue_session", list(VENUES), indirect=True)
async def test_funding_rates_stream_the_markets_values(venue_session: Any) -> None:
    venue, sim, s = venue_session
    name = venue.name
    async with s.stream(FundingRate, exchange=name, symbol=SYMBOL) as st:
        rates = await take(st, 3)
        [topic] = _subscribed(sim, name)  # the venue's channel, not polling:
    assert topic.endswith(CHANNELS[name])
    assert not [p for p in venue.stats.by_path if "fund" in p.lower() or "premium" in p.lower()]
    inst = venue.market.find("BTCUSDT", "perp")
    assert inst is not None
    for r in rates:
        assert isinstance(r, FundingRate) and r.symbol == SYMBOL and r.timestamp is not None
        coming = fm.next_funding(r.timestamp)
        assert r.funding_time == coming
        assert r.rate == fm.funding_rate(venue.market, inst, coming)
        if name == "okx":
            assert r.next_funding_time == coming + EIGHT_HOURS and r.interval_ms == EIGHT_HOURS
        else:
            assert r.mark_price == venue.market.price(inst, r.timestamp)
            assert r.index_price == fm.index_price(venue.market, inst, r.timestamp)
    assert rates[-1].timestamp > rates[0].timestamp  # a value per push, each stamped by the venue


@pytest.mark.parametrize("venue_session", list(STREAMED_OI), indirect=True)
async def test_open_interest_streams_the_markets_values(venue_session: Any) -> None:
    venue, _, s = venue_session
    async with s.stream(OpenInterest, exchange=venue.name, symbol=SYMBOL) as st:
        got = await take(st, 4)
    inst = venue.market.find("BTCUSDT", "perp")
    assert inst is not None
    for oi in got:
        assert isinstance(oi, OpenInterest) and oi.size > 0
        assert oi.size == fm.open_interest(venue.market, inst, oi.timestamp)
        value = fm.open_interest_value(venue.market, inst, oi.timestamp)
        assert oi.value == (None if venue.name == "bitget" else value)  # Bitget gives no value
    assert got[-1].timestamp > got[0].timestamp


@pytest.mark.parametrize("venue_session", ["bybit"], indirect=True)
async def test_one_bybit_tickers_topic_serves_three_models_with_one_subscription(venue_session: Any) -> None:
    _, sim, s = venue_session
    tickers = s.stream(Ticker, exchange="bybit", symbol=SYMBOL)
    await take(tickers, 5)  # deltas are flowing before the other models join the topic
    rates = s.stream(FundingRate, exchange="bybit", symbol=SYMBOL)
    ois = s.stream(OpenInterest, exchange="bybit", symbol=SYMBOL)
    got_rates, got_ois, got_tickers = await asyncio.gather(take(rates, 1), take(ois, 3), take(tickers, 3))
    assert _subscribed(sim, "bybit") == {"perp:tickers.BTCUSDT": 1}  # one subscription for the three
    assert sim.streams["bybit"].stats.subscribe_messages == 1  # the later models sent no subscribe
    assert all(isinstance(x, FundingRate) for x in got_rates)
    assert all(isinstance(x, OpenInterest) for x in got_ois)
    assert all(isinstance(x, Ticker) for x in got_tickers)
    hub = s._streams.stats()
    assert (hub["consumers"], hub["upstreams"]) == (3, 1)
    await rates.close()
    await tickers.close()
    more = await take(ois, 2)  # the last reader keeps the topic
    assert all(isinstance(x, OpenInterest) for x in more)
    assert _subscribed(sim, "bybit") == {"perp:tickers.BTCUSDT": 1}
    await ois.close()
    await asyncio.wait_for(_until(lambda: not _subscribed(sim, "bybit")), 10)
    assert s._streams.stats()["upstreams"] == 0


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("venue_session", ["bitget"], indirect=True)
async def test_bitget_ticker_and_funding_share_the_ticker_channel(venue_session: Any) -> None:
    _, sim, s = venue_session
    async with s.stream(Ticker, exchange="bitget", symbol=SYMBOL) as tickers, \
            s.stream(FundingRate, exchange="bitget", symbol=SYMBOL) as rates:
        got_t, got_r = await asyncio.gather(take(tickers, 2), take(rates, 2))
        assert len(_subscribed(sim, "bitget")) == 1
    assert all(isinstance(t, Ticker) for t in got_t) and all(isinstance(r, FundingRate) for r in got_r)


@pytest.mark.parametrize("venue_session", ["binance"], indirect=True)
async def test_a_non_numeric_binance_rate_is_refused_with_an_event(venue_session: Any) -> None:
    venue, sim, s = venue_session
    async with s.stream(FundingRate, exchange="binance", symbol=SYMBOL, events=True) as st:
        await take(st, 1, keep=lambda x: isinstance(x, FundingRate))
        server = sim.streams["binance"]
        feed = next(f for k, f in server.feeds.items() if k.endswith("btcusdt@markPrice"))
        server.publish(feed, {**BINANCE_MARK, "E": venue.now_ms(), "r": "NaN-ish"})
        [event] = await take(st, 1, keep=lambda x: isinstance(x, FrameRefused))
        after = await take(st, 2, keep=lambda x: isinstance(x, FundingRate))
    assert event.topic == "btcusdt@markPrice" and "r is 'NaN-ish'" in event.reason
    assert all(r.native_symbol == "BTCUSDT" and r.rate.is_finite() for r in after)  # the stream carries on


@pytest.mark.parametrize("venue_session", ["bybit"], indirect=True)
async def test_a_negative_bybit_open_interest_is_refused_with_an_event(venue_session: Any) -> None:
    venue, sim, s = venue_session
    async with s.stream(OpenInterest, exchange="bybit", symbol=SYMBOL, events=True) as st:
        await take(st, 1, keep=lambda x: isinstance(x, OpenInterest))
        server = sim.streams["bybit"]
        feed = server.feeds["perp:tickers.BTCUSDT"]
        server.publish(feed, {"topic": "tickers.BTCUSDT", "type": "delta", "ts": venue.now_ms(),
                              "data": {"symbol": "BTCUSDT", "openInterest": "-12.5"}})
        [event] = await take(st, 1, keep=lambda x: isinstance(x, FrameRefused))
        after = await take(st, 3, keep=lambda x: isinstance(x, OpenInterest))
    assert event.topic == "tickers.BTCUSDT" and "openInterest is '-12.5'" in event.reason
    assert all(oi.size > 0 for oi in after)


def test_the_cli_streams_funding_rates_as_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    with Simulator(venues={"okx": OkxVenue()}) as sim:
        urls = [arg for api, url in sim.urls()["okx"].items()
                for arg in ("--url", f"okx={url}" if api == "rest" else f"okx.{api}={url}")]
        code = main(["stream", "funding-rate", "--exchange", "okx", "--symbol", SYMBOL, "--count", "2",
                     *urls])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(lines) == 2
    assert {(line["symbol"], line["native_symbol"]) for line in lines} == {(SYMBOL, "BTC-USDT-SWAP")}
    assert all(line["funding_time"] % EIGHT_HOURS == 0 and line["interval_ms"] == EIGHT_HOURS
               for line in lines)


# -- Bybit deltas: a property of the merge ---------------------------------------------------

_DIGITS = st.integers(min_value=0, max_value=10**9).map(lambda n: f"{n / 1000:.3f}")
_DELTA = st.fixed_dictionaries({}, optional={
    "openInterest": _DIGITS, "openInterestValue": _DIGITS, "markPrice": _DIGITS, "bid1Price": _DIGITS,
    "fundingRate": st.integers(min_value=-10**6, max_value=10**6).map(lambda n: f"{n / 10**8:.8f}")})


@settings(max_examples=60, deadline=None)
@given(deltas=st.lists(_DELTA, max_size=12))
def test_bybit_values_equal_the_snapshot_with_every_delta_laid_over_it(deltas: list[dict[str, str]]) -> None:
    api = Bybit()
    ticker_binding = registry.lookup_stream(Ticker, "bybit")(api)  # another reader of the same frames
    oi_binding = registry.lookup_stream(OpenInterest, "bybit")(api)
    query, ticker_query = _q(OpenInterest, "bybit"), _q(Ticker, "bybit")
    state = dict(BYBIT_SNAPSHOT["data"])
    messages: list[dict[str, Any]] = [BYBIT_SNAPSHOT] + [
        {"topic": "tickers.BTCUSDT", "type": "delta", "ts": 1673272861686 + i + 1,
         "data": {"symbol": "BTCUSDT", **d}} for i, d in enumerate(deltas)]
    for i, message in enumerate(messages):
        state.update(message["data"])
        _parse(api, Ticker, ticker_query, "BTCUSDT", "ws.linear", [message], ticker_binding)
        got = _parse(api, OpenInterest, query, "BTCUSDT", "ws.linear", [message], oi_binding)
        carries = i == 0 or {"openInterest", "openInterestValue"} & set(message["data"])
        assert len(got) == (1 if carries else 0)
        if got:
            assert (got[0].size, got[0].value, got[0].timestamp) == (
                Decimal(state["openInterest"]), Decimal(state["openInterestValue"]), message["ts"])


async def test_a_bybit_model_joining_a_live_tickers_topic_starts_from_the_merged_record(
        clock: ScaledClock) -> None:
    """A FundingRate stream opened while a Ticker stream keeps ``tickers.BTCUSDT`` subscribed gets
    the topic's current record at once, while the venue sends nothing at all on the topic."""
    from tradeflood.bindings.bybit.tickers_live import ticker_records

    venue = BybitVenue(clock=clock)
    # Stale detection far beyond the quiet spell below: the quiet must not be ended by a resubscribe.
    settings = StreamSettings(backoff=Backoff(first=0.5, most=3.0), stale_after=100.0, open_timeout=5.0)
    async with Simulator({"bybit": venue}) as sim, \
            tradeflood.Session(urls=sim.urls(), clock=clock, store=False, stream_settings=settings) as s:
        server, name = sim.streams["bybit"], "perp:tickers.BTCUSDT"
        async with s.stream(Ticker, exchange="bybit", symbol=SYMBOL) as tickers:
            await take(tickers, 3)  # the snapshot and deltas have come
            quiet_until = clock.monotonic() + 600  # ten real seconds without a push on the topic
            server.quiet_topic(name, 600)
            sent = server.feeds[name].sent  # the simulator's record as of its last push
            records, key = ticker_records(s.connector(Bybit)), "ws.linear:tickers.BTCUSDT"

            def caught_up() -> bool:  # every push sent before the quiet has been read
                found = records.current(key)
                return found is not None and all(found[0].get(k) == v for k, v in sent.items())
            await asyncio.wait_for(_until(caught_up), 10)
            [reader] = s._streams._readers[("bybit", "ws.linear", "tickers.BTCUSDT")]
            frames, (record, stamp) = reader.frames, records.current(key)  # type: ignore[misc]
            async with s.stream(FundingRate, exchange="bybit", symbol=SYMBOL) as rates, \
                    s.stream(OpenInterest, exchange="bybit", symbol=SYMBOL) as ois:
                [rate], [oi] = await take(rates, 1), await take(ois, 1)
                assert reader.frames == frames and clock.monotonic() < quiet_until  # no frame came
            assert s._streams.stats()["upstreams"] == 1 and server.stats.subscribe_messages == 1
    inst = venue.market.find("BTCUSDT", "perp")
    assert inst is not None
    coming = fm.next_funding(stamp)
    assert (rate.timestamp, rate.funding_time) == (stamp, coming)
    assert rate.rate == fm.funding_rate(venue.market, inst, coming) == Decimal(sent["fundingRate"])
    assert rate.mark_price == venue.market.price(inst, stamp) == Decimal(record["markPrice"])
    assert rate.index_price == fm.index_price(venue.market, inst, stamp)
    assert (oi.timestamp, oi.size) == (stamp, fm.open_interest(venue.market, inst, stamp))
    assert oi.value == fm.open_interest_value(venue.market, inst, stamp)


@pytest.mark.parametrize("venue_session", ["bybit"], indirect=True)
async def test_a_bybit_funding_stream_reopened_on_a_carried_topic_gets_a_value_at_once(
        venue_session: Any) -> None:
    """Closing and reopening the FundingRate stream while the Ticker keeps the topic: the new
    stream starts from the merged record (its last push's time), then follows the deltas."""
    venue, sim, s = venue_session
    async with s.stream(Ticker, exchange="bybit", symbol=SYMBOL) as tickers:
        await take(tickers, 2)
        async with s.stream(FundingRate, exchange="bybit", symbol=SYMBOL) as rates:
            first = await take(rates, 2)
        async with s.stream(FundingRate, exchange="bybit", symbol=SYMBOL) as rates:
            again = await take(rates, 2)
        assert sim.streams["bybit"].stats.subscribe_messages == 1  # the topic stayed subscribed
    inst = venue.market.find("BTCUSDT", "perp")
    assert inst is not None
    for r in [*first, *again]:
        assert r.rate == fm.funding_rate(venue.market, inst, fm.next_funding(r.timestamp))
        assert r.mark_price == venue.market.price(inst, r.timestamp)
    assert again[0].timestamp >= first[-1].timestamp and again[1].timestamp > again[0].timestamp
