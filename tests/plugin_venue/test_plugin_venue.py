"""A venue added as a plugin from public names only: candles over many pages, instruments,
a trade stream and a book stream with its own sequence rule, against Quill's own server."""

from __future__ import annotations

import ast
import asyncio
import importlib
import sys
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradeflood import Session, registry
from tradeflood.models import Candle, Instrument, OrderBook, Trade
from tradeflood.streams import BookResync, BookResynced, StreamEvent

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # the plugin and its server are plain modules next to this test

from server import FIRST_SEQ, QuillServer, bid_size, candle_row, price, trade_price  # noqa: E402

#: What a venue may import from TradeFlood: the public modules, never an underscore module.
PUBLIC = {"tradeflood", "tradeflood.models", "tradeflood.parsing", "tradeflood.streams",
          "tradeflood.columnar", "tradeflood.symbols", "tradeflood.intervals", "tradeflood.errors",
          "tradeflood.connectors", "tradeflood.bindings"}

MINUTE = 60_000
START = 1_700_000_040_000 // MINUTE * MINUTE   # a minute edge
END = START + 350 * MINUTE                     # 350 bars
#: Grid pages are 100 bars long from the epoch, so 350 bars from mid-page span 4 of them.
PAGES = len({t // (100 * MINUTE) for t in range(START, END, MINUTE)})


@pytest.fixture
def quill() -> Iterator[Any]:
    """The plugin, imported (which registers it) for one test and forgotten afterwards."""
    with registry.preserved():
        module = sys.modules.get("quill")
        yield importlib.reload(module) if module is not None else importlib.import_module("quill")


@pytest.fixture
async def venue(quill: Any) -> AsyncIterator[tuple[QuillServer, dict[str, dict[str, str]]]]:
    server = QuillServer()
    host = await server.start()
    try:
        yield server, {"quill": {"rest": f"http://{host}", "ws": f"ws://{host}/ws"}}
    finally:
        await server.stop()


def test_the_plugin_imports_only_public_tradeflood_modules() -> None:
    tree = ast.parse((HERE / "quill.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    ours = {m for m in modules if m.split(".")[0] == "tradeflood"}
    assert ours and ours <= PUBLIC, ours - PUBLIC
    assert not any(part.startswith("_") for m in ours for part in m.split("."))


def test_the_plugin_registers_by_subclassing(quill: Any) -> None:
    assert registry.lookup(Candle, "quill") is quill.QuillCandles
    assert registry.lookup_stream(OrderBook, "quill") is quill.QuillBookStream
    assert registry.venues()["quill"] == ["Candle", "Instrument", "OrderBook", "Trade"]


async def test_instruments(venue: tuple[QuillServer, dict[str, Any]]) -> None:
    server, urls = venue
    async with Session(urls=urls, store=False) as s:
        markets = await s.afetch(Instrument, exchange="quill")
        [eth] = await s.afetch(Instrument, exchange="quill", symbol="ETH/USD")
    assert [m.symbol for m in markets] == ["BTC/USD", "ETH/USD"]
    assert (eth.native_symbol, eth.tick_size, eth.step_size) == ("ETH-USD", Decimal("0.01"), Decimal("0.01"))
    assert server.requests["/v1/markets"] == 1  # the listing turn is cached for the session


@pytest.mark.parametrize("bulk", [True, False])
async def test_candles_over_many_pages(venue: tuple[QuillServer, dict[str, Any]], bulk: bool, quill: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    server, urls = venue
    monkeypatch.setattr(quill.QuillCandles, "bulk", bulk)
    async with Session(urls=urls, store=False) as s:
        candles = await s.afetch(Candle, exchange="quill", symbol="BTC/USD", interval="1m",
                                 start=START, end=END)
    assert len(candles) == 350 and not candles.gaps
    assert [c.open_time for c in candles] == list(range(START, END, MINUTE))
    for c in (candles[0], candles[123], candles[-1]):
        row = candle_row(c.open_time)
        assert (c.open, c.high, c.low, c.close, c.volume) == tuple(Decimal(v) for v in row[1:])
        assert c.open == price(c.open_time) and c.native_symbol == "BTC-USD" and c.closed
    assert PAGES == 4 and server.requests["/v1/candles"] == PAGES
    assert server.requests["/v1/markets"] == 1


async def test_a_bad_symbol_is_refused_before_any_candle_request(venue: tuple[QuillServer, Any]) -> None:
    server, urls = venue
    async with Session(urls=urls, store=False) as s:
        with pytest.raises(Exception, match="DOGE/USD"):
            await s.afetch(Candle, exchange="quill", symbol="DOGE/USD", interval="1m", start=START, end=END)
    assert server.requests["/v1/candles"] == 0


async def _data(stream: Any, events: list[Any] | None = None) -> Any:
    while True:
        item = await asyncio.wait_for(stream.get(), 10)
        if not isinstance(item, StreamEvent):
            return item
        if events is not None:
            events.append(item)


async def test_a_trade_stream(venue: tuple[QuillServer, dict[str, Any]]) -> None:
    server, urls = venue
    async with Session(urls=urls, store=False) as s:
        first, second = (s.stream(Trade, exchange="quill", symbol="BTC/USD") for _ in range(2))
        trades = [await _data(first) for _ in range(5)]
        other = await _data(second)
        await first.close()
        await second.close()
    ids = [int(t.id) for t in trades]
    assert ids == list(range(ids[0], ids[0] + 5))                  # in order, none twice
    for t in trades:
        n = int(t.id)
        assert (t.price, t.amount, t.side) == (trade_price(n), Decimal("0.5"), "buy" if n % 2 else "sell")
        assert t.timestamp == 1_700_000_000_000 + n and t.native_symbol == "BTC-USD"
    assert int(other.id) >= ids[0]
    assert server.subscriptions["trades:BTC-USD"] == 1              # two consumers, one subscription


async def test_a_book_stream_with_its_own_sequence_rule(venue: tuple[QuillServer, dict[str, Any]]) -> None:
    server, urls = venue
    events: list[Any] = []
    async with Session(urls=urls, store=False) as s:
        books = s.stream(OrderBook, exchange="quill", symbol="BTC/USD", depth=5, events=True)
        book = await _data(books, events)
        assert book.sequence is not None and book.sequence >= FIRST_SEQ
        assert [a for a, _ in book.asks] == [Decimal(f"100.{i}") for i in range(5)]
        later = await _data(books, events)
        assert later.sequence is not None and later.sequence > book.sequence
        assert later.bids[0] == (Decimal("99.4"), Decimal(1))
        assert later.bids[4] == (Decimal("99.0"), Decimal(bid_size(later.sequence)))
        server.skip_next_seq = True                                 # the next delta skips one seq
        while not any(isinstance(e, BookResynced) for e in events):
            await _data(books, events)
        resynced = await _data(books, events)
        await books.close()
    resync = next(e for e in events if isinstance(e, BookResync))
    assert "sequence gap" in resync.reason
    assert server.subscriptions["book:BTC-USD"] == 2                # the resync resubscribed once
    assert resynced.sequence is not None and resynced.sequence > later.sequence
    assert resynced.bids[4][0] == Decimal("99.0")
