"""Polled trade streams start like WebSocket trade streams: the first poll's page is history,
then each trade the venue makes after it comes once, in order; a page that no longer reaches
back to the last trade seen is reported as a TradeGap before its trades.

The venues are simulated in-process on one virtual clock, whose trades are numbered one a
second from the listing (``Market.trade`` says what each was), so every id, time, price and
gap below is known in advance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradeflood import Session, VirtualClock
from tradeflood.clock import ScaledClock
from tradeflood.models import Trade
from tradeflood.streams import StreamEvent, TradeGap
from tradeflood.streams._poll import TradeCursor
from tradeflood.testing import Simulator, SimulatorTransport, take
from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._bitget import BitgetVenue
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._faults import FaultKind
from tradeflood.testing._market import Instrument
from tradeflood.testing._okx import OkxVenue
from tradeflood.testing._venue import Call, SimResponse, Venue

NOW = 1_717_200_030_000  # the virtual clock's start: the first poll is asked then
VENUES: dict[str, type[Venue]] = {"binance": BinanceVenue, "bitget": BitgetVenue, "bybit": BybitVenue,
                                  "okx": OkxVenue}


def _venue(name: str) -> tuple[Venue, VirtualClock, Instrument]:
    clock = VirtualClock(start=NOW / 1000)
    venue = VENUES[name](clock=clock)
    inst = venue.market.find("BTCUSDT", "spot")  # the simulated market's own id, on every venue
    assert inst is not None
    return venue, clock, inst


def _session(venue: Venue, clock: VirtualClock) -> Session:
    return Session(transport=SimulatorTransport({venue.name: venue}), clock=clock, store=False)


async def _polled(venue: Venue, clock: VirtualClock, n: int,
                  **params: Any) -> tuple[list[Any], dict[str, int]]:
    """The first ``n`` items (trades and events) of a polled BTC/USDT trade stream, and its
    events counted by kind."""
    async with _session(venue, clock) as s, \
            s.stream(Trade, exchange=venue.name, symbol="BTC/USDT", events=True, **params) as st:
        return await take(st, n, timeout=60), dict(st.events)


def _as_made(venue: Venue, inst: Instrument, trade: Trade) -> None:
    """``trade`` is the venue's trade of that id, field for field."""
    tick = venue.market.trade(inst, int(trade.id))
    assert (trade.timestamp, trade.price, trade.amount) == (tick.ts_ms, tick.price, tick.size)
    assert trade.side == ("sell" if tick.buyer_is_maker else "buy")


@pytest.mark.parametrize("name", list(VENUES))
async def test_a_polled_trade_stream_starts_after_the_first_poll(name: str) -> None:
    venue, clock, inst = _venue(name)
    got, events = await _polled(venue, clock, 12, poll=5)
    first = venue.market.last_trade_id(inst, NOW) + 1  # the first trade made after the first poll
    assert [item.id for item in got] == [str(first + i) for i in range(12)]  # no gap event among them
    assert got[0].timestamp > NOW - 1_000 and venue.market.trade(inst, first - 1).ts_ms <= NOW
    for trade in got:
        _as_made(venue, inst, trade)
        assert (trade.exchange, trade.symbol) == (name, "BTC/USDT")
    assert events == {}


async def test_a_page_that_no_longer_reaches_back_is_a_gap() -> None:
    """30 trades between polls 30 s apart, pages of 10: each poll after the first reports the
    20 trades its page could not show as a gap, then hands out the page's 10, in order."""
    venue, clock, inst = _venue("bitget")
    got, events = await _polled(venue, clock, 22, limit=10, poll=30)
    assert events == {"TradeGap": 2}
    market = venue.market
    delivered: list[Any] = []
    for poll in (1, 2):
        newest = market.last_trade_id(inst, NOW + poll * 30_000)
        before = market.last_trade_id(inst, NOW + (poll - 1) * 30_000)
        assert newest - before == 30
        gap, *page = got[(poll - 1) * 11:poll * 11]
        assert isinstance(gap, TradeGap)
        assert (gap.exchange, gap.symbol, gap.late_id) == ("bitget", "BTC/USDT", None)
        assert gap.last_id == str(before)  # the last trade seen: the first poll's newest, then a page's
        assert gap.start_ms == market.trade(inst, before).ts_ms
        assert gap.end_ms == market.trade(inst, newest - 9).ts_ms  # the page's oldest trade
        assert gap.timestamp == NOW + poll * 30_000
        assert [t.id for t in page] == [str(i) for i in range(newest - 9, newest + 1)]
        delivered += page
    for trade in delivered:
        _as_made(venue, inst, trade)
    assert len({t.id for t in delivered}) == 20


