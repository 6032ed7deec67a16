"""A venue answering with impossible values (issue 12: value checks, the store, `store verify`).

Each test puts a hostile transport over the in-process simulator: it answers
like the venue, but rewrites chosen values of chosen replies. Impossible
candles, negative prices, crossed books and duplicate trade ids must be a
PayloadError naming venue, endpoint, row and field, or (``invalid="drop"``)
dropped and reported, and never reach the store.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import tradeflood.bindings  # noqa: F401 - registers the built-in venues
from tradeflood import Session, VirtualClock, registry
from tradeflood.cli import cli
from tradeflood.errors import FetchError, PayloadError
from tradeflood.models import Candle, OpenInterest, OrderBook, Ticker, Trade
from tradeflood.store import CandleStore, verify_store
from tradeflood.testing import BinanceVenue, BitgetVenue, BybitVenue, OkxVenue, SimulatorTransport

NOW = 1_717_200_030_000  # 2024-06-01T00:00:30Z
MINUTE = 60_000
START, END = NOW // MINUTE * MINUTE - 60 * MINUTE, NOW // MINUTE * MINUTE  # 60 closed one-minute bars
TARGET = START + 30 * MINUTE  # the bar a hostile reply spoils
VENUES = {"binance": BinanceVenue, "bitget": BitgetVenue, "okx": OkxVenue, "bybit": BybitVenue}
Mutate = Callable[[Any], None]


class Hostile(httpx.AsyncBaseTransport):
    """The simulator, but every reply to a path in ``rewrite`` goes through its function first."""

    def __init__(self, inner: httpx.AsyncBaseTransport, rewrite: dict[str, Mutate]) -> None:
        self.inner = inner
        self.rewrite = rewrite
        self.on = True
        self.rewritten = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        change = self.rewrite.get(request.url.path) if self.on else None
        if change is None or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        change(body)
        self.rewritten += 1
        return httpx.Response(200, json=body, request=request)


# -- where each venue keeps its rows --------------------------------------------------------

CANDLE_PATHS = {
    "binance": ["/api/v3/klines"],
    "bitget": ["/api/v2/spot/market/candles", "/api/v2/spot/market/history-candles"],
    "okx": ["/api/v5/market/candles", "/api/v5/market/history-candles"],
    "bybit": ["/v5/market/kline"],
}


def rows(venue: str, body: Any) -> Any:
    """The list of rows (candles, trades) of a venue's reply body."""
    if venue == "binance":
        return body
    if venue == "bybit":
        return body["result"]["list"]
    return body["data"]


def book_of(venue: str, body: Any) -> tuple[list[list[str]], list[list[str]]]:
    """(bids, asks) of a venue's order-book reply, to rewrite in place."""
    if venue == "binance":
        return body["bids"], body["asks"]
    if venue == "bybit":
        return body["result"]["b"], body["result"]["a"]
    data = body["data"][0] if venue == "okx" else body["data"]
    return data["bids"], data["asks"]


BOOK_PATHS = {"binance": "/api/v3/depth", "bitget": "/api/v2/spot/market/orderbook",
              "okx": "/api/v5/market/books", "bybit": "/v5/market/orderbook"}
TRADE_PATHS = {"binance": "/api/v3/trades", "bitget": "/api/v2/spot/market/fills",
               "okx": "/api/v5/market/trades", "bybit": "/v5/market/recent-trade"}
TRADE_ID = {"binance": "id", "bitget": "tradeId", "okx": "tradeId", "bybit": "execId"}
TRADE_PRICE = {"binance": "price", "bitget": "price", "okx": "px", "bybit": "price"}


def candle_rewrite(venue: str, change: Callable[[list[Any]], None]) -> dict[str, Mutate]:
    """A rewrite of the kline row of the bar at ``TARGET`` in every candle reply of ``venue``."""
    def mutate(body: Any) -> None:
        for row in rows(venue, body):
            if int(row[0]) == TARGET:
                change(row)
    return {path: mutate for path in CANDLE_PATHS[venue]}


