"""The simulated venues' candle feeds when the pump comes late: every bar closed since the last
poll is pushed once, in order, with the market's prices, then the forming bar, in each venue's shape."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tradeflood.clock import VirtualClock
from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._binance_ws import BinanceStreams
from tradeflood.testing._bitget import BitgetVenue
from tradeflood.testing._bitget_ws import BitgetStreams
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._bybit_ws import BybitStreams
from tradeflood.testing._derived import price_bar
from tradeflood.testing._grid import Grid
from tradeflood.testing._market import Bar
from tradeflood.testing._okx import OkxVenue
from tradeflood.testing._okx_ws import CANDLE_CHANNELS, OkxStreams, _Candles
from tradeflood.testing._ws import BarFeed, Feed

MINUTE = 60_000
GRID = Grid.fixed(MINUTE)
T0 = 1_717_200_000_000  # a minute boundary
#: (open time, open, high, low, close, final) as a feed pushed it; final is None where the wire has no flag
Row = tuple[int, Decimal, Decimal, Decimal, Decimal, bool | None]
Truth = Callable[[int, int], Any]  # (open_ms, now_ms) -> the venue's bar with .open .high .low .close


def _okx(kind: str) -> tuple[Feed, Truth, Callable[[list[Any]], list[Row]]]:
    venue = OkxVenue(clock=VirtualClock(T0 / 1000))
    server = OkxStreams(venue, clock=venue.clock)
    if kind == "trade":
        inst = venue.market.find("BTCUSDT", "spot")
        assert inst is not None
        feed: Feed = _Candles(CANDLE_CHANNELS["candle1m"], {"channel": "candle1m", "instId": "BTC-USDT"},
                              inst, venue.market, 1.0)

        def truth(t: int, now: int) -> Bar:
            return venue.market.bar(inst, GRID, t, now)
    else:
        perp = venue.market.find("BTCUSDT", "perp")
        price_feed = server._price_candles(f"{kind}-candle1m" if kind == "index" else "mark-price-candle1m",
                                           "BTC-USDT" if kind == "index" else "BTC-USDT-SWAP")
        assert perp is not None and price_feed is not None
        feed = price_feed

        def truth(t: int, now: int) -> Any:
            return price_bar(venue.market, perp, GRID, t, now, kind)

    def rows(pushes: list[Any]) -> list[Row]:
        out = []
        for push in pushes:
            assert len(push["data"]) == 1  # one push a bar, as OKX sends them
            r = push["data"][0]
            out.append((int(r[0]), *(Decimal(x) for x in r[1:5]), {"1": True, "0": False}[r[-1]]))
        return out
    return feed, truth, rows


def _bitget() -> tuple[Feed, Truth, Callable[[list[Any]], list[Row]]]:
    venue = BitgetVenue(clock=VirtualClock(T0 / 1000))
    feed = BitgetStreams(venue, clock=venue.clock)._feed({"instType": "SPOT", "channel": "candle1m",
                                                          "instId": "BTCUSDT"})
    inst = venue.market.find("BTCUSDT", "spot")
    assert feed is not None and inst is not None

    def rows(pushes: list[Any]) -> list[Row]:
        assert len(pushes) == 1 and pushes[0]["action"] == "update"  # every row in one update
        assert pushes[0]["arg"] == {"instType": "SPOT", "channel": "candle1m", "instId": "BTCUSDT"}
        return [(int(r[0]), *(Decimal(x) for x in r[1:5]), None) for r in pushes[0]["data"]]
    return feed, lambda t, now: venue.market.bar(inst, GRID, t, now), rows


def _bybit() -> tuple[Feed, Truth, Callable[[list[Any]], list[Row]]]:
    venue = BybitVenue(clock=VirtualClock(T0 / 1000))
    feed = BybitStreams(venue, clock=venue.clock)._feed("spot", "kline.1.BTCUSDT")
    inst = venue.market.find("BTCUSDT", "spot")
    assert feed is not None and inst is not None

    def rows(pushes: list[Any]) -> list[Row]:
        assert len(pushes) == 1 and pushes[0]["topic"] == "kline.1.BTCUSDT"  # every kline in one push
        out = []
        for r in pushes[0]["data"]:
            assert r["interval"] == "1"
            assert r["end"] == r["start"] + 59_999  # Bybit: the bar's last millisecond
            out.append((r["start"], *(Decimal(r[k]) for k in ("open", "high", "low", "close")), r["confirm"]))
        return out
    return feed, lambda t, now: venue.market.bar(inst, GRID, t, now), rows


def _binance() -> tuple[Feed, Truth, Callable[[list[Any]], list[Row]]]:
    venue = BinanceVenue(clock=VirtualClock(T0 / 1000))
    feed = BinanceStreams(venue, clock=venue.clock)._feed("spot", "btcusdt@kline_1m")
    inst = venue.market.find("BTCUSDT", "spot")
    assert feed is not None and inst is not None

    def rows(pushes: list[Any]) -> list[Row]:
        out = []
        for event in pushes:  # one event a kline
            k = event["k"]
            assert event["e"] == "kline" and k["i"] == "1m" and k["T"] == k["t"] + MINUTE - 1
            out.append((k["t"], *(Decimal(k[x]) for x in "ohlc"), k["x"]))
        return out
    return feed, lambda t, now: venue.market.bar(inst, GRID, t, now), rows


FEEDS = {
    "okx": lambda: _okx("trade"), "okx-mark": lambda: _okx("mark"), "okx-index": lambda: _okx("index"),
    "bitget": _bitget, "bybit": _bybit, "binance": _binance,
}


@pytest.mark.parametrize("venue", FEEDS)
def test_a_late_poll_pushes_every_closed_bar_once_in_order_then_the_forming_one(venue: str) -> None:
    feed, truth, rows = FEEDS[venue]()
    assert isinstance(feed, BarFeed)
    polls = [T0 + 30_000, T0 + 4 * MINUTE + 5_000, T0 + 4 * MINUTE + 40_000, T0 + 7 * MINUTE + 1,
             T0 + 8 * MINUTE + 59_999]
    closed: list[Row] = []
    for now in polls:
        pushed = rows(feed.poll(now))
        *done, forming = pushed
        assert forming[0] == GRID.floor(now) and forming[5] in (False, None)
        bar = truth(forming[0], now)
        assert forming[1:5] == (bar.open, bar.high, bar.low, bar.close)
        for row in done:
            bar = truth(row[0], now)
            assert row[1:5] == (bar.open, bar.high, bar.low, bar.close) and row[5] in (True, None)
        closed += done
    # each bar from the first poll's to the one before the last poll's, exactly once and in order
    assert [r[0] for r in closed] == [T0 + i * MINUTE for i in range(8)]
    for row in closed:  # a closed bar's values are final: as the market has them long after
        bar = truth(row[0], T0 + 60 * MINUTE)
        assert row[1:5] == (bar.open, bar.high, bar.low, bar.close)


@pytest.mark.parametrize("venue", FEEDS)
def test_a_feed_left_unpolled_for_long_catches_up_only_the_newest_bars(venue: str) -> None:
    feed, _, rows = FEEDS[venue]()
    assert isinstance(feed, BarFeed)
    feed.catch_up = 3
    rows(feed.poll(T0 + 1_000))
    now = T0 + 10 * MINUTE + 1_000
    assert [r[0] for r in rows(feed.poll(now))] == [T0 + i * MINUTE for i in (7, 8, 9, 10)]


def test_a_clock_that_goes_back_pushes_only_the_forming_bar() -> None:
    feed, _, rows = _bybit()
    rows(feed.poll(T0 + 3 * MINUTE))
    assert [r[0] for r in rows(feed.poll(T0 + MINUTE + 5))] == [T0 + MINUTE]
    assert [(r[0], r[5]) for r in rows(feed.poll(T0 + 2 * MINUTE + 5))] == [(T0 + MINUTE, True),
                                                                          (T0 + 2 * MINUTE, False)]
