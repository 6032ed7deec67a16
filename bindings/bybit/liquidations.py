"""Bybit liquidations of USDT linear perpetuals from ``allLiquidation.<symbol>``.

Wire facts (Bybit v5 WebSocket "All Liquidation",
bybit-exchange.github.io/docs/v5/websocket/public/all-liquidation; ``S``: "When you
receive a ``Buy`` update, this means that a long position has been liquidated"):
pushed every 500 ms with every liquidation since the last push, ``{"topic", "type": "snapshot", "ts",
"data": [{"T", "s", "S", "v", "p"}]}``. ``S`` is the side of the *position*
liquidated (``Buy``: a long), so the liquidation order's side is the other one;
``v`` is the size in base, ``p`` the bankruptcy price. Spot is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeflood import Query
from tradeflood.connectors.bybit import Bybit
from tradeflood.errors import QueryError
from tradeflood.models import Instrument, Liquidation
from tradeflood.parsing import Reader
from tradeflood.streams import Frame, StreamBinding, Topic

from .parse import EXCHANGE
from .rest import category

__all__ = ["BybitLiquidationStream", "parse_liquidation_push"]

_ORDER_SIDE = {"Buy": "sell", "Sell": "buy"}  # a long (Buy) is closed by selling


class BybitLiquidationStream(StreamBinding, model=Liquidation, connector=Bybit):
    """Live liquidations of a USDT linear perpetual."""

    @classmethod
    def check(cls, query: Query) -> None:
        if category(query.symbol, "liquidations") == "spot":
            raise QueryError(f"bybit liquidations are of linear perpetuals: {query.symbol!r} is spot "
                             f"(ask for '{query.symbol}:USDT')")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return Topic(EXCHANGE, "ws.linear", f"allLiquidation.{instrument.native_symbol}",
                     (("symbol", instrument.native_symbol),))

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Liquidation]:
        assert query.symbol is not None
        return parse_liquidation_push(frame.payload, symbol=query.symbol, endpoint=f"ws {topic.name}")


def parse_liquidation_push(payload: Any, *, symbol: str,
                           endpoint: str = "ws allLiquidation") -> list[Liquidation]:
    """Liquidations from one ``allLiquidation`` push, in the venue's order."""
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for i, rec in enumerate(read.records(payload, "liquidations")):
        r = read.at(rec, f"liquidation {i}")
        side = _ORDER_SIDE.get(rec.get("S"))  # type: ignore[arg-type]
        if side is None:
            raise r.fail(f"S is {rec.get('S')!r}, expected Buy or Sell")
        out.append(r.model(Liquidation, exchange=EXCHANGE, symbol=symbol, native_symbol=r.text(rec, "s"),
                           timestamp=r.ms(rec.get("T"), "T"), price=r.decimal(rec.get("p"), "p"),
                           amount=r.decimal(rec.get("v"), "v"), side=side))
    return out