def session(venue: str, rewrite: dict[str, Mutate], store: Any = False,
            **kw: Any) -> tuple[Session, Hostile, Any]:
    clock = VirtualClock(start=NOW / 1000)
    sim = VENUES[venue](clock=clock)
    hostile = Hostile(SimulatorTransport({venue: sim}), rewrite)
    return Session(transport=hostile, clock=clock, store=store, **kw), hostile, sim


@pytest.fixture(params=["models", "columns"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both parse paths of every venue's candles: models, and Arrow columns."""
    if request.param == "columns":
        pytest.importorskip("pyarrow")
    for venue in VENUES:
        monkeypatch.setattr(registry.lookup(Candle, venue), "bulk", request.param == "columns")
    return str(request.param)


def candles(s: Session, venue: str, **kw: Any) -> Any:
    return s.fetch(Candle, exchange=venue, symbol="BTC/USDT", interval="1m", start=START, end=END, **kw)


def payload_error(err: pytest.ExceptionInfo[FetchError]) -> PayloadError:
    cause = err.value.cause
    assert isinstance(cause, PayloadError), cause
    return cause


# -- candles --------------------------------------------------------------------------------

def _set(i: int, value: str) -> Callable[[list[Any]], None]:
    def change(row: list[Any]) -> None:
        row[i] = value
    return change


def _high_below_low(row: list[Any]) -> None:
    row[2], row[3] = row[3], str(float(row[2]) + 1)  # high <-> low, the low above the old high


@pytest.mark.parametrize("venue", list(VENUES))
@pytest.mark.parametrize(("change", "field"), [(_set(2, "-5"), "high"), (_set(2, "0"), "high"),
                                               (_high_below_low, "low"), (_set(3, "-1"), "low")],
                         ids=["high-5", "high0", "high-below-low", "low-negative"])
def test_impossible_candle_is_a_payload_error_naming_field(
        venue: str, change: Callable[[list[Any]], None], field: str, path: str) -> None:
    s, hostile, _ = session(venue, candle_rewrite(venue, change))
    with s, pytest.raises(FetchError) as err:
        candles(s, venue)
    cause = payload_error(err)
    assert cause.venue == venue and cause.endpoint in CANDLE_PATHS[venue]
    assert cause.detail.startswith("candle ") and f": {field} " in cause.detail, cause.detail
    assert hostile.rewritten >= 1


@pytest.mark.parametrize("venue", list(VENUES))
def test_off_grid_candle_is_refused_not_returned_beside_a_gap(venue: str, path: str) -> None:
    def shift(row: list[Any]) -> None:
        row[0] = type(row[0])(int(row[0]) + 1)  # 1 ms off the minute grid, as the venue spells it
    s, _, _ = session(venue, candle_rewrite(venue, shift))
    with s, pytest.raises(FetchError) as err:
        candles(s, venue)
    assert ": open_time " in payload_error(err).detail
    s, _, _ = session(venue, candle_rewrite(venue, shift), invalid="drop")
    with s:
        got = candles(s, venue)
    assert all(c.open_time % MINUTE == 0 for c in got)  # never returned...
    assert got.dropped == 1 and sum(g.missing for g in got.gaps) == 1  # ...but reported, as a gap
    assert len(got) == 59


@pytest.mark.parametrize("venue", list(VENUES))
def test_store_is_not_poisoned(venue: str, path: str, tmp_path: Path) -> None:
    """Bad reply, then an honest one, then a re-fetch from the store: the honest values."""
    store = tmp_path / "candles.sqlite3"
    s, hostile, sim = session(venue, candle_rewrite(venue, _set(2, "-5")), store=store)
    with s:
        with pytest.raises(FetchError):
            candles(s, venue)
        hostile.on = False
        honest = candles(s, venue)
    assert len(honest) == 60 and all(c.high > 0 for c in honest)
    s, _, sim = session(venue, {}, store=store)
    with s:
        again = candles(s, venue)
    assert list(again) == list(honest)
    assert sum(sim.stats.by_path[p] for p in CANDLE_PATHS[venue]) == 0  # served by the store
    with CandleStore(store) as opened:
        assert verify_store(opened).bad == []


@pytest.mark.parametrize("venue", ["binance", "bitget"])
def test_drop_reports_count_and_gap_and_keeps_the_page_out_of_the_store(
        venue: str, path: str, tmp_path: Path) -> None:
    store = tmp_path / "candles.sqlite3"
    s, hostile, _ = session(venue, candle_rewrite(venue, _set(2, "-5")), store=store)
    with s:
        got = s.fetch(Candle, exchange=venue, symbol="BTC/USDT", interval="1m", start=START, end=END,
                      invalid="drop")  # per query
    assert got.dropped == 1 and len(got) == 59
    assert len(got.gaps) == 1 and got.gaps[0].missing == 1
    assert all(c.high > 0 for c in got)
    with CandleStore(store) as opened:  # the page with a dropped row was not recorded as complete
        assert opened.missing(venue, "BTC/USDT", "1m", START, END) != []
    hostile.on = False
    s2 = Session(transport=hostile, clock=VirtualClock(start=NOW / 1000), store=store)
    with s2:
        full = candles(s2, venue)
    assert len(full) == 60 and full.gaps == [] and full.dropped == 0


def test_drop_is_a_session_option_and_a_query_may_say_raise(tmp_path: Path) -> None:
    s, _, _ = session("binance", candle_rewrite("binance", _set(2, "-5")), invalid="drop")
    with s:
        assert candles(s, "binance").dropped == 1
        with pytest.raises(FetchError):
            candles(s, "binance", invalid="raise")


def test_an_unknown_policy_is_refused() -> None:
    from tradeflood.errors import QueryError

    with pytest.raises(QueryError, match="invalid='skip'"):
        Session(store=False, invalid="skip")  # type: ignore[arg-type]
    s, _, _ = session("binance", {})
    with s, pytest.raises(QueryError, match="invalid="):
        candles(s, "binance", invalid="ignore")


# -- trades, books, tickers -----------------------------------------------------------------

@pytest.mark.parametrize("venue", list(VENUES))
def test_negative_trade_price(venue: str) -> None:
    def change(body: Any) -> None:
        rows(venue, body)[1][TRADE_PRICE[venue]] = "-3.5"
    s, _, _ = session(venue, {TRADE_PATHS[venue]: change})
    with s, pytest.raises(FetchError) as err:
        s.fetch(Trade, exchange=venue, symbol="BTC/USDT", limit=20)
    cause = payload_error(err)
    assert cause.venue == venue and cause.endpoint == TRADE_PATHS[venue]
    assert TRADE_PRICE[venue] in cause.detail and "-3.5" in cause.detail  # the parse or the checks


TRADE_SIZE = {"binance": "qty", "bitget": "size", "okx": "sz", "bybit": "size"}
# What a value check's error calls a trade field: the model's name, and the venue's beside it.
TRADE_FIELD = {venue: {"price": "price" if TRADE_PRICE[venue] == "price" else f"price ({TRADE_PRICE[venue]})",
                       "amount": f"amount ({TRADE_SIZE[venue]})"} for venue in VENUES}
BAD_TRADE_VALUES = [("price", "-3.5", "not a positive price"), ("price", "0", "not a positive price"),
                    ("amount", "-0.25", "not a positive size")]


@pytest.mark.parametrize("venue", list(VENUES))
@pytest.mark.parametrize(("field", "value", "why"), BAD_TRADE_VALUES, ids=["negative-price", "zero-price",
                                                                           "negative-size"])
def test_impossible_recent_trade_raises_or_is_dropped_alone_and_reported(
        venue: str, field: str, value: str, why: str, caplog: pytest.LogCaptureFixture) -> None:
    """A recent trade at a price or size not positive: the same rule on every venue. By default
    a PayloadError naming venue, endpoint, row (and trade id) and field (the venue's name too);
    under invalid="drop" the other trades of the reply come back, the one trade counted."""
    wire = TRADE_PRICE[venue] if field == "price" else TRADE_SIZE[venue]
    spoiled: list[str] = []

    def change(body: Any) -> None:
        row = rows(venue, body)[1]
        row[wire] = value
        spoiled.append(str(row[TRADE_ID[venue]]))
    s, hostile, _ = session(venue, {TRADE_PATHS[venue]: change})
    with s:
        with pytest.raises(FetchError) as err:
            s.fetch(Trade, exchange=venue, symbol="BTC/USDT", limit=20)
        with caplog.at_level(logging.WARNING, logger="tradeflood"):
            got = s.fetch(Trade, exchange=venue, symbol="BTC/USDT", limit=20, invalid="drop")
        hostile.on = False
        honest = s.fetch(Trade, exchange=venue, symbol="BTC/USDT", limit=20)
    assert hostile.rewritten == 2 and len(set(spoiled)) == 1
    (bad,) = set(spoiled)
    row = [t.id for t in honest].index(bad)
    cause = payload_error(err)
    assert (cause.venue, cause.endpoint) == (venue, TRADE_PATHS[venue])
    expected = f"trade {row}: {TRADE_FIELD[venue][field]} is {value}, {why} (id {bad})"
    assert cause.detail == expected, cause.detail
    assert got.dropped == 1 and len(got) == 19
    kept = [t for t in honest if t.id != bad]
    assert [(t.id, t.price, t.amount, t.timestamp) for t in got] == \
        [(t.id, t.price, t.amount, t.timestamp) for t in kept]
    dropped = [r.getMessage() for r in caplog.records if "dropped an invalid row" in r.getMessage()]
    assert len(dropped) == 1 and expected in dropped[0], dropped


HISTORY_PATHS = {"binance": "/api/v3/aggTrades", "bitget": "/api/v2/spot/market/fills-history",
                 "okx": "/api/v5/market/history-trades"}
HISTORY_KEYS = {"binance": ("a", "p", "q"), "bitget": ("tradeId", "price", "size"),
                "okx": ("tradeId", "px", "sz")}
HISTORY_FIELD = {"binance": {"price": "price (p)", "amount": "amount (q)"},
                 "bitget": TRADE_FIELD["bitget"], "okx": TRADE_FIELD["okx"]}


@pytest.mark.parametrize("venue", list(HISTORY_PATHS))
@pytest.mark.parametrize(("field", "value", "why"), BAD_TRADE_VALUES, ids=["negative-price", "zero-price",
                                                                           "negative-size"])
def test_impossible_trade_in_a_history_raises_or_is_dropped_alone_and_reported(
        venue: str, field: str, value: str, why: str, tmp_path: Path) -> None:
    """fetch(Trade, start=, end=): the same rule as for recent trades; under invalid="drop" the
    rest of the range comes back, the trade counted (and, where ids count up one by one, the
    hole it leaves is a gap of one trade), and the window is not stored as complete."""
    ident, price_key, size_key = HISTORY_KEYS[venue]
    spoiled: list[str] = []

    def change(body: Any) -> None:
        row = rows(venue, body)[5]
        row[price_key if field == "price" else size_key] = value
        spoiled.append(str(row[ident]))
    start, end = NOW - 2 * MINUTE, NOW - MINUTE
    s, hostile, sim = session(venue, {HISTORY_PATHS[venue]: change}, store=tmp_path / "store.sqlite3")
    asked = sim.stats.by_path
    with s:
        with pytest.raises(FetchError) as err:
            s.fetch(Trade, exchange=venue, symbol="BTC/USDT", start=start, end=end)
        got = s.fetch(Trade, exchange=venue, symbol="BTC/USDT", start=start, end=end, invalid="drop")
        hostile.on = False
        before = asked[HISTORY_PATHS[venue]]
        honest = s.fetch(Trade, exchange=venue, symbol="BTC/USDT", start=start, end=end)
        assert asked[HISTORY_PATHS[venue]] > before  # the window with a dropped trade was not kept
        before = asked[HISTORY_PATHS[venue]]
        again = s.fetch(Trade, exchange=venue, symbol="BTC/USDT", start=start, end=end)
        assert asked[HISTORY_PATHS[venue]] == before  # the honest one was
    assert hostile.rewritten == 2 and len(set(spoiled)) == 1 and len(honest) == 60
    assert [t.id for t in again] == [t.id for t in honest] and again.dropped == 0
    (bad,) = set(spoiled)
    row = [t.id for t in honest].index(bad)
    cause = payload_error(err)
    assert (cause.venue, cause.endpoint) == (venue, HISTORY_PATHS[venue])
    # The row counts in the window's pages as parsed (a window may span more than the range
    # asked), so the trade id says which trade it is.
    detail = f"{HISTORY_FIELD[venue][field]} is {value}, {why} (id {bad})"
    assert re.fullmatch(r"trade \d+: " + re.escape(detail), cause.detail), cause.detail
    kept = [t for t in honest if t.id != bad]
    assert got.dropped == 1
    assert [(t.id, t.price, t.amount) for t in got] == [(t.id, t.price, t.amount) for t in kept]
    if venue == "binance":  # aggregate ids count up one by one: the dropped one is a gap
        before, after = honest[row - 1], honest[row + 1]
        assert [(g.start, g.end, g.missing) for g in got.gaps] == [(before.timestamp + 1, after.timestamp, 1)]
    else:
        assert got.gaps == [] and honest.gaps == []


@pytest.mark.parametrize("venue", list(VENUES))
def test_duplicate_trade_id_within_one_page(venue: str) -> None:
    def change(body: Any) -> None:
        page = rows(venue, body)
        page[3][TRADE_ID[venue]] = page[2][TRADE_ID[venue]]
    s, _, _ = session(venue, {TRADE_PATHS[venue]: change})
    with s, pytest.raises(FetchError) as err:
        s.fetch(Trade, exchange=venue, symbol="BTC/USDT", limit=20)
    assert ": id " in payload_error(err).detail and "twice" in payload_error(err).detail
    s, _, _ = session(venue, {TRADE_PATHS[venue]: change})
    with s:
        got = s.fetch(Trade, exchange=venue, symbol="BTC/USDT", limit=20, invalid="drop")
    assert got.dropped == 1 and len(got) == 19 and len({t.id for t in got}) == 19


def _crossed(venue: str) -> Mutate:
    def change(body: Any) -> None:
        bids, asks = book_of(venue, body)
        asks[0][0] = str(float(bids[0][0]) - 1)  # the best ask below the best bid
    return change


def _zero_price(venue: str) -> Mutate:
    def change(body: Any) -> None:
        bids, _ = book_of(venue, body)
        bids[-1][0] = "0"
    return change


def _negative_price(venue: str) -> Mutate:
    def change(body: Any) -> None:
        bids, _ = book_of(venue, body)
        bids[-1][0] = "-1"
    return change


def _unordered(venue: str) -> Mutate:
    def change(body: Any) -> None:
        bids, _ = book_of(venue, body)
        bids[1][0] = bids[0][0]  # one price level twice
    return change


@pytest.mark.parametrize("venue", list(VENUES))
@pytest.mark.parametrize("make", [_crossed, _zero_price, _negative_price, _unordered],
                         ids=["crossed", "zero-price", "negative-price", "duplicate-level"])
def test_impossible_book(venue: str, make: Callable[[str], Mutate]) -> None:
    s, _, _ = session(venue, {BOOK_PATHS[venue]: make(venue)})
    with s, pytest.raises(FetchError) as err:
        s.fetch(OrderBook, exchange=venue, symbol="BTC/USDT", depth=50 if venue == "bybit" else 20)
    cause = payload_error(err)
    assert cause.venue == venue and cause.endpoint == BOOK_PATHS[venue]
    assert "price" in cause.detail or "px" in cause.detail, cause.detail  # by the parse or the checks


@pytest.mark.parametrize("venue", list(VENUES))
@pytest.mark.parametrize("make", [_crossed, _zero_price, _negative_price, _unordered],
                         ids=["crossed", "zero-price", "negative-price", "duplicate-level"])
def test_impossible_book_under_drop_has_no_result_and_says_why(venue: str,
                                                               make: Callable[[str], Mutate]) -> None:
    """A book is one result: under invalid="drop" it is None, the reason handed to on_absent,
    on every venue alike (no venue's parse refuses it on its own)."""
    reasons: list[PayloadError] = []
    s, hostile, _ = session(venue, {BOOK_PATHS[venue]: make(venue)})
    with s:
        book = s.fetch(OrderBook, exchange=venue, symbol="BTC/USDT", depth=50 if venue == "bybit" else 20,
                       invalid="drop", on_absent=reasons.append)
    assert book is None and hostile.rewritten == 1
    (reason,) = reasons
    assert (reason.venue, reason.endpoint) == (venue, BOOK_PATHS[venue])
    assert re.match(r"book \d+: (bids|asks) price ", reason.detail), reason.detail


@pytest.mark.parametrize("venue", list(VENUES))
def test_book_levels_out_of_order_come_back_best_first(venue: str) -> None:
    """Levels listed worst first are still one book by price: sorted, not refused."""
    def reverse(body: Any) -> None:
        bids, asks = book_of(venue, body)
        bids.reverse()
        asks.reverse()
    depth = 50 if venue == "bybit" else 20
    s, hostile, _ = session(venue, {BOOK_PATHS[venue]: reverse})
    with s:
        book = s.fetch(OrderBook, exchange=venue, symbol="BTC/USDT", depth=depth)
        hostile.on = False
        honest = s.fetch(OrderBook, exchange=venue, symbol="BTC/USDT", depth=depth)
    assert hostile.rewritten == 1
    assert len(book.bids) == depth and book.bids == honest.bids and book.asks == honest.asks
    assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)
    assert book.bids[0][0] < book.asks[0][0]


def test_binance_negative_ticker_price() -> None:
    def change(body: Any) -> None:
        body["lastPrice"] = "-2"
    s, _, _ = session("binance", {"/api/v3/ticker/24hr": change})
    with s, pytest.raises(FetchError) as err:
        s.fetch(Ticker, exchange="binance", symbol="BTC/USDT")
    assert "last is -2" in payload_error(err).detail


TICKER_PATHS = {"binance": "/api/v3/ticker/24hr", "bitget": "/api/v2/spot/market/tickers",
                "okx": "/api/v5/market/ticker", "bybit": "/v5/market/tickers"}
TICKER_LAST = {"binance": "lastPrice", "bitget": "lastPr", "okx": "last", "bybit": "lastPrice"}


def _negative_last(venue: str) -> Mutate:
    def change(body: Any) -> None:
        if venue == "binance":
            body["lastPrice"] = "-2"
        else:
            for record in (body["result"]["list"] if venue == "bybit" else body["data"]):
                record[TICKER_LAST[venue]] = "-2"
    return change


@pytest.mark.parametrize("venue", list(VENUES))
def test_negative_ticker_price_raises_or_is_dropped_and_reported(
        venue: str, caplog: pytest.LogCaptureFixture) -> None:
    """The same rule on every venue: refused by default, and under invalid="drop" no result
    (None, the reason logged, and in ``absent`` for gather) rather than a failed query."""
    rewrite = {TICKER_PATHS[venue]: _negative_last(venue)}
    s, hostile, _ = session(venue, rewrite)
    with s, pytest.raises(FetchError) as err:
        s.fetch(Ticker, exchange=venue, symbol="BTC/USDT")
    cause = payload_error(err)
    assert (cause.venue, cause.endpoint) == (venue, TICKER_PATHS[venue])
    assert cause.detail == "ticker 0: last is -2, a negative price", cause.detail
    s, hostile, _ = session(venue, rewrite)
    with caplog.at_level(logging.WARNING, logger="tradeflood"), s:
        assert s.fetch(Ticker, exchange=venue, symbol="BTC/USDT", invalid="drop") is None
        results = s.gather(s.query(Ticker, exchange=venue, symbol="BTC/USDT", invalid="drop"),
                           s.query(OrderBook, exchange=venue, symbol="BTC/USDT", invalid="drop",
                                   depth=50 if venue == "bybit" else 20))
    assert hostile.rewritten == 2
    assert results[0] is None and isinstance(results[1], OrderBook)
    assert list(results.absent) == [0] and results.absent[0].detail == cause.detail
    warned = [r.getMessage() for r in caplog.records if "has no result" in r.getMessage()]
    assert len(warned) == 2 and all("last is -2" in w for w in warned), warned


# -- store verify ---------------------------------------------------------------------------

def _plant(store_path: Path) -> list[Candle]:
    """An old store: 3 bars written as complete, the middle one impossible (high below low)."""
    def bar(t: int, high: str) -> Candle:
        return Candle(exchange="binance", symbol="BTC/USDT", native_symbol="BTCUSDT", interval="1m",
                      open_time=t, open="10", high=high, low="9", close="10", volume="1")
    bars = [bar(START, "11"), bar(START + MINUTE, "5"), bar(START + 2 * MINUTE, "12")]
    with CandleStore(store_path) as store:
        store.write("binance", "BTC/USDT", "1m", START, START + 3 * MINUTE, bars)
    return bars


def test_store_verify_finds_and_fix_removes_a_planted_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    bars = _plant(path)
    runner = CliRunner()
    found = runner.invoke(cli, ["store", "verify", "--path", str(path)])
    assert found.exit_code == 1, found.output
    assert "binance BTC/USDT 1m" in found.output and "high 5 is below max(open, close) 10" in found.output
    assert "3 candles checked" in found.output and "1 fail the checks" in found.output
    fixed = runner.invoke(cli, ["store", "verify", "--path", str(path), "--fix"])
    assert fixed.exit_code == 0 and "1 removed" in fixed.output
    with CandleStore(path) as store:
        assert store.read("binance", "BTC/USDT", "1m", START, END) == [bars[0], bars[2]]
        # The bad bar is no longer known, so the next fetch asks for it again.
        assert store.missing("binance", "BTC/USDT", "1m", START, START + 3 * MINUTE) == [
            (START + MINUTE, START + 2 * MINUTE)]
        assert verify_store(store).bad == []
    clean = runner.invoke(cli, ["store", "verify", "--path", str(path)])
    assert clean.exit_code == 0 and "0 fail the checks" in clean.output


def test_a_fixed_store_is_refilled_honestly(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _plant(path)
    with CandleStore(path) as store:
        verify_store(store, fix=True)
    s, _, sim = session("binance", {}, store=path)
    with s:
        got = s.fetch(Candle, exchange="binance", symbol="BTC/USDT", interval="1m", start=START,
                      end=START + 3 * MINUTE)
    assert got[1].high >= max(got[1].open, got[1].close) and got[1].high != 5
    assert sim.stats.requests >= 1


# -- open interest ----------------------------------------------------------------------------

OI_PATHS = {"binance": "/fapi/v1/openInterest", "bitget": "/api/v2/mix/market/open-interest",
            "okx": "/api/v5/public/open-interest", "bybit": "/v5/market/tickers"}
OI_FIELD = {"binance": "openInterest", "bitget": "size", "okx": "oiCcy", "bybit": "openInterest"}


def _negative_open_interest(venue: str) -> Mutate:
    def change(body: Any) -> None:
        if venue == "binance":
            records = [body]
        elif venue == "bitget":
            records = body["data"]["openInterestList"]
        elif venue == "bybit":
            records = body["result"]["list"]
        else:
            records = body["data"]
        for record in records:
            record[OI_FIELD[venue]] = "-3"
    return change


@pytest.mark.parametrize("venue", list(VENUES))
def test_negative_open_interest_raises_or_is_dropped_and_reported(
        venue: str, caplog: pytest.LogCaptureFixture) -> None:
    """Open interest follows the rule the checks hold (not negative) on every venue: refused by
    default naming the size, and under invalid="drop" no result, the reason logged and given to
    ``on_absent``, instead of the venue's own parse failing the query either way."""
    rewrite = {OI_PATHS[venue]: _negative_open_interest(venue)}
    s, hostile, _ = session(venue, rewrite)
    with s, pytest.raises(FetchError) as err:
        s.fetch(OpenInterest, exchange=venue, symbol="BTC/USDT:USDT")
    cause = payload_error(err)
    assert (cause.venue, cause.endpoint) == (venue, OI_PATHS[venue])
    assert "size" in cause.detail and "-3" in cause.detail, cause.detail
    s, hostile, _ = session(venue, rewrite)
    reasons: list[PayloadError] = []
    with caplog.at_level(logging.WARNING, logger="tradeflood"), s:
        assert s.fetch(OpenInterest, exchange=venue, symbol="BTC/USDT:USDT", invalid="drop",
                       on_absent=reasons.append) is None
    assert hostile.rewritten == 1
    assert [r.detail for r in reasons] == [cause.detail]
    warned = [r.getMessage() for r in caplog.records if "has no result" in r.getMessage()]
    assert len(warned) == 1 and "-3" in warned[0], warned
