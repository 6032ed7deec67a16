"""Binance liquidation orders of USDⓈ-M perpetuals from ``<symbol>@forceOrder``.

Wire facts (Binance USDⓈ-M "Websocket Market Streams", Liquidation Order Streams,
developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/
Liquidation-Order-Streams): ``{"e": "forceOrder", "E", "o": {"s", "S", "q", "p", "ap",
"X", "l", "z", "T", ...}}``, at most the latest liquidation of a symbol per 1000 ms (a
snapshot, so a burst shows as its last order). ``S`` is the order's side,
``ap`` its average price and ``z`` the filled quantity; ``T`` the trade time.
Spot has no liquidations: a spot symbol is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeflood import Query
from tradeflood.connectors.binance import Binance
from tradeflood.errors import QueryError
from tradeflood.models import Instrument, Liquidation
from tradeflood.parsing import Reader
from tradeflood.streams import Frame, StreamBinding, Topic

from .parse import VENUE
from .rest import market

__all__ = ["BinanceLiquidationStream", "parse_force_order"]


class BinanceLiquidationStream(StreamBinding, model=Liquidation, connector=Binance):
    """Live liquidation orders of a USDⓈ-M perpetual (``<symbol>@forceOrder``)."""

    @classmethod
    def check(cls, query: Query) -> None:
        if market(query) == "spot":
            raise QueryError(f"binance liquidations are of USDT-M perpetuals: {query.symbol!r} is spot "
                             f"(ask for '{query.symbol}:USDT')")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return Topic(VENUE, "ws.futures", f"{instrument.native_symbol.lower()}@forceOrder")

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Liquidation]:
        assert query.symbol is not None
        return [parse_force_order(frame.payload, symbol=query.symbol, endpoint=f"ws {topic.name}")]


def parse_force_order(payload: Any, *, symbol: str, endpoint: str = "ws forceOrder") -> Liquidation:
    """A liquidation from one ``forceOrder`` event: the average price and filled quantity when
    the order has filled, else its price and quantity."""
    read = Reader(VENUE, endpoint, payload)
    order = read.record(read.record(payload).get("o"), "the event's order 'o'")
    r = read.at(order, "o")
    side = order.get("S")
    if side not in ("BUY", "SELL"):
        raise r.fail(f"S is {side!r}, expected BUY or SELL")
    price = r.decimal(r.field(order, "ap"), "ap") or r.decimal(r.field(order, "p"), "p")
    amount = r.decimal(r.field(order, "z"), "z") or r.decimal(r.field(order, "q"), "q")
    return r.model(Liquidation, exchange=VENUE, symbol=symbol, native_symbol=r.text(order, "s"),
                   timestamp=r.ms(r.field(order, "T"), "T"), price=price, amount=amount, side=side.lower())