async def test_a_full_page_that_starts_right_after_the_last_trade_is_no_gap() -> None:
    """Pages of 30, 30 trades between polls: no page shows a trade seen before, but each starts
    with the very next id, so none was left out."""
    venue, clock, inst = _venue("okx")
    got, events = await _polled(venue, clock, 75, limit=30, poll=30)
    assert events == {}
    first = venue.market.last_trade_id(inst, NOW) + 1
    assert not any(isinstance(item, StreamEvent) for item in got)
    assert [t.id for t in got] == [str(first + i) for i in range(75)]
    for trade in got[::7]:
        _as_made(venue, inst, trade)


class _FillsLog(BitgetVenue):
    """The simulated venue, noting the clock time each recent-trades page was made at."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.pages_at: list[int] = []

    def _answer(self, method: str, call: Call, fault: FaultKind | None) -> SimResponse:
        if call.path == "/api/v2/spot/market/fills":
            self.pages_at.append(call.now_ms)
        return super()._answer(method, call, fault)


async def test_a_polled_trade_stream_on_a_scaled_clock_over_real_sockets() -> None:
    """10x, polls every 2 clock seconds (a fifth of a real second), one trade a clock second: a
    stall of up to 10 real seconds still leaves the venue's page of 100 reaching back."""
    clock = ScaledClock(10.0, start=NOW / 1000)
    venue = _FillsLog(clock=clock)
    inst = venue.market.find("BTCUSDT", "spot")
    assert inst is not None
    async with Simulator({"bitget": venue}, ws=False) as sim, \
            Session(urls=sim.urls(), clock=clock, store=False) as s, \
            s.stream(Trade, exchange="bitget", symbol="BTC/USDT", poll=2, events=True) as st:
        got = await take(st, 30, timeout=60)
    first = venue.market.last_trade_id(inst, venue.pages_at[0]) + 1  # made after the first page
    assert [t.id for t in got] == [str(first + i) for i in range(30)]  # no gap event among them
    for trade in got:
        _as_made(venue, inst, trade)
    assert len(venue.pages_at) >= 2  # the 30 came over several polls


# -- the cursor alone: ids that are not numbers, repeats, pages in any order -------------------


def _trade(ident: str, ts: int) -> Trade:
    return Trade(exchange="x", symbol="BTC/USDT", native_symbol="BTCUSDT", id=ident, timestamp=ts,
                 price=Decimal("100"), amount=Decimal("1"), side="buy")


def test_the_first_page_is_history_and_later_pages_give_each_new_trade_once() -> None:
    cursor = TradeCursor()
    cursor.start([_trade("12", 1_200), _trade("10", 1_000), _trade("11", 1_100)])
    fresh, gap, _ = cursor.take([_trade("13", 1_300), _trade("11", 1_100), _trade("12", 1_200)])
    assert [t.id for t in fresh] == ["13"] and gap is None
    fresh, gap, _ = cursor.take([_trade("15", 1_500), _trade("14", 1_400), _trade("13", 1_300)])
    assert [t.id for t in fresh] == ["14", "15"] and gap is None  # in id order, whatever the page's
    fresh, gap, _ = cursor.take([_trade("15", 1_500)])
    assert fresh == [] and gap is None
    fresh, gap, _ = cursor.take([_trade("18", 1_800), _trade("19", 1_900)])  # 16 and 17 never seen
    assert [t.id for t in fresh] == ["18", "19"]
    assert gap is not None and gap.id == "15"
    fresh, gap, _ = cursor.take([_trade("20", 2_000), _trade("21", 2_100)])  # right after 19: whole
    assert [t.id for t in fresh] == ["20", "21"] and gap is None


