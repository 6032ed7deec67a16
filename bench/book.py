"""Benchmark the local order book: microseconds per 10-level delta on a 1000-level book.

Run as ``python bench/book.py [--deltas N]``. A book of 500 bids and 500 asks
(prices as strings, the way venues send them) takes a stream of deltas of 10
levels each: about 70% change the size of an existing level, 15% remove one and
15% add one, mostly near the touch, so the book keeps its size. Timed, best of
a few runs, per delta:

- ``LocalBook.apply``: the book alone (Decimal parsing included);
- ``BinanceSpotBookSync``: with the sequence rules and the crossed-book check;
- ``BitgetBookSync``: also keeping the venue's spellings and checking the CRC32
  of the top 25 levels after every delta;
- ``to_model(depth=20)``: one immutable OrderBook of 20 levels a side;
- a plain dict sorted on every read of the top 20, for comparison.

Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tradeflood.bindings.binance import BinanceSpotBookSync
from tradeflood.bindings.bitget import BitgetBookSync, bitget_checksum
from tradeflood.streams import Applied, BookDelta, LocalBook

LEVELS_A_SIDE = 500
LEVELS_PER_DELTA = 10
REPEATS = 3
TICK = Decimal("0.1")
MID = Decimal("60000.0")

Levels = list[tuple[str, str]]


def price(i: int) -> str:
    return str(MID + TICK * i)


def make_stream(count: int, seed: int = 11) -> tuple[Levels, Levels, list[tuple[Levels, Levels]]]:
    """A 1000-level book and ``count`` deltas that keep it near that size and never cross it."""
    rng = random.Random(seed)
    bids = {-i for i in range(1, LEVELS_A_SIDE + 1)}       # ticks below the mid
    asks = {i for i in range(1, LEVELS_A_SIDE + 1)}        # ticks above the mid

    def size() -> str:
        return f"{rng.randint(1, 50_000) / 1000:.3f}"

    snapshot_bids = [(price(t), size()) for t in sorted(bids, reverse=True)]
    snapshot_asks = [(price(t), size()) for t in sorted(asks)]
    deltas = []
    for _ in range(count):
        out: tuple[Levels, Levels] = ([], [])
        for _ in range(LEVELS_PER_DELTA):
            is_bid = rng.random() < 0.5
            side, levels = (bids, out[0]) if is_bid else (asks, out[1])
            sign = -1 if is_bid else 1
            near = min(int(rng.expovariate(1 / 40)) + 1, 2 * LEVELS_A_SIDE)
            tick = sign * near
            if rng.random() < 0.15 and tick in side and len(side) > LEVELS_A_SIDE * 9 // 10:
                side.discard(tick)
                levels.append((price(tick), "0"))
            else:                                          # a change, or a new level in a hole
                side.add(tick)
                levels.append((price(tick), size()))
        deltas.append(out)
    return snapshot_bids, snapshot_asks, deltas


def best_of(run: Callable[[], int]) -> float:
    """Best seconds per operation over REPEATS runs of ``run`` (which returns its operation count)."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        ops = run()
        best = min(best, (time.perf_counter() - start) / ops)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deltas", type=int, default=20_000)
    args = parser.parse_args()
    bids, asks, deltas = make_stream(args.deltas)
    spot = [BookDelta(first_id=i + 2, last_id=i + 2, bids=b, asks=a) for i, (b, a) in enumerate(deltas)]

    # Bitget messages carry the checksum of the book after them: compute them once, untimed.
    reference = LocalBook(keep_text=True)
    reference.load(bids, asks)
    bitget = []
    for i, (b, a) in enumerate(deltas):
        reference.apply(b, a)
        bitget.append(BookDelta(last_id=i + 2, prev_id=i + 1, bids=b, asks=a,
                                checksum=bitget_checksum(*reference.text_levels(25))))

    def book_alone() -> int:
        book = LocalBook()
        book.load(bids, asks)
        for b, a in deltas:
            book.apply(b, a)
        return len(deltas)

    def with_sync(sync: BinanceSpotBookSync | BitgetBookSync, messages: list[BookDelta]) -> Callable[[], int]:
        def run() -> int:
            sync.reset()
            sync.on_snapshot(BookDelta(last_id=1, bids=bids, asks=asks, is_snapshot=True))
            for message in messages:
                if not isinstance(sync.on_delta(message), Applied):
                    raise SystemExit(f"unexpected outcome at {message.last_id}")
            return len(messages)
        return run

    book = LocalBook()
    book.load(bids, asks)

    def to_model() -> int:
        for _ in range(10_000):
            book.to_model("binance", "BTC/USDT", "BTCUSDT", 1_700_000_000_000, 1, depth=20)
        return 10_000

    def plain_dict() -> int:
        side_b = {Decimal(p): Decimal(s) for p, s in bids}
        side_a = {Decimal(p): Decimal(s) for p, s in asks}
        for b, a in deltas:
            for side, levels in ((side_b, b), (side_a, a)):
                for p, s in levels:
                    size = Decimal(s)
                    if size:
                        side[Decimal(p)] = size
                    else:
                        side.pop(Decimal(p), None)
            sorted(side_b, reverse=True)[:20]
            sorted(side_a)[:20]
        return len(deltas)

    rows = [
        ("LocalBook.apply", best_of(book_alone)),
        ("BinanceSpotBookSync.on_delta", best_of(with_sync(BinanceSpotBookSync(), spot))),
        ("BitgetBookSync.on_delta (CRC32 of top 25)", best_of(with_sync(BitgetBookSync(), bitget))),
        ("to_model(depth=20), per call", best_of(to_model)),
        ("plain dict, sorted top 20 on each delta", best_of(plain_dict)),
    ]
    print(f"{len(deltas)} deltas of {LEVELS_PER_DELTA} levels on a {2 * LEVELS_A_SIDE}-level book, "
          f"best of {REPEATS} (Python {sys.version.split()[0]})")
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"  {name:<{width}}  {seconds * 1e6:8.2f} µs")


if __name__ == "__main__":
    main()
