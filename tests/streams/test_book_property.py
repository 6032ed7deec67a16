"""BookSync against a reference dict model: random snapshots and deltas, gaps and corruption."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeflood.bindings.binance import BinanceFuturesBookSync, BinanceSpotBookSync
from tradeflood.bindings.bitget import BitgetBookSync
from tradeflood.streams import (
    Applied,
    BookDelta,
    Buffered,
    ChecksumMismatch,
    Dropped,
    Resync,
    SequenceGap,
    SnapshotTooOld,
)

Side = dict[D, tuple[str, str]]            # price -> (price text, size text), the reference model


@dataclass
class Ref:
    bids: Side
    asks: Side

    def copy(self) -> Ref:
        return Ref(dict(self.bids), dict(self.asks))

    def apply(self, delta: BookDelta) -> None:
        for side, levels in ((self.bids, delta.bids), (self.asks, delta.asks)):
            for price, size in levels:
                if D(size) == 0:
                    side.pop(D(price), None)
                else:
                    side[D(price)] = (str(price), str(size))

    def levels(self) -> tuple[tuple[tuple[D, D], ...], tuple[tuple[D, D], ...]]:
        bids = tuple((p, D(self.bids[p][1])) for p in sorted(self.bids, reverse=True))
        asks = tuple((p, D(self.asks[p][1])) for p in sorted(self.asks))
        return bids, asks

    def checksum_text(self) -> str:
        bids = [self.bids[p] for p in sorted(self.bids, reverse=True)][:25]
        asks = [self.asks[p] for p in sorted(self.asks)][:25]
        fields: list[str] = []
        for i in range(max(len(bids), len(asks))):
            for side in (bids, asks):
                if i < len(side):
                    fields += side[i]
        return ":".join(fields)

    def checksum(self) -> int:
        crc = zlib.crc32(self.checksum_text().encode())
        return crc - 2**32 if crc >= 2**31 else crc


# Bids on 1..60 and asks on 61..120 can never cross; spellings vary ("7", "7.0", "7.00").
def spelled(value: int, zeros: int) -> str:
    return f"{value}." + "0" * zeros if zeros else str(value)


def level(low: int, high: int, zero: bool = True) -> st.SearchStrategy[tuple[str, str]]:
    return st.builds(lambda p, pz, s, sz: (spelled(p, pz), spelled(s, sz)),
                     st.integers(low, high), st.integers(0, 2), st.integers(0 if zero else 1, 5),
                     st.integers(0, 2))


bid_levels = st.lists(level(1, 60), max_size=5)
ask_levels = st.lists(level(61, 120), max_size=5)


@dataclass
class Scenario:
    base: Ref               # the book before the first delta
    base_id: int
    deltas: list[BookDelta]
    states: list[Ref]       # states[m]: the book after deltas[:m]

    def snapshot_at(self, j: int, checksum: bool = False) -> BookDelta:
        state = self.states[j]
        last = self.deltas[j - 1].last_id if j else self.base_id
        return BookDelta(last_id=last, bids=list(state.bids.values()), asks=list(state.asks.values()),
                         is_snapshot=True, checksum=state.checksum() if checksum else None)


@st.composite
def scenarios(draw: st.DrawFn, dialect: str, max_deltas: int = 25) -> Scenario:
    base = Ref({}, {})
    base.apply(BookDelta(last_id=0, bids=draw(st.lists(level(1, 60, zero=False), max_size=40)),
                         asks=draw(st.lists(level(61, 120, zero=False), max_size=40))))
    base_id = draw(st.integers(1, 10_000))
    deltas, states = [], [base.copy()]
    last = base_id
    for _ in range(draw(st.integers(0, max_deltas))):
        state = states[-1].copy()
        if dialect == "spot":     # U..u consecutive across messages
            first = last + 1
            delta = BookDelta(first_id=first, last_id=first + draw(st.integers(0, 3)),
                              bids=draw(bid_levels), asks=draw(ask_levels))
        elif dialect == "futures":    # ids jump between messages; pu links them
            first = last + draw(st.integers(1, 4))
            delta = BookDelta(first_id=first, last_id=first + draw(st.integers(0, 3)), prev_id=last,
                              bids=draw(bid_levels), asks=draw(ask_levels))
        else:                    # bitget: seq / pseq with a checksum of the book after the update
            delta = BookDelta(last_id=last + draw(st.integers(1, 3)), prev_id=last,
                              bids=draw(bid_levels), asks=draw(ask_levels))
        state.apply(delta)
        if dialect == "bitget":
            delta = replace(delta, checksum=state.checksum())
        deltas.append(delta)
        states.append(state)
        last = delta.last_id
    return Scenario(base, base_id, deltas, states)


def state_at(scenario: Scenario, sequence: int) -> Ref:
    for m, delta in enumerate(scenario.deltas, start=1):
        if delta.last_id == sequence:
            return scenario.states[m]
    assert sequence == scenario.base_id
    return scenario.states[0]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), dialect=st.sampled_from(["spot", "futures"]))
def test_binance_deltas_around_a_snapshot_give_the_reference_book(data: st.DataObject, dialect: str) -> None:
    scenario = data.draw(scenarios(dialect))
    k = len(scenario.deltas)
    # A futures snapshot's lastUpdateId is the u of some message (that message bridges it).
    j = data.draw(st.integers(1 if dialect == "futures" and k else 0, k), label="snapshot after delta")
    i = data.draw(st.integers(0, k), label="deltas received before the snapshot")
    sync = BinanceSpotBookSync() if dialect == "spot" else BinanceFuturesBookSync()
    for delta in scenario.deltas[:i]:
        assert isinstance(sync.on_delta(delta), Buffered)
    # Applied hands out the live book: check it before the next message changes it.
    for message in [scenario.snapshot_at(j), *scenario.deltas[i:]]:
        outcome = sync.on_delta(message)
        assert isinstance(outcome, Applied | Dropped), outcome
        if isinstance(outcome, Applied):
            assert outcome.book.snapshot() == state_at(scenario, outcome.sequence).levels()
    assert sync.book is not None
    assert sync.book.snapshot() == scenario.states[k].levels()


@settings(max_examples=300, deadline=None)
@given(data=st.data(), dialect=st.sampled_from(["spot", "futures", "bitget"]))
def test_a_missing_delta_is_detected_by_the_next_one(data: st.DataObject, dialect: str) -> None:
    scenario = data.draw(scenarios(dialect))
    k = len(scenario.deltas)
    if k < 3:
        return
    # A futures snapshot's lastUpdateId is the u of a message, which then bridges it (U <= id <= u):
    # delivery resumes with that message.
    j = data.draw(st.integers(1 if dialect == "futures" else 0, k - 2), label="snapshot after delta")
    start = j - 1 if dialect == "futures" else j
    m = data.draw(st.integers(start, k - 2), label="index of the lost delta")
    dialects = {"spot": BinanceSpotBookSync, "futures": BinanceFuturesBookSync, "bitget": BitgetBookSync}
    sync = dialects[dialect]()
    snapshot = scenario.snapshot_at(j, checksum=dialect == "bitget")
    assert isinstance(sync.on_snapshot(snapshot), Applied)
    for delta in scenario.deltas[start:m]:
        assert isinstance(sync.on_delta(delta), Applied)
    after = scenario.deltas[m + 1]
    outcome = sync.on_delta(after)
    previous = scenario.deltas[m - 1].last_id if m else scenario.base_id
    if dialect != "bitget" and m == start:
        assert outcome == Resync(SnapshotTooOld(snapshot.last_id, after.first), "rest")
    elif dialect == "spot":
        assert outcome == Resync(SequenceGap(previous + 1, after.first), "rest")
    else:
        assert outcome == Resync(SequenceGap(previous, after.prev_id), sync.snapshot_source)
    # The book handed out last is intact: the reference state before the loss.
    assert sync.last_good is not None
    assert sync.last_good.snapshot() == scenario.states[max(m, j)].levels()


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_bitget_updates_with_checksums_give_the_reference_book(data: st.DataObject) -> None:
    scenario = data.draw(scenarios("bitget"))
    sync = BitgetBookSync()
    assert sync.on_delta(BookDelta(last_id=1, prev_id=0)) == Dropped("awaiting_snapshot", 1)
    first = sync.on_delta(scenario.snapshot_at(0, checksum=True))
    assert isinstance(first, Applied)
    for m, delta in enumerate(scenario.deltas, start=1):
        outcome = sync.on_delta(delta)
        assert isinstance(outcome, Applied), outcome
        assert outcome.book.snapshot() == scenario.states[m].levels()
        assert outcome.book.text_levels(25) == (
            [scenario.states[m].bids[p] for p in sorted(scenario.states[m].bids, reverse=True)][:25],
            [scenario.states[m].asks[p] for p in sorted(scenario.states[m].asks)][:25])


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_bitget_corrupted_level_is_detected_whenever_it_is_in_the_top_25(data: st.DataObject) -> None:
    scenario = data.draw(scenarios("bitget"))
    candidates = [(m, side) for m, d in enumerate(scenario.deltas) for side in ("bids", "asks")
                  if getattr(d, side)]
    if not candidates:
        return
    m, side = data.draw(st.sampled_from(candidates), label="corrupted delta and side")
    delta = scenario.deltas[m]
    levels = list(getattr(delta, side))
    n = data.draw(st.integers(0, len(levels) - 1), label="corrupted level")
    price, size = levels[n]
    new_size = data.draw(st.sampled_from([s for s in ("0", "1", "2.5", "3.00", "4") if s != size]))
    levels[n] = (price, new_size)
    corrupted = replace(delta, **{side: levels})
    wrong = scenario.states[m].copy()
    wrong.apply(corrupted)

    sync = BitgetBookSync()
    sync.on_delta(scenario.snapshot_at(0, checksum=True))
    for earlier in scenario.deltas[:m]:
        assert isinstance(sync.on_delta(earlier), Applied)
    outcome = sync.on_delta(corrupted)
    if wrong.checksum_text() != scenario.states[m + 1].checksum_text():
        assert outcome == Resync(ChecksumMismatch(delta.checksum or 0, wrong.checksum()), "stream")
        assert sync.last_good is not None
        assert sync.last_good.snapshot() == scenario.states[m].levels()     # rolled back
    else:   # the change is below the 25 levels the venue checks, or spells the same book
        assert isinstance(outcome, Applied)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), flip=st.integers(1, 2**32 - 1))
def test_bitget_corrupted_checksum_is_always_detected(data: st.DataObject, flip: int) -> None:
    scenario = data.draw(scenarios("bitget"))
    if not scenario.deltas:
        return
    m = data.draw(st.integers(0, len(scenario.deltas) - 1))
    delta = scenario.deltas[m]
    assert delta.checksum is not None
    bad = ((delta.checksum & 0xFFFFFFFF) ^ flip)
    bad = bad - 2**32 if bad >= 2**31 else bad
    sync = BitgetBookSync()
    sync.on_delta(scenario.snapshot_at(0, checksum=True))
    for earlier in scenario.deltas[:m]:
        sync.on_delta(earlier)
    outcome = sync.on_delta(replace(delta, checksum=bad))
    assert outcome == Resync(ChecksumMismatch(bad, delta.checksum), "stream")