def test_ids_that_are_not_numbers_go_by_time_and_a_trade_of_the_same_millisecond_still_counts() -> None:
    cursor = TradeCursor()
    cursor.start([_trade("b", 1_000), _trade("a", 900)])
    # "a2" sorts before "b" but is of b's millisecond and was never seen: new, once.
    fresh, gap, _ = cursor.take([_trade("a", 900), _trade("b", 1_000), _trade("a2", 1_000),
                                 _trade("c", 1_100)])
    assert [t.id for t in fresh] == ["a2", "c"] and gap is None
    fresh, gap, _ = cursor.take([_trade("a2", 1_000), _trade("c", 1_100)])
    assert fresh == [] and gap is None
    fresh, gap, _ = cursor.take([_trade("e", 1_300), _trade("d", 1_250), _trade("d2", 1_260),
                                 _trade("f", 1_400)])  # nothing seen before, as long as the longest page
    assert [t.id for t in fresh] == ["d", "d2", "e", "f"]
    assert gap is not None and gap.id == "c"


def test_an_all_new_page_of_ids_that_are_not_numbers_is_a_gap_only_when_full() -> None:
    """Ids that are not numbers cannot show a hole: a page holding nothing seen is a gap when it
    is as long as the page asked for (the venue may have had more), not when it is shorter."""
    cursor = TradeCursor(limit=3)
    cursor.start([_trade("a", 100), _trade("b", 200), _trade("c", 300)])
    fresh, gap, _ = cursor.take([_trade("e", 500), _trade("d", 400)])  # 2 of 3: all there was since c
    assert [t.id for t in fresh] == ["d", "e"] and gap is None
    fresh, gap, _ = cursor.take([_trade("f", 600), _trade("h", 800), _trade("g", 700)])  # 3 of 3
    assert [t.id for t in fresh] == ["f", "g", "h"]
    assert gap is not None and (gap.id, gap.timestamp) == ("e", 500)
    fresh, gap, _ = cursor.take([_trade("i", 900)])
    assert [t.id for t in fresh] == ["i"] and gap is None


def test_without_a_limit_the_longest_page_seen_is_the_full_page() -> None:
    cursor = TradeCursor()
    cursor.start([_trade("a", 100), _trade("b", 200), _trade("c", 300)])  # the venue's page: 3
    fresh, gap, _ = cursor.take([_trade("d", 400), _trade("e", 500)])
    assert [t.id for t in fresh] == ["d", "e"] and gap is None
    fresh, gap, _ = cursor.take([_trade("f", 600), _trade("g", 700), _trade("h", 800)])
    assert [t.id for t in fresh] == ["f", "g", "h"] and gap is not None and gap.id == "e"
    # A page longer than any before is full too: the venue's page is at least that long.
    fresh, gap, _ = cursor.take([_trade(x, 900 + i) for i, x in enumerate("ijkl")])
    assert [t.id for t in fresh] == list("ijkl") and gap is not None and gap.id == "h"


def test_numeric_ids_go_by_their_holes_whatever_the_page_length() -> None:
    cursor = TradeCursor(limit=10)
    cursor.start([_trade("10", 1_000), _trade("11", 1_100)])
    fresh, gap, _ = cursor.take([_trade("14", 1_400)])  # 1 of 10, yet 12 and 13 never came
    assert [t.id for t in fresh] == ["14"] and gap is not None and gap.id == "11"
    fresh, gap, _ = cursor.take([_trade(str(i), i * 100) for i in range(15, 25)])  # 10 of 10, no hole
    assert [t.id for t in fresh] == [str(i) for i in range(15, 25)] and gap is None


def test_an_empty_first_page_starts_with_the_next_trades() -> None:
    cursor = TradeCursor()
    cursor.start([])
    fresh, gap, _ = cursor.take([_trade("7", 700), _trade("8", 800)])
    assert [t.id for t in fresh] == ["7", "8"] and gap is None  # the venue had none before: all new


def test_a_trade_the_venue_added_late_is_reported_once_not_handed_out() -> None:
    cursor = TradeCursor()
    cursor.start([_trade("10", 1_000), _trade("11", 1_100), _trade("13", 1_300)])
    # 12 was not on the first page, yet sits between trades of this page already seen: late.
    fresh, gap, late = cursor.take([_trade("11", 1_100), _trade("12", 1_150), _trade("13", 1_300),
                                    _trade("14", 1_400)])
    assert [t.id for t in fresh] == ["14"] and gap is None
    assert [(t.id, t.timestamp) for t in late] == [("12", 1_150)]
    fresh, gap, late = cursor.take([_trade("12", 1_150), _trade("13", 1_300), _trade("14", 1_400)])
    assert fresh == [] and gap is None and late == []  # reported once
    # A trade older than anything on the page that was seen is beyond what the cursor can judge.
    fresh, gap, late = cursor.take([_trade("9", 900), _trade("14", 1_400), _trade("15", 1_500)])
    assert [t.id for t in fresh] == ["15"] and late == []


