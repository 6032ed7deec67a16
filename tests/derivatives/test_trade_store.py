"""Trade histories in the store: a range gathered once is answered from disk, exactly, with 0 requests;
an overlapping range asks only for what is missing; only complete, settled, checked windows are kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tradeflood import Query, Session, VirtualClock, registry
from tradeflood.cli import cli
from tradeflood.errors import FetchError
from tradeflood.models import Trade
from tradeflood.store import DEFAULT_SETTLE_MS, CandleStore, format_store_info, verify_store
from tradeflood.testing import SimulatorTransport
from tradeflood.testing._derived import trades_between
from tradeflood.testing._venue import Venue

from .conftest import HOUR, MINUTE, NOW, make

#: venue -> symbol -> the history endpoint's path
PATHS = {
    "binance": {"BTC/USDT": "/api/v3/aggTrades", "BTC/USDT:USDT": "/fapi/v1/aggTrades"},
    "bitget": {"BTC/USDT": "/api/v2/spot/market/fills-history",
               "BTC/USDT:USDT": "/api/v2/mix/market/fills-history"},
    "okx": {"BTC/USDT": "/api/v5/market/history-trades"},
}
CASES = [(v, s) for v, symbols in PATHS.items() for s in symbols]
TOP = NOW // HOUR * HOUR
WEEK = 7 * 86_400_000


class Logged(httpx.AsyncBaseTransport):
    """The simulator's transport, keeping the URL of each request the venue served (and failing
    history requests after ``fail_after`` of them, as a venue that goes away mid-backfill)."""

    def __init__(self, venue: Venue, fail_after: int | None = None) -> None:
        self.inner = SimulatorTransport({venue.name: venue})
        self.urls: list[httpx.URL] = []
        self.fail_after = fail_after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.fail_after is not None and _window_of(request.url) is not None:
            if self.fail_after <= 0:
                return httpx.Response(404, json={"msg": "gone"}, request=request)
            self.fail_after -= 1
        reply = await self.inner.handle_async_request(request)
        if reply.status_code != 429:  # a request the venue's limit turned away is sent again
            self.urls.append(request.url)
        return reply

    def windows(self) -> list[tuple[int | None, int]]:
        """The spans asked for by the first page of each window, by their ends."""
        return sorted((w for w in map(_window_of, self.urls) if w is not None), key=lambda w: w[1])


def _window_of(url: httpx.URL) -> tuple[int | None, int] | None:
    """The ``[start, end)`` a trade-history request asks by time (None for a page by id). OKX
    asks a window by its end alone (``type=2&after=``), so its start is None."""
    p = url.params
    by_time = "startTime" in p and "endTime" in p and "fromId" not in p and "idLessThan" not in p
    if ("aggTrades" in url.path or "fills-history" in url.path) and by_time:
        return int(p["startTime"]), int(p["endTime"]) + 1
    if "history-trades" in url.path and p.get("type") == "2":
        return None, int(p["after"])
    return None


def q(venue: str, symbol: str, start: int, end: int) -> Query:
    return registry.resolve(Query(Trade, exchange=venue, symbol=symbol, start=start, end=end), NOW)


def session(transport: httpx.AsyncBaseTransport, clock: VirtualClock, store: object,
            **kw: object) -> Session:
    return Session(transport=transport, clock=clock, store=store, **kw)  # type: ignore[arg-type]


def _values(trades: list[Trade]) -> list[tuple[object, ...]]:
    return [(t.id, t.timestamp, t.price, t.amount, t.side, t.native_symbol) for t in trades]


@pytest.mark.parametrize(("name", "symbol"), CASES)
async def test_second_fetch_sends_0_requests_and_returns_exactly_the_same_trades(
        name: str, symbol: str, clock: VirtualClock, tmp_path: Path) -> None:
    venue = make(name, clock)
    store = str(tmp_path / "store.sqlite3")
    start, end = NOW - 2 * HOUR - 17 * MINUTE, NOW - 5 * MINUTE
    first_log = Logged(venue)
    async with session(first_log, clock, store) as s:
        [first] = await s.agather(q(name, symbol, start, end))
    inst = venue.market.find("BTCUSDT", "spot" if symbol == "BTC/USDT" else "perp")
    assert inst is not None
    want = trades_between(venue.market, inst, start, end, NOW)
    assert [t.id for t in first] == [str(t.id) for t in want] and first.gaps == []
    assert venue.stats.by_path[PATHS[name][symbol]] >= 3

    sent = venue.stats.requests
    again_log = Logged(venue)
    async with session(again_log, clock, store) as s:
        [again] = await s.agather(q(name, symbol, start, end))
    assert venue.stats.requests == sent and again_log.urls == []  # second fetch: 0 requests
    assert _values(again) == _values(first)  # ids, prices, sizes, timestamps, sides, in order
    assert list(again) == list(first) and again.gaps == first.gaps == []
    assert type(again[0].price) is type(first[0].price)
    assert [str(t.price) for t in again] == [str(t.price) for t in first]  # the same digits

    with CandleStore(store) as disk:
        [series] = [s for s in disk.info().series if s.interval == "Trade"]
        assert (series.exchange, series.symbol, series.candles) == (name, symbol, len(first))
        assert series.covered == [(start, end)]
        report = verify_store(disk)
        assert report.bad == [] and report.rows == report.checked == len(first)
        table = [line.split() for line in format_store_info(disk.info()).splitlines()]
        assert table[-2][:4] == ["exchange", "symbol", "kind", "rows"]
        assert table[-1][:4] == [name, symbol, "Trade", f"{len(first):,}"]


@pytest.mark.parametrize(("name", "symbol"), [("binance", "BTC/USDT"), ("bitget", "BTC/USDT:USDT"),
                                              ("okx", "BTC/USDT")])
async def test_an_overlapping_range_asks_only_for_the_missing_part(
        name: str, symbol: str, clock: VirtualClock, tmp_path: Path) -> None:
    venue = make(name, clock)
    store = str(tmp_path / "store.sqlite3")
    async with session(Logged(venue), clock, store) as s:
        [older] = await s.agather(q(name, symbol, NOW - 3 * HOUR, NOW - 90 * MINUTE))
    log = Logged(venue)
    start, end = NOW - 2 * HOUR, NOW - 10 * MINUTE
    async with session(log, clock, store) as s:
        [got] = await s.agather(q(name, symbol, start, end))
    # Only the missing part, on the venue's window grid: Binance and OKX take an hour a
    # request, Bitget a week (so the whole missing part is one window).
    split = [(NOW - 90 * MINUTE, TOP - HOUR), (TOP - HOUR, end)] if name != "bitget" \
        else [(NOW - 90 * MINUTE, end)]
    if name == "okx":  # OKX's first page of a window names only its end
        split = [(None, window_end) for _, window_end in split]
    assert log.windows() == split
    with Session(transport=SimulatorTransport({name: venue}), clock=clock, store=False) as fresh:
        [honest] = await fresh.agather(q(name, symbol, start, end))
    assert _values(got) == _values(honest) and got.gaps == []
    assert {t.id for t in older} & {t.id for t in got}  # the overlap came from the store


async def test_a_window_still_settling_is_returned_but_not_stored(clock: VirtualClock,
                                                                 tmp_path: Path) -> None:
    venue = make("binance", clock)
    store = str(tmp_path / "store.sqlite3")
    end = NOW - 100  # the range ends 100 ms before the fetch: its last trades may still come
    async with session(Logged(venue), clock, store) as s:
        [first] = await s.agather(q("binance", "BTC/USDT", NOW - 30 * MINUTE, end))
    assert first[-1].timestamp >= NOW - DEFAULT_SETTLE_MS  # returned, the newest trades too
    with CandleStore(store) as disk:
        assert disk.missing("binance", "BTC/USDT", "Trade", NOW - 30 * MINUTE, end) == [
            (NOW - DEFAULT_SETTLE_MS, end)]
        assert disk.read_trades("binance", "BTC/USDT", NOW - DEFAULT_SETTLE_MS, end) == []
    clock.advance(DEFAULT_SETTLE_MS / 1000)  # later: the re-fetch asks for the unsettled tail only
    log = Logged(venue)
    async with session(log, clock, store) as s:
        [again] = await s.agather(q("binance", "BTC/USDT", NOW - 30 * MINUTE, end))
    assert log.windows() == [(NOW - DEFAULT_SETTLE_MS, end)]
    assert _values(again) == _values(first)
    with CandleStore(store) as disk:
        assert disk.covered("binance", "BTC/USDT", "Trade", NOW - 30 * MINUTE, end)


async def test_a_window_with_a_hole_in_the_ids_is_not_stored(clock: VirtualClock, tmp_path: Path) -> None:
    venue = make("binance", clock)
    store = str(tmp_path / "store.sqlite3")
    venue.gaps.add("BTC/USDT", NOW - 60 * MINUTE - 30_000, NOW - 59 * MINUTE)  # the venue lost trades
    async with session(Logged(venue), clock, store) as s:
        [got] = await s.agather(q("binance", "BTC/USDT", NOW - 90 * MINUTE, NOW - 10 * MINUTE))
    assert len(got.gaps) == 1
    with CandleStore(store) as disk:  # the window holding the hole is asked again next time
        assert disk.missing("binance", "BTC/USDT", "Trade", NOW - 90 * MINUTE, NOW - 10 * MINUTE) == [
            (TOP - HOUR, NOW - 10 * MINUTE)]


async def test_a_window_with_a_dropped_row_is_not_stored(clock: VirtualClock, tmp_path: Path) -> None:
    venue = make("okx", clock)
    store = str(tmp_path / "store.sqlite3")
    class Poisoned(Logged):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            reply = await super().handle_async_request(request)
            if _window_of(request.url) != (None, NOW - 10 * MINUTE):
                return reply
            body = reply.json() if reply.status_code == 200 else None
            await reply.aread()
            if body and body.get("data"):
                body["data"][0]["px"] = "0"  # one impossible price in the newer window's first page
            return httpx.Response(reply.status_code, json=body, request=request)

    poisoned = Poisoned(venue)
    async with session(poisoned, clock, store, invalid="drop") as s:
        [got] = await s.agather(q("okx", "BTC/USDT", NOW - 2 * HOUR, NOW - 10 * MINUTE))
    assert got.dropped == 1 and all(t.price > 0 for t in got)
    with CandleStore(store) as disk:  # the older window is kept; the one with the dropped row is not
        assert disk.missing("okx", "BTC/USDT", "Trade", NOW - 2 * HOUR, NOW - 10 * MINUTE) == [
            (TOP - HOUR, NOW - 10 * MINUTE)]
        assert all(t.price > 0 for t in disk.read_trades("okx", "BTC/USDT", 0, NOW))


@pytest.mark.parametrize(("name", "symbol"), [("binance", "BTC/USDT"), ("bitget", "BTC/USDT")])
async def test_a_backfill_stopped_mid_way_keeps_its_finished_windows_and_resumes(
        name: str, symbol: str, clock: VirtualClock, tmp_path: Path) -> None:
    venue = make(name, clock)
    store = str(tmp_path / "store.sqlite3")
    start, end, windows = NOW - 6 * HOUR, NOW - 10 * MINUTE, 6
    if name == "bitget":  # its windows are weeks on a grid of Thursdays: two of them, around one
        edge = NOW // WEEK * WEEK
        start, end, windows = edge - 2 * HOUR, edge + 2 * HOUR, 2
    broken = Logged(venue, fail_after=windows // 2)  # the venue goes away half-way
    with pytest.raises(FetchError):
        async with session(broken, clock, store, max_concurrency=1) as s:
            await s.agather(q(name, symbol, start, end))
    with CandleStore(store) as disk:
        kept = disk.missing(name, symbol, "Trade", start, end)
        stored = disk.read_trades(name, symbol, start, end)
    assert stored and kept and kept != [(start, end)]  # the finished windows survived the failure
    log = Logged(venue)
    async with session(log, clock, store, max_concurrency=1) as s:
        [got] = await s.agather(q(name, symbol, start, end))
    asked = log.windows()  # only what the first run had not finished
    assert 0 < len(asked) <= windows - windows // 2
    assert all(any(a <= c and d <= b for a, b in kept) for c, d in asked)
    with Session(transport=SimulatorTransport({name: venue}), clock=clock, store=False) as fresh:
        [honest] = await fresh.agather(q(name, symbol, start, end))
    assert _values(got) == _values(honest)


async def test_okx_swaps_ask_only_for_the_listing_again(clock: VirtualClock, tmp_path: Path) -> None:
    """OKX swap trades are stored in contracts, as parsed; a history of them is finished (sizes
    in base) with the contract size of the instrument listing, which is asked for again."""
    venue = make("okx", clock)
    store = str(tmp_path / "store.sqlite3")
    start, end = NOW - 2 * HOUR, NOW - 10 * MINUTE
    async with session(Logged(venue), clock, store) as s:
        [first] = await s.agather(q("okx", "BTC/USDT:USDT", start, end))
    log = Logged(venue)
    async with session(log, clock, store) as s:
        [again] = await s.agather(q("okx", "BTC/USDT:USDT", start, end))
    assert [u.path for u in log.urls] == ["/api/v5/public/instruments"]
    assert _values(again) == _values(first) and len(first) > 1000


async def test_store_verify_and_clear_cover_trades(clock: VirtualClock, tmp_path: Path) -> None:
    venue = make("bitget", clock)
    store = tmp_path / "store.sqlite3"
    start, end = NOW - 2 * HOUR, NOW - 10 * MINUTE
    async with session(Logged(venue), clock, str(store)) as s:
        [first] = await s.agather(q("bitget", "BTC/USDT", start, end))
    zero, odd = first[100], first[2000]
    with sqlite3.connect(store) as db:  # what a damaged (or hand-edited) file may hold
        db.execute("UPDATE trades SET price = '0' WHERE id = ?", (zero.id,))
        db.execute("UPDATE trades SET amount = 'many' WHERE id = ?", (odd.id,))
    runner = CliRunner()
    found = runner.invoke(cli, ["store", "verify", "--path", str(store)])
    assert found.exit_code != 0
    assert "bitget BTC/USDT Trade" in found.output and f"price is 0, not a positive price (trade {zero.id})" \
        in found.output and "row cannot be read back as a Trade" in found.output
    fixed = runner.invoke(cli, ["store", "verify", "--path", str(store), "--fix"])
    assert "2 removed" in fixed.output
    with CandleStore(store) as disk:
        assert disk.missing("bitget", "BTC/USDT", "Trade", start, end) == sorted(
            [(zero.timestamp, zero.timestamp + 1), (odd.timestamp, odd.timestamp + 1)])
        assert verify_store(disk).bad == []
    log = Logged(venue)  # the re-fetch asks for those two milliseconds only, and heals the store
    async with session(log, clock, str(store)) as s:
        [again] = await s.agather(q("bitget", "BTC/USDT", start, end))
    assert log.windows() == sorted([(zero.timestamp, zero.timestamp + 1), (odd.timestamp, odd.timestamp + 1)])
    assert _values(again) == _values(first)
    cleared = runner.invoke(cli, ["store", "clear", "--path", str(store), "--interval", "Trade", "--yes"])
    assert cleared.output.strip() == f"deleted {len(first)} rows"
    with CandleStore(store) as disk:
        assert disk.info().series == [] and disk.read_trades("bitget", "BTC/USDT", start, end) == []
