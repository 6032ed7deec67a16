"""fetch(Trade, start=, end=): every trade of the range once, in order, over many pages, gaps reported."""

from __future__ import annotations

import pytest

from tradeflood import Part, Query, VirtualClock, registry
from tradeflood.binding import ModelList
from tradeflood.bindings.binance import BinanceTradeHistory
from tradeflood.connectors.binance import Binance
from tradeflood.errors import QueryError
from tradeflood.models import Trade
from tradeflood.series import Gap
from tradeflood.testing._derived import trades_between
from tradeflood.trades import TradeHistory

from .conftest import DAY, HOUR, MINUTE, NOW, make, session

#: venue -> (history path, trades a page)
PATHS = {
    "binance": {"BTC/USDT": "/api/v3/aggTrades", "BTC/USDT:USDT": "/fapi/v1/aggTrades"},
    "okx": {"BTC/USDT": "/api/v5/market/history-trades", "BTC/USDT:USDT": "/api/v5/market/history-trades"},
    "bitget": {"BTC/USDT": "/api/v2/spot/market/fills-history",
               "BTC/USDT:USDT": "/api/v2/mix/market/fills-history"},
}
PAGE = {"binance": 1000, "okx": 100, "bitget": 1000}


def q(venue: str, **kw: object) -> Query:
    return registry.resolve(Query(Trade, exchange=venue, **kw), NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("symbol", ["BTC/USDT", "BTC/USDT:USDT"])
@pytest.mark.parametrize("name", ["binance", "okx", "bitget"])
async def test_every_trade_once_and_in_order(name: str, symbol: str, clock: VirtualClock) -> None:
    venue = make(name, clock)
    start, end = NOW - 2 * HOUR - 17 * MINUTE, NOW - 5 * MINUTE  # not on an hour: windows are cut
    async with session(venue, clock) as s:
        [got] = await s.agather(q(name, symbol=symbol, start=start, end=end))
    inst = venue.market.find("BTCUSDT", "spot" if symbol == "BTC/USDT" else "perp")
    assert inst is not None
    want = trades_between(venue.market, inst, start, end, NOW)
    assert isinstance(got, TradeHistory) and got.gaps == []
    assert [t.id for t in got] == [str(t.id) for t in want]  # each once, in order
    assert [(t.timestamp, t.price, t.amount) for t in got[::500]] == \
        [(t.ts_ms, t.price, t.size) for t in want[::500]]
    assert [t.side for t in got[:50]] == ["sell" if t.buyer_is_maker else "buy" for t in want[:50]]
    pages = venue.stats.by_path[PATHS[name][symbol]]
    assert pages >= len(want) // PAGE[name]  # many pages
    assert venue.stats.rejected_429 == 0


async def test_a_hole_in_binance_ids_is_a_gap(clock: VirtualClock) -> None:
    venue = make("binance", clock)
    start, end = NOW - 90 * MINUTE, NOW - 10 * MINUTE
    venue.gaps.add("BTC/USDT", NOW - 60 * MINUTE, NOW - 59 * MINUTE)  # the venue lost a minute
    async with session(venue, clock) as s:
        [got] = await s.agather(q("binance", symbol="BTC/USDT", start=start, end=end))
    ids = [int(t.id) for t in got]
    assert ids == sorted(set(ids))
    [gap] = got.gaps
    assert NOW - 61 * MINUTE < gap.start <= NOW - 60 * MINUTE and gap.end >= NOW - 59 * MINUTE
    assert gap.missing == 60  # one simulated trade a second
    assert len(got) == 80 * 60 - 60


@pytest.mark.parametrize(("name", "days"), [("okx", 90), ("bitget", 90)])
async def test_the_part_before_the_look_back_is_a_gap(name: str, days: int, clock: VirtualClock) -> None:
    venue = make(name, clock)
    start, end = NOW - days * DAY - HOUR, NOW - days * DAY + 10 * MINUTE
    async with session(venue, clock) as s:
        [got] = await s.agather(q(name, symbol="BTC/USDT:USDT", start=start, end=end))
    [gap] = got.gaps
    assert gap.start == start and NOW - days * DAY < gap.end < NOW - days * DAY + 2 * MINUTE
    assert got and all(gap.end <= t.timestamp < end for t in got)


async def test_bybit_has_no_trade_history_by_time() -> None:
    with pytest.raises(QueryError, match=r"bybit.*no history of it by time.*binance, bitget, okx"):
        q("bybit", symbol="BTC/USDT", start=NOW - HOUR)


@pytest.mark.parametrize("name", ["binance", "okx", "bitget", "bybit"])
async def test_without_a_range_the_recent_trades_come(name: str, clock: VirtualClock) -> None:
    venue = make(name, clock)
    async with session(venue, clock) as s:
        [got] = await s.agather(q(name, symbol="ETH/USDT", limit=50))
    assert isinstance(got, ModelList) and not isinstance(got, TradeHistory) and len(got) == 50


def test_a_range_needs_start_and_takes_no_limit() -> None:
    with pytest.raises(QueryError, match="needs start="):
        q("okx", symbol="BTC/USDT", end=NOW - HOUR)
    with pytest.raises(QueryError, match="limit= is for the recent trades"):
        q("binance", symbol="BTC/USDT", start=NOW - HOUR, limit=10)


def test_pages_that_overlap_give_each_trade_once() -> None:
    binding = BinanceTradeHistory(Binance())
    query = q("binance", symbol="BTC/USDT", start=NOW - HOUR, end=NOW)

    def trade(i: int, ts: int) -> Trade:
        return Trade(exchange="binance", symbol="BTC/USDT", native_symbol="BTCUSDT", id=str(i), timestamp=ts,
                     price="1", amount="1", side="buy")

    turn_a = Binance().spot_agg_trades("BTCUSDT", NOW - HOUR, NOW - 1, None, 1000)
    turn_a.window = (NOW - HOUR, NOW)
    same_ms = NOW - 1000
    parts = [Part(turn_a, [trade(1, same_ms - 5), trade(2, same_ms), trade(3, same_ms)]),
             Part(turn_a, [trade(3, same_ms), trade(4, same_ms), trade(6, same_ms + 1)])]
    got = binding.assemble(query, parts, NOW)
    assert [t.id for t in got] == ["1", "2", "3", "4", "6"]
    assert got.gaps == [Gap(same_ms + 1, same_ms + 1, 1)]
