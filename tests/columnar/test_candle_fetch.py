"""Candle fetches travel as columns: equal to the model path, stored and re-read without models."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import tradeflood.bindings.binance
import tradeflood.bindings.bitget
from tradeflood import Query, Session, VirtualClock
from tradeflood.candles import CandleSeries
from tradeflood.columnar import to_arrow
from tradeflood.errors import FetchError, PayloadError
from tradeflood.models import Candle
from tradeflood.store import CandleStore
from tradeflood.testing import BinanceVenue, BitgetVenue, SimulatorTransport

pa = pytest.importorskip("pyarrow", reason="columnar results need pyarrow (pip install pyarrow)")

NOW = 1_717_200_030_000  # 2024-06-01T00:00:30Z: the current minute is still forming
MINUTE, DAY = 60_000, 86_400_000
BINDINGS = {"bitget": tradeflood.bindings.bitget.BitgetCandles,
            "binance": tradeflood.bindings.binance.BinanceCandles}
VENUES = {"bitget": BitgetVenue, "binance": BinanceVenue}
# Ranges that take several pages: Bitget's recent (1000) and history (200) pages, Binance's 1000.
CASES = [("bitget", "BTC/USDT", "1m", NOW - 3 * DAY, None), ("bitget", "ETH/USDT:USDT", "1m", NOW - 40 * DAY,
         NOW - 39 * DAY), ("binance", "BTC/USDT", "1m", NOW - 2 * DAY, None),
         ("binance", "ETH/USDT:USDT", "1h", NOW - 90 * DAY, None)]


async def fetch(exchange: str, symbol: str, interval: str, start: int, end: int | None, *,
                store: Any = False, venue: Any = None) -> tuple[CandleSeries, Any]:
    clock = VirtualClock(start=NOW / 1000)
    venue = venue or VENUES[exchange](clock=clock)
    async with Session(transport=SimulatorTransport({exchange: venue}), clock=clock, store=store) as s:
        [series] = await s.agather(Query(Candle, exchange=exchange, symbol=symbol, interval=interval,
                                         start=start, end=end, now_ms=NOW))
    return series, venue


@pytest.mark.parametrize(("exchange", "symbol", "interval", "start", "end"), CASES)
async def test_a_fetch_gives_columns_equal_to_the_model_path(
        exchange: str, symbol: str, interval: str, start: int, end: int | None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    columns, _ = await fetch(exchange, symbol, interval, start, end)
    monkeypatch.setattr(BINDINGS[exchange], "bulk", False)
    models, _ = await fetch(exchange, symbol, interval, start, end)
    assert columns.table is not None and models.table is None
    assert len(columns) == len(models) > 1000 and columns.gaps == models.gaps == []
    assert columns.to_arrow().equals(to_arrow(models))  # schema, scales and every value
    assert list(columns) == list(models)  # field by field: prices, times, closed flags
    step = columns[1].open_time - columns[0].open_time
    first, last = columns[0].open_time, columns[-1].open_time
    assert [c.open_time for c in columns] == list(range(first, last + 1, step))
    assert columns[0].open == models[0].open and columns[-1].close == models[-1].close
    if end is None:
        assert columns[-1].closed is False and all(c.closed for c in columns[:-1])


async def test_a_rerun_is_read_from_the_store_as_columns(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with CandleStore(path) as store:
        first, venue = await fetch("bitget", "BTC/USDT", "1m", NOW - 3 * DAY, NOW - DAY, store=store)
    sent = venue.stats.requests
    with CandleStore(path) as store:
        again, venue2 = await fetch("bitget", "BTC/USDT", "1m", NOW - 3 * DAY, NOW - DAY, store=store)
        info = store.info().series[0]
    assert sent > 3 and venue2.stats.requests == 0
    assert again.table is not None and again.gaps == [] and len(again) == 2 * 1440
    assert again.to_arrow().equals(first.to_arrow()) and again == first
    # whole grid pages were recorded (3 of 1000), as one covered run
    [(a, b)] = info.covered
    assert info.candles == 3000 and b - a == 3000 * MINUTE and a <= NOW - 3 * DAY and b >= NOW - DAY


async def test_a_bad_page_still_fails_with_the_row_and_field() -> None:
    clock = VirtualClock(start=NOW / 1000)
    venue = BinanceVenue(clock=clock)
    real = venue.handle

    def broken(method: str, path: str, query: dict[str, str], ip: str) -> Any:
        reply = real(method, path, query, ip)
        if path.endswith("/klines"):
            rows = reply.json()
            rows[5][2] = "NaN"
            reply = dataclasses.replace(reply, body=json.dumps(rows).encode())
        return reply

    venue.handle = broken  # type: ignore[method-assign]
    async with Session(transport=SimulatorTransport({"binance": venue}), clock=clock, store=False) as s:
        with pytest.raises((PayloadError, FetchError)) as caught:
            await s.agather(Query(Candle, exchange="binance", symbol="BTC/USDT", interval="1m",
                                  start=NOW - DAY, now_ms=NOW))
    assert "row 5" in str(caught.value) and "high" in str(caught.value)
