"""Unified symbols and the venue's instrument list as a lookup table.

Unified symbols follow the widespread convention: ``BTC/USDT`` spot,
``BTC/USDT:USDT`` linear perpetual, ``BTC/USD:BTC`` inverse. Bindings resolve a
unified symbol to the venue's native id through a :class:`SymbolMap` derived
from the instrument-list turn, so an unknown symbol is reported before any
request for its data is sent::

    native = listing.derive(example_symbol_map).derive(native_id, "BTC/USDT")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import QueryError, UnknownSymbolError

if TYPE_CHECKING:
    from tradeflood.models import Instrument

__all__ = ["SymbolMap", "UnifiedSymbol", "native_id", "split_symbol", "spot_or_usdt_linear"]


@dataclass(frozen=True, slots=True)
class UnifiedSymbol:
    """A unified symbol taken apart: ``BTC/USDT:USDT`` -> base BTC, quote USDT, settle USDT."""

    base: str
    quote: str
    settle: str | None

    @property
    def kind(self) -> str:
        """``spot``, ``linear`` (settled in the quote) or ``inverse`` (settled in the base)."""
        if self.settle is None:
            return "spot"
        return "linear" if self.settle == self.quote else "inverse"

    def __str__(self) -> str:
        text = f"{self.base}/{self.quote}"
        return f"{text}:{self.settle}" if self.settle else text


def split_symbol(symbol: str) -> UnifiedSymbol:
    """Parse a unified symbol; a malformed one is a :class:`QueryError`."""
    pair, _, settle = symbol.partition(":")
    base, slash, quote = pair.partition("/")
    if not slash or not base or not quote or (":" in symbol and not settle):
        raise QueryError(
            f"{symbol!r} is not a unified symbol; use BASE/QUOTE for spot ('BTC/USDT') "
            "or BASE/QUOTE:SETTLE for perpetuals ('BTC/USDT:USDT')"
        )
    return UnifiedSymbol(base.upper(), quote.upper(), settle.upper() or None)


def spot_or_usdt_linear(exchange: str, symbol: str | None, what: str) -> str:
    """``spot`` or ``linear`` for a venue that serves spot markets and USDT-margined
    perpetuals only; a missing symbol or any other market is a :class:`QueryError`."""
    if not symbol:
        raise QueryError(f"{exchange} {what} need a symbol, e.g. symbol='BTC/USDT' or 'BTC/USDT:USDT'")
    unified = split_symbol(symbol)
    if unified.kind == "spot":
        return "spot"
    if unified.kind == "linear" and unified.settle == "USDT":
        return "linear"
    raise QueryError(
        f"{exchange} {what} for {symbol!r} are not supported yet: only spot (BASE/QUOTE) and "
        "USDT-margined perpetuals (BASE/USDT:USDT) are; coin-margined (inverse) and "
        "USDC-margined markets are not"
    )


class SymbolMap:
    """A venue's instruments by unified symbol."""

    __slots__ = ("by_symbol", "exchange")

    def __init__(self, exchange: str, instruments: Iterable[Instrument]) -> None:
        self.exchange = exchange
        self.by_symbol: Mapping[str, Instrument] = {i.symbol: i for i in instruments}

    def instrument(self, symbol: str) -> Instrument:
        try:
            return self.by_symbol[symbol]
        except KeyError:
            raise UnknownSymbolError(self.exchange, symbol, self.by_symbol) from None

    def __len__(self) -> int:
        return len(self.by_symbol)


def native_id(symbols: SymbolMap, symbol: str) -> str:
    """The venue's id of a unified symbol (a derivation for turn parameters)."""
    native: str = symbols.instrument(symbol).native_symbol
    return native
