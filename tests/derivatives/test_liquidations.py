"""Liquidation streams: each venue's documented push parsed to values, and live against the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

import tradeflood
from tradeflood.bindings.binance import parse_force_order
from tradeflood.bindings.bybit import parse_liquidation_push
from tradeflood.bindings.okx import parse_liquidation_orders
from tradeflood.clock import ScaledClock
from tradeflood.connectors.okx import OkxStream
from tradeflood.errors import PayloadError, QueryError, UnknownExchangeError
from tradeflood.models import Liquidation
from tradeflood.streams import StreamEvent
from tradeflood.testing import Simulator
from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._derived import LIQUIDATION_SPACING_MS, liquidation
from tradeflood.testing._okx import OkxVenue

# The payloads below follow the venues' documented examples (values changed, shapes kept).
BINANCE = {"e": "forceOrder", "E": 1568014460893, "o": {
    "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.014", "p": "9910", "ap": "9910.5",
    "X": "FILLED", "l": "0.014", "z": "0.014", "T": 1568014460893}}
BYBIT = [{"T": 1739502302929, "s": "ROSEUSDT", "S": "Sell", "v": "20000", "p": "0.04499"},
         {"T": 1739502302930, "s": "ROSEUSDT", "S": "Buy", "v": "1.5", "p": "0.045"}]
OKX = [{"details": [{"bkLoss": "0", "bkPx": "0.007831", "ccy": "", "posSide": "short", "side": "buy",
                     "sz": "13", "ts": "1692266434010"}],
        "instFamily": "IOST-USDT", "instId": "IOST-USDT-SWAP", "instType": "SWAP", "uly": "IOST-USDT"}]


def test_binance_force_order() -> None:
    liq = parse_force_order(BINANCE, symbol="BTC/USDT:USDT")
    assert (liq.side, liq.price, liq.amount, liq.timestamp) == ("sell", Decimal("9910.5"), Decimal("0.014"),
                                                                1568014460893)
    assert liq.native_symbol == "BTCUSDT"
    with pytest.raises(PayloadError, match="BUY or SELL"):
        parse_force_order({"o": {**BINANCE["o"], "S": "LONG"}}, symbol="BTC/USDT:USDT")  # type: ignore[dict-item]


def test_bybit_all_liquidation_gives_the_order_side() -> None:
    first, second = parse_liquidation_push(BYBIT, symbol="ROSE/USDT:USDT")
    assert (first.side, first.price, first.amount) == ("buy", Decimal("0.04499"), Decimal("20000"))  # a short
    assert (second.side, second.timestamp) == ("sell", 1739502302930)  # a long closed by selling


def test_okx_liquidation_orders_in_base() -> None:
    [liq] = parse_liquidation_orders(OKX, symbol="IOST/USDT:USDT", native_symbol="IOST-USDT-SWAP",
                                     contract_size=Decimal("1000"))
    assert (liq.side, liq.price, liq.amount, liq.timestamp) == ("buy", Decimal("0.007831"), Decimal("13000"),
                                                                1692266434010)
    assert parse_liquidation_orders(OKX, symbol="BTC/USDT:USDT", native_symbol="BTC-USDT-SWAP") == []


def test_okx_pushes_route_by_instrument() -> None:
    raw = '{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":' + \
          '[{"instId":"IOST-USDT-SWAP","details":[]}]}'
    assert OkxStream().decode(raw).topic == "liquidation-orders:IOST-USDT-SWAP"


def test_bitget_has_none_and_spot_has_none() -> None:
    with pytest.raises(UnknownExchangeError,
                       match=r"bitget has no Liquidation streams; venues that do: binance, bybit, okx"):
        tradeflood.registry.resolve(tradeflood.Query(Liquidation, exchange="bitget", symbol="BTC/USDT:USDT",
                                                     live=True))
    for venue in ("binance", "bybit", "okx"):
        with pytest.raises(QueryError, match="spot"):
            tradeflood.registry.resolve(tradeflood.Query(Liquidation, exchange=venue, symbol="BTC/USDT",
                                                         live=True))


@pytest.fixture
async def session() -> AsyncIterator[tuple[tradeflood.Session, Simulator]]:
    clock = ScaledClock(5.0)  # a liquidation every 0.4 real seconds
    venues = {"binance": BinanceVenue(clock=clock), "bybit": BybitVenue(clock=clock),
              "okx": OkxVenue(clock=clock)}
    async with Simulator(venues) as sim, \
            tradeflood.Session(urls=sim.urls(), clock=clock, store=False) as s:
        yield s, sim


async def _take(stream: Any, n: int) -> list[Liquidation]:
    out: list[Liquidation] = []

    async def run() -> None:
        while len(out) < n:
            item = await stream.get()
            if not isinstance(item, StreamEvent):
                out.append(item)
    await asyncio.wait_for(run(), 60)
    return out


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
async def test_live_liquidations_match_the_venue(venue: str,
                                                 session: tuple[tradeflood.Session, Simulator]) -> None:
    s, sim = session
    market = sim.venues[venue].market
    inst = market.find("ETHUSDT", "perp")
    assert inst is not None
    async with s.stream(Liquidation, exchange=venue, symbol="ETH/USDT:USDT") as st, \
            s.stream(Liquidation, exchange=venue, symbol="BTC/USDT:USDT") as other:
        got = await _take(st, 3)
        btc = await _take(other, 1)
    assert btc[0].symbol == "BTC/USDT:USDT"
    times = [x.timestamp for x in got]
    assert times == sorted(times) and len(set(times)) == 3
    for x in got:
        want = liquidation(market, inst, (x.timestamp - inst.listed_ms) // LIQUIDATION_SPACING_MS)
        assert (x.timestamp, x.price, x.amount, x.side) == (want.ts_ms, want.price, want.size, want.side)
        assert x.symbol == "ETH/USDT:USDT" and x.exchange == venue


async def test_okx_liquidation_streams_share_one_subscription(
        session: tuple[tradeflood.Session, Simulator]) -> None:
    s, sim = session
    stats = sim.streams["okx"].stats
    market = sim.venues["okx"].market
    eth = market.find("ETHUSDT", "perp")
    assert eth is not None
    key = "liquidation-orders:None"  # the simulator's name of the one all-swaps subscription
    async with s.stream(Liquidation, exchange="okx", symbol="ETH/USDT:USDT") as st:
        await _take(st, 1)
        async with s.stream(Liquidation, exchange="okx", symbol="BTC/USDT:USDT") as btc, \
                s.stream(Liquidation, exchange="okx", symbol="SOL/USDT:USDT") as sol:
            [b], [x] = await _take(btc, 1), await _take(sol, 1)
            assert (b.symbol, x.symbol) == ("BTC/USDT:USDT", "SOL/USDT:USDT")
            assert stats.subscribe_requests[key] == 1  # three symbols, one request to the venue
            assert stats.subscriptions[key] == 1
        # BTC and SOL left; ETH's liquidations keep coming over the same subscription.
        assert s.stream_stats()["consumers"] == 1
        after = (await _take(st, 1))[0].timestamp
        got = await _take(st, 2)
        assert stats.unsubscribe_requests[key] == 0 and stats.subscriptions[key] == 1
        assert stats.subscribe_requests[key] == 1
    for x in got:
        assert x.timestamp > after and x.symbol == "ETH/USDT:USDT"
        want = liquidation(market, eth, (x.timestamp - eth.listed_ms) // LIQUIDATION_SPACING_MS)
        assert (x.price, x.amount, x.side) == (want.price, want.size, want.side)

    async def unsubscribed() -> None:
        while stats.unsubscribe_requests[key] < 1:
            await asyncio.sleep(0.01)
    await asyncio.wait_for(unsubscribed(), 30)  # the last stream's end drops the venue subscription
    assert stats.unsubscribe_requests[key] == 1
