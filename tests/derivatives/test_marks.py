"""Mark- and index-price candles on the four venues: values, endpoints per age, the store, gather."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tradeflood import Query, VirtualClock, registry
from tradeflood.errors import QueryError
from tradeflood.models import Candle, IndexCandle, MarkCandle
from tradeflood.testing._derived import price_bar
from tradeflood.testing._grid import Grid

from .conftest import DAY, HOUR, MINUTE, NOW, VENUES, make, session

PERP = "BTC/USDT:USDT"
#: The paths each venue serves mark bars from: (recent, history).
MARK_PATHS = {
    "okx": ("/api/v5/market/mark-price-candles", "/api/v5/market/history-mark-price-candles"),
    "bitget": ("/api/v2/mix/market/candles", "/api/v2/mix/market/history-mark-candles"),
    "binance": ("/fapi/v1/markPriceKlines", "/fapi/v1/markPriceKlines"),
    "bybit": ("/v5/market/mark-price-kline", "/v5/market/mark-price-kline"),
}


def q(model: type, venue: str, **kw: object) -> Query:
    return registry.resolve(Query(model, exchange=venue, **kw), NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(VENUES))
@pytest.mark.parametrize(("model", "kind"), [(MarkCandle, "mark"), (IndexCandle, "index")])
async def test_bars_carry_the_venues_mark_and_index_prices(name: str, model: type, kind: str,
                                                           clock: VirtualClock) -> None:
    venue = make(name, clock)
    start = NOW // MINUTE * MINUTE - 3 * HOUR
    async with session(venue, clock) as s:
        [bars] = await s.agather(q(model, name, symbol=PERP, interval="1m", start=start))
    inst = venue.market.find("BTCUSDT", "perp")
    assert inst is not None
    grid = Grid.fixed(MINUTE)
    assert [b.open_time for b in bars] == list(range(start, NOW, MINUTE)) and bars.gaps == []
    assert all(type(b) is model and b.exchange == name and b.symbol == PERP for b in bars)
    for b in (bars[0], bars[100], bars[-2]):
        want = price_bar(venue.market, inst, grid, b.open_time, NOW, kind)
        assert (b.open, b.high, b.low, b.close) == (want.open, want.high, want.low, want.close)
        assert b.closed
    assert not bars[-1].closed  # the minute still forming
    trade_close = venue.market.bar(inst, grid, bars[0].open_time, NOW).close
    assert bars[0].close != trade_close  # a mark bar is not the trade bar


@pytest.mark.parametrize("name", ["okx", "bitget"])
async def test_old_bars_come_from_the_history_endpoint(name: str, clock: VirtualClock) -> None:
    venue = make(name, clock)
    start = NOW // HOUR * HOUR - (60 * DAY if name == "bitget" else 2 * DAY)  # past the recent window
    async with session(venue, clock) as s:
        [bars] = await s.agather(q(MarkCandle, name, symbol=PERP, interval="1m" if name == "okx" else "15m",
                                   start=start, end=start + 6 * HOUR))
    step = MINUTE if name == "okx" else 15 * MINUTE
    assert [b.open_time for b in bars] == list(range(start, start + 6 * HOUR, step))
    _, history = MARK_PATHS[name]
    assert venue.stats.by_path[history] >= 1
    assert venue.stats.rejected_429 == 0


async def test_okx_pages_hold_100_bars(clock: VirtualClock) -> None:
    venue = make("okx", clock)
    async with session(venue, clock) as s:
        [bars] = await s.agather(q(IndexCandle, "okx", symbol=PERP, interval="1m", start=NOW - 10 * HOUR))
    assert len(bars) == 600 and bars[0].native_symbol == "BTC-USDT"  # the index, not the swap
    assert venue.stats.by_path["/api/v5/market/index-candles"] in (6, 7)


@pytest.mark.parametrize("name", sorted(VENUES))
def test_spot_pairs_have_no_mark_price(name: str) -> None:
    with pytest.raises(QueryError, match=r"spot pair.*BTC/USDT:USDT"):
        q(MarkCandle, name, symbol="BTC/USDT", interval="1m", start=NOW - HOUR)


async def test_the_store_keeps_mark_bars_apart_from_trade_candles(clock: VirtualClock,
                                                                  tmp_path: Path) -> None:
    venue = make("binance", clock)
    store = str(tmp_path / "store.sqlite3")
    top = NOW // HOUR * HOUR
    span = {"symbol": PERP, "interval": "1m", "start": top - 2 * HOUR, "end": top - HOUR}
    async with session(venue, clock, store=store) as s:
        trades, marks, index = await s.agather(q(Candle, "binance", **span), q(MarkCandle, "binance", **span),
                                               q(IndexCandle, "binance", **span))
    sent = sum(venue.stats.by_path.values())
    async with session(venue, clock, store=store) as s:
        again_trades, again_marks, again_index = await s.agather(
            q(Candle, "binance", **span), q(MarkCandle, "binance", **span), q(IndexCandle, "binance", **span))
    assert sum(venue.stats.by_path.values()) == sent  # all three answered by the store
    assert list(again_marks) == list(marks) and list(again_index) == list(index)
    assert list(again_trades) == list(trades)
    assert all(type(m) is MarkCandle for m in again_marks) and all(type(c) is Candle for c in again_trades)
    assert [m.close for m in marks] != [c.close for c in trades] != [i.close for i in index]
    # Another interval of the same symbol is a series of its own.
    async with session(venue, clock, store=store) as s:
        [hourly] = await s.agather(q(MarkCandle, "binance", symbol=PERP, interval="1h", start=top - 2 * HOUR,
                                     end=top - HOUR))
    assert [h.open_time for h in hourly] == [top - 2 * HOUR] and hourly[0].interval == "1h"
    assert hourly[0].open == marks[0].open and hourly[0].close == marks[-1].close


async def test_gather_sends_a_shared_page_once(clock: VirtualClock) -> None:
    venue = make("bybit", clock)
    top = NOW // HOUR * HOUR
    a = q(MarkCandle, "bybit", symbol=PERP, interval="1m", start=top - 5 * HOUR, end=top - 2 * HOUR)
    b = q(MarkCandle, "bybit", symbol=PERP, interval="1m", start=top - 4 * HOUR, end=top - HOUR)
    async with session(venue, clock) as s:
        first, second = await s.agather(a, b)
    assert len(first) == len(second) == 180 and first[60:] == second[:120]
    assert venue.stats.by_path["/v5/market/mark-price-kline"] == 1  # one 1000-bar grid page serves both


async def test_columns(clock: VirtualClock) -> None:
    pytest.importorskip("pyarrow")
    venue = make("okx", clock)
    async with session(venue, clock) as s:
        [bars] = await s.agather(q(MarkCandle, "okx", symbol=PERP, interval="1h", start=NOW - 5 * HOUR))
    table = bars.to_arrow()
    assert table.num_rows == 5 and {"open_time", "close", "interval", "closed"} <= set(table.column_names)
    assert Decimal(str(table.column("close")[0].as_py())) == bars[0].close