async def test_a_trade_the_venue_shows_late_is_a_gap_event_naming_it() -> None:
    """The venue leaves one trade out of a poll's page and shows it on the next: that trade is
    reported as late (``late_id``), never handed out, and every other trade comes once, in order."""
    venue, clock, inst = _venue("bitget")
    path = "/api/v2/spot/market/fills"
    route, polls = venue.routes[path], []
    hidden = str(venue.market.last_trade_id(inst, NOW + 5_000) - 2)  # made between the 1st and 2nd poll

    def hiding(call: Call) -> Any:
        polls.append(call.now_ms)
        body = route(call)
        if len(polls) == 2:  # the second poll's page lacks it; the third shows it
            body = [row for row in body if str(row["tradeId"]) != hidden]
        return body

    venue.routes[path] = hiding
    got, events = await _polled(venue, clock, 12, poll=5)
    assert events == {"TradeGap": 1}
    [gap] = [item for item in got if isinstance(item, TradeGap)]
    trades = [item for item in got if not isinstance(item, StreamEvent)]
    assert gap.late_id == hidden and gap.end_ms == _ts_of(trades, gap.last_id)
    assert gap.start_ms == venue.market.trade(inst, int(hidden)).ts_ms
    assert hidden not in {t.id for t in trades}
    ids = [int(t.id) for t in trades]
    assert ids == sorted(set(ids)) and set(range(ids[0], ids[-1] + 1)) - set(ids) == {int(hidden)}


def _ts_of(trades: list[Any], ident: str | None) -> int:
    return next(t.timestamp for t in trades if t.id == ident)


async def test_a_polled_stream_of_ids_that_are_not_numbers_reports_only_a_full_page_as_a_gap() -> None:
    """The venue's trade ids are not numbers and it answers each poll with the trades it has not
    shown yet, newest first, at most ``limit``: a page shorter than the limit is everything made
    since and no gap; after a poll it answered empty, the page of 8 holds 8 of the 10 trades
    made since: a gap, then those 8."""
    venue, clock, inst = _venue("bitget")
    path = "/api/v2/spot/market/fills"
    route, polls, shown = venue.routes[path], [], [0]

    def unshown(call: Call) -> Any:
        polls.append(call.now_ms)
        if len(polls) == 3:  # nothing this time: the next page has 10 trades to show, 8 at most
            return []
        body = [row for row in route(call) if int(row["tradeId"]) > shown[0]]
        shown[0] = max([shown[0]] + [int(row["tradeId"]) for row in body])
        return [dict(row, tradeId=f"t-{row['tradeId']}") for row in body]

    venue.routes[path] = unshown
    got, events = await _polled(venue, clock, 14, limit=8, poll=5)
    assert events == {"TradeGap": 1}
    market = venue.market
    at = [market.last_trade_id(inst, NOW + i * 5_000) for i in range(4)]  # the newest trade at each poll
    assert [at[i + 1] - at[i] for i in range(3)] == [5, 5, 5]
    short, (gap, *full) = got[:5], got[5:]
    assert [t.id for t in short] == [f"t-{i}" for i in range(at[0] + 1, at[1] + 1)]  # 5 of 8: no gap
    assert isinstance(gap, TradeGap)
    assert gap.last_id == f"t-{at[1]}" and gap.late_id is None
    assert gap.start_ms == market.trade(inst, at[1]).ts_ms
    assert gap.end_ms == market.trade(inst, at[3] - 7).ts_ms  # the oldest of the page of 8
    assert gap.timestamp == NOW + 15_000
    assert [t.id for t in full] == [f"t-{i}" for i in range(at[3] - 7, at[3] + 1)]
    for trade in short + full:
        tick = market.trade(inst, int(trade.id[2:]))
        assert (trade.timestamp, trade.price, trade.amount) == (tick.ts_ms, tick.price, tick.size)
