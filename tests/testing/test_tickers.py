"""Binance's futures bookTicker: the top of the simulated book, in Binance's wire format."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx

import tradeflood
from tradeflood.clock import VirtualClock
from tradeflood.models import Ticker
from tradeflood.testing import BinanceVenue, SimulatorTransport

ClientFactory = Callable[..., httpx.AsyncClient]
FAPI = "https://fapi.binance.com"
BOOK_TICKER = "/fapi/v1/ticker/bookTicker"


async def test_book_ticker_is_the_top_of_the_depth(
    binance: BinanceVenue, client: ClientFactory
) -> None:
    c = client(FAPI)
    top = await c.get(BOOK_TICKER, params={"symbol": "BTCUSDT"})
    depth = (await c.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 5})).json()
    assert top.status_code == 200 and top.headers["x-mbx-used-weight-1m"] == "2"
    body = top.json()
    assert list(body) == [
        "symbol", "bidPrice", "bidQty", "askPrice", "askQty", "time", "lastUpdateId"
    ]
    assert body["symbol"] == "BTCUSDT"
    assert [body["bidPrice"], body["bidQty"]] == depth["bids"][0]
    assert [body["askPrice"], body["askQty"]] == depth["asks"][0]
    assert (body["time"], body["lastUpdateId"]) == (depth["T"], depth["lastUpdateId"])
    assert all(isinstance(body[k], str) for k in ("bidPrice", "bidQty", "askPrice", "askQty"))
    assert Decimal(body["bidPrice"]) < Decimal(body["askPrice"])
    inst = binance.market.find("BTCUSDT", "perp")
    assert inst is not None  # futures print at the contract's own precision, like "71481.90"
    assert Decimal(body["askPrice"]).as_tuple().exponent == inst.tick.as_tuple().exponent
    assert Decimal(body["askQty"]).as_tuple().exponent == inst.lot.as_tuple().exponent


async def test_book_ticker_for_every_symbol_weighs_5(client: ClientFactory) -> None:
    r = await client(FAPI).get(BOOK_TICKER)
    assert r.status_code == 200 and r.headers["x-mbx-used-weight-1m"] == "5"
    rows = r.json()
    assert isinstance(rows, list) and "BTCUSDT" in {row["symbol"] for row in rows}


async def test_book_ticker_unknown_symbol(client: ClientFactory) -> None:
    r = await client(FAPI).get(BOOK_TICKER, params={"symbol": "NOPEUSDT"})
    assert r.status_code == 400 and r.json() == {"code": -1121, "msg": "Invalid symbol."}


async def test_session_futures_ticker_takes_bid_and_ask_from_it(clock: VirtualClock) -> None:
    venue = BinanceVenue(clock=clock)
    session = tradeflood.Session(transport=SimulatorTransport({"binance": venue}), clock=clock)
    ticker = await session.afetch(Ticker, exchange="binance", symbol="BTC/USDT:USDT")
    depth = venue.handle("GET", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "5"}, "x").json()
    assert isinstance(ticker, Ticker)
    assert ticker.bid == Decimal(depth["bids"][0][0]) and ticker.ask == Decimal(depth["asks"][0][0])
    assert venue.stats.by_path[BOOK_TICKER] == 1
