"""Each model streams from each venue with values that agree with the venue's REST answers."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

import tradeflood
from tradeflood.errors import InvalidIntervalError, TradeFloodError, UnknownSymbolError
from tradeflood.models import Candle, OrderBook, Ticker, Trade
from tradeflood.streams import StreamEvent
from tradeflood.testing import take

VENUES = ("bitget", "binance")
SYMBOLS = ("BTC/USDT", "ETH/USDT:USDT")


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("symbol", SYMBOLS)
async def test_trades_arrive_once_in_order(session: tradeflood.Session, venue: str, symbol: str) -> None:
    async with session.stream(Trade, exchange=venue, symbol=symbol) as trades:
        got = await take(trades, 25)
    assert all(isinstance(t, Trade) for t in got)
    ids = [int(t.id) for t in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {t.symbol for t in got} == {symbol}
    assert {t.native_symbol for t in got} == {symbol.split("/")[0] + "USDT"}
    assert all(t.price > 0 and t.amount > 0 and t.side in ("buy", "sell") for t in got)
    # The simulator's trades are a pure function of their id: the stream must agree with REST.
    recent = await session.afetch(Trade, exchange=venue, symbol=symbol, limit=100)
    by_id = {t.id: t for t in recent}
    shared = [t for t in got if t.id in by_id]
    assert shared, "the REST recent trades overlap the streamed ones"
    for t in shared:
        rest = by_id[t.id]
        assert (t.price, t.amount, t.side, t.timestamp) == \
            (rest.price, rest.amount, rest.side, rest.timestamp)


@pytest.mark.parametrize("venue", VENUES)
async def test_closed_candles_equal_the_rest_candles(session: tradeflood.Session, venue: str) -> None:
    async with session.stream(Candle, exchange=venue, symbol="BTC/USDT", interval="1m") as candles:
        got = await take(candles, 3, timeout=15)
    assert all(c.closed for c in got)
    opens = [c.open_time for c in got]
    assert [b - a for a, b in itertools.pairwise(opens)] == [60_000, 60_000]
    rest = await session.afetch(Candle, exchange=venue, symbol="BTC/USDT", interval="1m",
                                start=opens[0], end=opens[-1] + 60_000)
    assert [(c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in rest] == \
           [(c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in got]


@pytest.mark.parametrize("venue", VENUES)
async def test_partial_candles_show_the_forming_bar(session: tradeflood.Session, venue: str) -> None:
    async with session.stream(Candle, exchange=venue, symbol="BTC/USDT", interval="1m",
                              partial=True) as candles:
        got = await take(candles, 8, timeout=15)
    forming = [c for c in got if not c.closed]
    assert forming, "partial=True hands out the forming candle"
    for c in forming:
        assert c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close)


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("symbol", SYMBOLS)
async def test_books_are_sorted_uncrossed_and_cut_to_depth(
    session: tradeflood.Session, venue: str, symbol: str
) -> None:
    async with session.stream(OrderBook, exchange=venue, symbol=symbol, depth=10) as books:
        got = await take(books, 5, keep=lambda x: not isinstance(x, StreamEvent))
    for book in got:
        assert len(book.bids) == 10 and len(book.asks) == 10
        assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
        assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)
        assert book.bids[0][0] < book.asks[0][0]
        assert all(size > 0 for _, size in book.bids + book.asks)
    sequences = [b.sequence for b in got]
    assert sequences == sorted(sequences)


@pytest.mark.speed(1)
@pytest.mark.parametrize("symbol", SYMBOLS)
async def test_binance_book_equals_rest_depth_at_the_same_update_id(
    session: tradeflood.Session, symbol: str
) -> None:
    """The live book (REST snapshot + deltas) is exactly the venue's book at its update id."""
    async with session.stream(OrderBook, exchange="binance", symbol=symbol, depth=20,
                              overflow="raise") as books:
        (last,) = await take(books, 1, keep=lambda x: isinstance(x, OrderBook))
        matched = 0
        for _ in range(15):
            rest = await session.afetch(OrderBook, exchange="binance", symbol=symbol, depth=20)
            # Every update is handed out (no conflation), so a live book carries the snapshot's
            # update id whenever one event ends exactly there (one event may cover several ticks).
            while last.sequence < rest.sequence:
                (book,) = await take(books, 1, keep=lambda x: isinstance(x, OrderBook))
                assert book.sequence > last.sequence
                last = book
            if last.sequence == rest.sequence:
                assert last.bids == rest.bids and last.asks == rest.asks
                matched += 1
                if matched == 3:
                    break
    assert matched == 3


@pytest.mark.parametrize("venue", VENUES)
async def test_tickers(session: tradeflood.Session, venue: str) -> None:
    async with session.stream(Ticker, exchange=venue, symbol="BTC/USDT") as tickers:
        got = await take(tickers, 2)
    for t in got:
        assert t.last is not None and t.last > 0
        assert t.bid is not None and t.ask is not None and t.bid < t.ask
        assert t.low <= t.last <= t.high  # type: ignore[operator]
    assert got[1].timestamp >= got[0].timestamp


async def test_unknown_symbol_fails_promptly_without_a_connection(session: tradeflood.Session, sim) -> None:
    stream = session.stream(Trade, exchange="bitget", symbol="NOPE/USDT")
    with pytest.raises(UnknownSymbolError, match="NOPE/USDT"):
        await stream.ready()
    with pytest.raises(UnknownSymbolError):
        await stream.get()
    assert sim.streams["bitget"].stats.connections_accepted == 0
    assert session._streams.stats()["consumers"] == 0


def test_unsupported_interval_is_refused_before_anything_runs() -> None:
    with pytest.raises(InvalidIntervalError, match="bitget candle streams"):
        tradeflood.registry.resolve(tradeflood.Query(Candle, exchange="bitget", symbol="BTC/USDT",
                                                     interval="3m", live=True))


def test_streams_need_an_event_loop() -> None:
    with tradeflood.Session(store=False) as s, pytest.raises(TradeFloodError, match="event loop"):
        s.stream(Trade, exchange="bitget", symbol="BTC/USDT")


async def test_prices_are_exact_decimals(session: tradeflood.Session) -> None:
    async with session.stream(Trade, exchange="binance", symbol="BTC/USDT") as trades:
        (trade,) = await take(trades, 1)
    assert isinstance(trade.price, Decimal) and trade.price.as_tuple().exponent == -8


@pytest.mark.parametrize(("options", "message"), [
    ({"throttle": -1}, "throttle=-1"),
    ({"throttle": True}, "throttle=True"),
    ({"overflow": "spill"}, "overflow='spill'"),
    ({"maxsize": 0}, "maxsize=0"),
    ({"poll": 0}, "poll=0"),
])
async def test_bad_stream_options_are_refused_at_once(session: tradeflood.Session, options: dict,
                                                      message: str) -> None:
    from tradeflood.errors import QueryError

    with pytest.raises(QueryError, match=message):
        await session.stream(Ticker, exchange="binance", symbol="BTC/USDT", **options).ready()
    assert session._streams.stats()["consumers"] == 0
