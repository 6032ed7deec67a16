"""The settle margin: a bar that has only just closed is returned, but stored only once it has settled."""

from __future__ import annotations

from pathlib import Path

import pytest
from storedata import MINUTE, bars

from tradeflood import Query, Session, VirtualClock, registry
from tradeflood.models import Candle, MarkCandle
from tradeflood.store import DEFAULT_SETTLE_MS, CandleStore
from tradeflood.testing import SimulatorTransport
from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._bitget import BitgetVenue
from tradeflood.testing._venue import Venue

CLOSE = 1_717_200_000_000  # 2024-06-01T00:00:00Z: the close of the 23:59 bar
VENUES = {"binance": BinanceVenue, "bitget": BitgetVenue}


def _session(venue: Venue, clock: VirtualClock, store: str) -> Session:
    return Session(transport=SimulatorTransport({venue.name: venue}), clock=clock, store=store)


def _bar_requests(venue: Venue) -> int:
    """Requests for bars (the session's instrument listing aside)."""
    return sum(n for path, n in venue.stats.by_path.items() if "line" in path.lower() or "candle" in path)


def _query(model: type, name: str, symbol: str, now: int) -> Query:
    return registry.resolve(Query(model, exchange=name, symbol=symbol, interval="1m",  # type: ignore[arg-type]
                                  start=CLOSE - 10 * MINUTE), now)


@pytest.mark.parametrize(("name", "model", "symbol", "kind"), [
    ("binance", Candle, "BTC/USDT", "1m"), ("bitget", Candle, "BTC/USDT", "1m"),
    ("binance", MarkCandle, "BTC/USDT:USDT", "MarkCandle:1m"),
    ("bitget", MarkCandle, "BTC/USDT:USDT", "MarkCandle:1m")])
async def test_a_bar_received_100_ms_after_its_close_is_returned_but_stored_only_once_settled(
        name: str, model: type, symbol: str, kind: str, tmp_path: Path) -> None:
    clock = VirtualClock(start=(CLOSE + 100) / 1000)
    venue = VENUES[name](clock=clock)
    path = str(tmp_path / "store.sqlite3")
    last = CLOSE - MINUTE  # the bar that closed 100 ms ago
    async with _session(venue, clock, path) as s:
        [first] = await s.agather(_query(model, name, symbol, clock.time_ms()))
    got = {b.open_time: b for b in first}
    assert sorted(got)[-2:] == [last, CLOSE]  # the bar that has just closed, and the one forming
    assert got[last].closed is True and got[CLOSE].closed is False  # its public flag is unchanged
    with CandleStore(path) as store:
        assert store.missing(name, symbol, kind, CLOSE - 10 * MINUTE, CLOSE) == [(last, CLOSE)]
        stored = store.read_rows(name, symbol, kind, 0, 2 * CLOSE, model) if model is MarkCandle \
            else store.read(name, symbol, kind, 0, 2 * CLOSE)
        assert [b.open_time for b in stored][-1] == last - MINUTE  # everything before it is stored

    clock.advance((DEFAULT_SETTLE_MS + 100) / 1000)  # past the margin: a re-fetch stores it
    async with _session(venue, clock, path) as s:
        sent = _bar_requests(venue)
        [again] = await s.agather(_query(model, name, symbol, clock.time_ms()))
        assert _bar_requests(venue) == sent + 1  # the newest page only
    assert [b for b in again if b.open_time <= last] == [b for b in first if b.open_time <= last]
    with CandleStore(path) as store:
        assert store.covered(name, symbol, kind, CLOSE - 10 * MINUTE, CLOSE)
        stored = store.read_rows(name, symbol, kind, last, CLOSE, model) if model is MarkCandle \
            else store.read(name, symbol, kind, last, CLOSE)
        assert stored == [got[last]]

    async with _session(venue, clock, path) as s:  # and from then on it is answered from disk
        sent = _bar_requests(venue)
        [disk] = await s.agather(registry.resolve(
            Query(model, exchange=name, symbol=symbol, interval="1m", start=CLOSE - 10 * MINUTE, end=CLOSE),
            clock.time_ms()))
        assert _bar_requests(venue) == sent
    assert list(disk) == [b for b in first if b.open_time < CLOSE]


def test_the_store_writes_only_settled_bars(tmp_path: Path) -> None:
    written = bars(0, 10 * MINUTE)
    with CandleStore(tmp_path / "s.sqlite3", settle_ms=5_000) as store:
        assert store.settle_ms == 5_000
        # Received 100 ms after the tenth bar closed: the first nine are final, the tenth is not.
        assert store.write("bitget", "BTC/USDT", "1m", 0, 10 * MINUTE, written, now_ms=10 * MINUTE + 100) == 9
        assert store.read("bitget", "BTC/USDT", "1m", 0, 10 * MINUTE) == written[:9]
        assert store.missing("bitget", "BTC/USDT", "1m", 0, 10 * MINUTE) == [(9 * MINUTE, 10 * MINUTE)]
        settled = 10 * MINUTE + 5_000
        assert store.write("bitget", "BTC/USDT", "1m", 0, 10 * MINUTE, written, now_ms=settled) == 1
        assert store.covered("bitget", "BTC/USDT", "1m", 0, 10 * MINUTE)


@pytest.mark.parametrize("bad", [-1, 1.5, "10s", None, True])
def test_a_settle_margin_is_whole_milliseconds(bad: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="settle_ms must be a whole number of milliseconds"):
        CandleStore(tmp_path / "s.sqlite3", settle_ms=bad)  # type: ignore[arg-type]


def test_the_default_margin_is_ten_seconds() -> None:
    assert DEFAULT_SETTLE_MS == 10_000
