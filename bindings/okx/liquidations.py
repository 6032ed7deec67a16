"""OKX liquidation orders of USDT swaps from the ``liquidation-orders`` channel.

Wire facts (OKX API v5 WebSocket, Public Channel "Liquidation orders",
www.okx.com/docs-v5/en/#public-data-websocket-liquidation-orders-channel):
subscribed with ``{"channel": "liquidation-orders", "instType": "SWAP"}`` for every
swap at once; pushes are ``{"arg", "data": [{"instId", "instFamily", "instType",
"uly", "details": [{"side", "posSide", "bkPx", "sz", "bkLoss", "ccy", "ts"}]}]}``;
"Liquidation data comes from different data sources, so the updated data is not
necessarily in chronological order" (each push's orders are sorted here). ``side`` is the liquidation order's
side, ``bkPx`` the bankruptcy price, ``sz`` in contracts (scaled to base with the
swap's ``ctVal``). The connector routes each push by its ``instId``, so every
symbol is a topic of its own; the venue's subscription is one for all swaps
(OKX takes no instId here), so every symbol's topic shares it
(:meth:`~tradeflood.connectors.okx.OkxStream.subscription`): subscribed once, and
unsubscribed only when the last symbol's stream ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tradeflood import Query
from tradeflood.connectors.okx import LIQUIDATIONS, Okx
from tradeflood.errors import QueryError
from tradeflood.models import Instrument, Liquidation
from tradeflood.parsing import Reader
from tradeflood.streams import Frame, StreamBinding, Topic

from .parse import EXCHANGE
from .rest import inst_type

__all__ = ["OkxLiquidationStream", "parse_liquidation_orders"]


class OkxLiquidationStream(StreamBinding, model=Liquidation, connector=Okx):
    """Live liquidation orders of a USDT swap, amounts in base."""

    @classmethod
    def check(cls, query: Query) -> None:
        if inst_type(query.symbol, "liquidations") == "SPOT":
            raise QueryError(f"okx liquidations are of swaps: {query.symbol!r} is spot "
                             f"(ask for '{query.symbol}:USDT')")

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return Topic(EXCHANGE, "ws", f"{LIQUIDATIONS}:{instrument.native_symbol}",
                     (("channel", LIQUIDATIONS), ("instType", "SWAP"),
                      ("native", instrument.native_symbol), ("ctVal", str(instrument.contract_size))))

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Liquidation]:
        assert query.symbol is not None
        return parse_liquidation_orders(frame.payload, symbol=query.symbol, native_symbol=topic.arg("native"),
                                        contract_size=Decimal(topic.arg("ctVal")),
                                        endpoint=f"ws {topic.name}")


def parse_liquidation_orders(payload: Any, *, symbol: str, native_symbol: str,
                             contract_size: Decimal = Decimal(1),
                             endpoint: str = "ws liquidation-orders") -> list[Liquidation]:
    """The liquidations of ``native_symbol`` in one push (other instruments' are skipped)."""
    read = Reader(EXCHANGE, endpoint, payload)
    out = []
    for i, rec in enumerate(read.records(payload, "instruments")):
        if rec.get("instId") != native_symbol:
            continue
        r = read.at(rec, f"data[{i}]")
        for j, d in enumerate(r.records(rec.get("details"), "details")):
            rd = read.at(d, f"data[{i}].details[{j}]")
            side = d.get("side")
            if side not in ("buy", "sell"):
                raise rd.fail(f"side is {side!r}, expected buy or sell")
            out.append(rd.model(Liquidation, exchange=EXCHANGE, symbol=symbol, native_symbol=native_symbol,
                                timestamp=rd.ms(d.get("ts"), "ts"), price=rd.decimal(d.get("bkPx"), "bkPx"),
                                amount=rd.decimal(d.get("sz"), "sz") * contract_size, side=side))
    out.sort(key=lambda x: x.timestamp)
    return out
