"""The simulated market: instruments and their deterministic prices, candles, trades and books.

Everything here is a pure function of a seed, an instrument and a time, so any
page of any range agrees with any other page. The price path is a sum of slow
sine waves plus hashed noise: a candle opens at the path's value at its open
time and closes at its value at its close time, so consecutive candles chain and
candles of different intervals share their opens and closes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from tradeflood.testing._book import BookSide, LevelGrid
from tradeflood.testing._grid import DAY, HOUR, MINUTE, Grid

__all__ = ["Bar", "Instrument", "Level", "Market", "Tick", "default_instruments"]

_WAVES = ((HOUR, 0.002), (DAY, 0.01), (7 * DAY, 0.03), (30 * DAY, 0.08), (365 * DAY, 0.25))


@dataclass(frozen=True)
class Instrument:
    """One listed market: a spot pair or a linear perpetual settled in the quote coin."""

    base: str
    quote: str
    kind: Literal["spot", "perp"]
    price_decimals: int
    size_decimals: int
    start_price: Decimal
    listed_ms: int

    @property
    def symbol(self) -> str:
        """The unified symbol, ``BTC/USDT`` or ``BTC/USDT:USDT``."""
        pair = f"{self.base}/{self.quote}"
        return pair if self.kind == "spot" else f"{pair}:{self.quote}"

    @property
    def native(self) -> str:
        """The venue id used by Bitget and Binance alike, ``BTCUSDT``."""
        return f"{self.base}{self.quote}"

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def lot(self) -> Decimal:
        return Decimal(1).scaleb(-self.size_decimals)


def default_instruments() -> list[Instrument]:
    """BTC, ETH and SOL against USDT, as spot pairs and as USDT perpetuals."""
    specs = (
        ("BTC", 2, 1, 6, 4, "42000", 1_546_300_800_000),  # listed 2019-01-01
        ("ETH", 2, 2, 4, 3, "2300", 1_546_300_800_000),
        ("SOL", 2, 3, 3, 1, "95", 1_609_459_200_000),  # listed 2021-01-01
    )
    out: list[Instrument] = []
    for base, spot_px, perp_px, spot_sz, perp_sz, price, listed in specs:
        out.append(Instrument(base, "USDT", "spot", spot_px, spot_sz, Decimal(price), listed))
        out.append(Instrument(base, "USDT", "perp", perp_px, perp_sz, Decimal(price), listed))
    return out


@dataclass(frozen=True)
class Bar:
    """One candle in exact decimals; ``trades`` is the number of trades in it."""

    open_ms: int
    close_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    taker_buy_volume: Decimal
    taker_buy_quote_volume: Decimal


@dataclass(frozen=True)
class Tick:
    """One public trade."""

    id: int
    ts_ms: int
    price: Decimal
    size: Decimal
    buyer_is_maker: bool


@dataclass(frozen=True)
class Level:
    """One price level of a book."""

    price: Decimal
    size: Decimal


@dataclass
class Market:
    """Deterministic market data for a set of instruments, from one seed."""

    instruments: list[Instrument] = field(default_factory=default_instruments)
    seed: int = 0
    trade_spacing_ms: int = 1_000
    book_tick_ms: int = 100
    # Memos of pure functions of (seed, instrument, time): values are the same, just computed once.
    _phases: dict[str, tuple[float, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _prices: dict[tuple[str, str, int], Decimal] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _grids: dict[tuple[str, str], LevelGrid] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def find(self, native: str, kind: str) -> Instrument | None:
        """The instrument with this venue id and kind, if listed."""
        for inst in self.instruments:
            if inst.native == native and inst.kind == kind:
                return inst
        return None

    def of_kind(self, kind: str) -> list[Instrument]:
        return [i for i in self.instruments if i.kind == kind]

    # -- the price path -------------------------------------------------
    def unit(self, inst: Instrument | None, *parts: object) -> float:
        """A reproducible number in [0, 1) for this seed, instrument (if any) and tag."""
        name = inst.symbol if inst is not None else ""
        key = "|".join(str(p) for p in (self.seed, name, *parts)).encode()
        return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64

    def raw_price(self, inst: Instrument, t_ms: int, *, noise: bool = True) -> float:
        """The unrounded price path at ``t_ms``; a pair's spot and perpetual share its waves.

        Without ``noise`` it is the slow part of the path only, which the order book follows.
        """
        pair = f"{inst.base}/{inst.quote}"
        phases = self._phases.get(pair)
        if phases is None:
            phases = tuple(2 * math.pi * self.unit(None, "phase", pair, k) for k in range(len(_WAVES)))
            self._phases[pair] = phases
        log_move = 0.0
        for (period, amplitude), phase in zip(_WAVES, phases, strict=True):
            log_move += amplitude * math.sin(2 * math.pi * t_ms / period + phase)
        if noise:
            log_move += 0.0005 * (2 * self.unit(inst, "noise", t_ms) - 1)
        return float(inst.start_price) * math.exp(log_move)

    def price(self, inst: Instrument, t_ms: int) -> Decimal:
        key = (inst.symbol, inst.kind, t_ms)
        price = self._prices.get(key)
        if price is None:
            if len(self._prices) > 1_000_000:  # a bar's close is the next bar's open: keep recent ones
                self._prices.clear()
            price = self._prices[key] = _round(self.raw_price(inst, t_ms), inst.tick)
        return price

    # -- candles ----------------------------------------------------------
    def bar(self, inst: Instrument, grid: Grid, open_ms: int, now_ms: int) -> Bar:
        """The candle opening at ``open_ms``; an open candle is cut at ``now_ms``."""
        close_ms = grid.next(open_ms) - 1
        end = min(close_ms + 1, now_ms)
        o, c = self.price(inst, open_ms), self.price(inst, end)
        span_min = max(1.0, (end - open_ms) / MINUTE)
        swing = 0.0015 * math.sqrt(span_min)
        hi = max(o, c) * Decimal(1 + swing * self.unit(inst, "hi", open_ms, close_ms))
        lo = min(o, c) * Decimal(1 - swing * self.unit(inst, "lo", open_ms, close_ms))
        unit_volume = 50_000 / float(inst.start_price)
        vol = unit_volume * span_min * (0.5 + self.unit(inst, "vol", open_ms, close_ms))
        volume = _round(vol, inst.lot)
        mid = (o + c) / 2
        taker = _round(float(volume) * (0.3 + 0.4 * self.unit(inst, "tb", open_ms)), inst.lot)
        return Bar(
            open_ms=open_ms,
            close_ms=close_ms,
            open=o,
            high=_round(float(hi), inst.tick, up=True),
            low=_round(float(lo), inst.tick, down=True),
            close=c,
            volume=volume,
            quote_volume=_round(float(volume * mid), Decimal("0.0001")),
            trades=int(span_min * 20 * (0.5 + self.unit(inst, "n", open_ms))),
            taker_buy_volume=taker,
            taker_buy_quote_volume=_round(float(taker * mid), Decimal("0.0001")),
        )

    # -- trades -----------------------------------------------------------
    def last_trade_id(self, inst: Instrument, now_ms: int) -> int:
        """Id of the latest trade at ``now_ms``: trades are numbered from the listing."""
        return max(0, (now_ms - inst.listed_ms) // self.trade_spacing_ms)

    def trade(self, inst: Instrument, trade_id: int) -> Tick:
        base_ms = inst.listed_ms + trade_id * self.trade_spacing_ms
        ts = base_ms - int(self.trade_spacing_ms * 0.9 * self.unit(inst, "tj", trade_id))
        size = _round(
            (0.1 + 20 * self.unit(inst, "ts", trade_id) ** 3) * 500 / float(inst.start_price),
            inst.lot,
        )
        return Tick(
            id=trade_id,
            ts_ms=ts,
            price=self.price(inst, ts),
            size=max(size, inst.lot),
            buyer_is_maker=self.unit(inst, "side", trade_id) < 0.5,
        )

    def recent_trades(self, inst: Instrument, now_ms: int, count: int) -> list[Tick]:
        """The latest ``count`` trades, oldest first."""
        last = self.last_trade_id(inst, now_ms)
        first = max(1, last - count + 1)
        return [self.trade(inst, i) for i in range(first, last + 1)]

    # -- books ------------------------------------------------------------
    def book_tick(self, now_ms: int) -> int:
        """The book's update id at ``now_ms``: the index of its ``book_tick_ms`` tick."""
        return now_ms // self.book_tick_ms

    def level_grid(self, inst: Instrument) -> LevelGrid:
        grid = self._grids.get((inst.symbol, inst.kind))
        if grid is None:
            grid = self._grids[(inst.symbol, inst.kind)] = LevelGrid(self, inst)
        return grid

    def book_units(self, inst: Instrument, tick: int, depth: int) -> tuple[BookSide, BookSide]:
        """Bids and asks at book tick ``tick`` as (price ticks, size lots), best first."""
        return self.level_grid(inst).book(tick, depth)

    def book(self, inst: Instrument, now_ms: int, depth: int) -> tuple[list[Level], list[Level]]:
        """Bids (best first, descending) and asks (best first, ascending) as of ``now_ms``'s book tick."""
        bids, asks = self.book_units(inst, self.book_tick(now_ms), depth)
        return [self.level(inst, p, s) for p, s in bids], [self.level(inst, p, s) for p, s in asks]

    @staticmethod
    def level(inst: Instrument, price: int, size: int) -> Level:
        return Level(Decimal(price).scaleb(-inst.price_decimals), Decimal(size).scaleb(-inst.size_decimals))

    def window(self, inst: Instrument, now_ms: int, span_ms: int = DAY) -> Bar:
        """A rolling statistics bar over ``span_ms`` ending at ``now_ms`` (for 24h tickers)."""
        grid = Grid.fixed(HOUR)
        start = now_ms - span_ms
        bars = [self.bar(inst, grid, t, now_ms) for t in grid.forward(grid.floor(start), now_ms)]
        volume = sum((b.volume for b in bars), Decimal(0))
        quote = sum((b.quote_volume for b in bars), Decimal(0))
        return Bar(
            open_ms=start,
            close_ms=now_ms,
            open=self.price(inst, start),
            high=max(b.high for b in bars),
            low=min(b.low for b in bars),
            close=self.price(inst, now_ms),
            volume=volume,
            quote_volume=quote,
            trades=sum(b.trades for b in bars),
            taker_buy_volume=Decimal(0),
            taker_buy_quote_volume=Decimal(0),
        )


def _round(value: float, step: Decimal, *, up: bool = False, down: bool = False) -> Decimal:
    """``value`` on the ``step`` grid (nearest, or towards +inf / -inf)."""
    units = Decimal(repr(value)) / step
    if up:
        units = units.to_integral_value(rounding="ROUND_CEILING")
    elif down:
        units = units.to_integral_value(rounding="ROUND_FLOOR")
    else:
        units = units.to_integral_value(rounding=ROUND_HALF_EVEN)
    return (units * step).quantize(step)
