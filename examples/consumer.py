"""A consumer anywhere: trades and a book of tenant t1, read from Redis with the usual stream API.

    python examples/consumer.py redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import asyncio
import sys

import tradeflood
from tradeflood.models import OrderBook, Trade


async def main(url: str) -> None:
    async with tradeflood.Session(bus=url, tenant="t1") as s:
        book = s.subscribe(OrderBook, lambda b: print("mid", b.mid), exchange="binance",
                           symbol="BTC/USDT:USDT", depth=10)
        # A TradeGap marks a hole (an outage, a gatherer taking over): events come to on_event.
        async for t in s.stream(Trade, exchange="bitget", symbol="BTC/USDT",
                                on_event=lambda e: print("event", e)):
            print(t.id, t.price, t.amount, t.side)
        await book.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"))
