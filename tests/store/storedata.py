"""Candles for the store's tests."""

from __future__ import annotations

from decimal import Decimal

from tradeflood.models import Candle

MINUTE = 60_000


def candle(t: int, closed: bool = True, price: str = "42000.1", symbol: str = "BTC/USDT",
           interval: str = "1m") -> Candle:
    """A candle of bitget ``symbol`` at ``interval`` opening at ``t`` ms; prices follow ``t``."""
    p = Decimal(price) + Decimal(t // MINUTE % 997) / 100
    return Candle(exchange="bitget", symbol=symbol, native_symbol=symbol.replace("/", ""),
                  interval=interval, open_time=t, open=p, high=p + 1, low=p - Decimal("0.5"),
                  close=p + Decimal("0.25"), volume=Decimal(t % 1000) / 8, quote_volume=p * 3,
                  closed=closed)


def bars(start: int, end: int, step: int = MINUTE, **kwargs: object) -> list[Candle]:
    return [candle(t, **kwargs) for t in range(start, end, step)]  # type: ignore[arg-type]
