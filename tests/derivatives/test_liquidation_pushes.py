"""OKX liquidation pushes listing several instruments: each instrument's orders reach its own
stream, with their values, through the connection's routing (the path a replay takes too)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

import tradeflood
from tradeflood.bindings.okx import OkxLiquidationStream
from tradeflood.clock import LiveClock, ScaledClock
from tradeflood.connectors.okx import Okx, OkxStream
from tradeflood.models import Instrument, Liquidation
from tradeflood.streams import StreamEvent
from tradeflood.streams._connection import Connection
from tradeflood.streams._protocol import Frame, Topic
from tradeflood.testing import Simulator, take
from tradeflood.testing._derived import LIQUIDATION_SPACING_MS, liquidation
from tradeflood.testing._okx import OkxVenue

ARG = {"channel": "liquidation-orders", "instType": "SWAP"}


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    """Wait (real time) until ``predicate()`` holds."""
    async def run() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(run(), timeout)


def _record(inst_id: str, *details: tuple[str, str, str, str]) -> dict[str, Any]:
    family = inst_id.removesuffix("-SWAP")
    return {"instId": inst_id, "instFamily": family, "instType": "SWAP", "uly": family,
            "details": [{"side": side, "posSide": "long" if side == "sell" else "short", "bkPx": px,
                         "sz": sz, "bkLoss": "0", "ccy": "", "ts": ts} for side, px, sz, ts in details]}


# One push as OKX's docs allow it: two instruments' records (BTC's in two records).
PUSH = orjson.dumps({"arg": ARG, "data": [
    _record("BTC-USDT-SWAP", ("sell", "41950.5", "3", "1700000000200"),
            ("buy", "42010", "1", "1700000000100")),
    _record("ETH-USDT-SWAP", ("buy", "2301.25", "17", "1700000000150")),
    _record("BTC-USDT-SWAP", ("sell", "41900", "2", "1700000000300")),
]})


def test_a_push_of_two_instruments_decodes_to_a_frame_per_instrument() -> None:
    frame = OkxStream().decode(PUSH)
    assert frame.kind == "many"
    btc, eth = frame.payload
    assert (btc.kind, btc.topic, eth.kind, eth.topic) == ("data", "liquidation-orders:BTC-USDT-SWAP",
                                                          "data", "liquidation-orders:ETH-USDT-SWAP")
    assert [r["instId"] for r in btc.payload] == ["BTC-USDT-SWAP", "BTC-USDT-SWAP"]
    assert [r["details"][0]["bkPx"] for r in btc.payload] == ["41950.5", "41900"]
    assert [r["instId"] for r in eth.payload] == ["ETH-USDT-SWAP"]


def test_a_push_of_one_instrument_stays_one_data_frame() -> None:
    frame = OkxStream().decode(orjson.dumps({"arg": ARG, "data": [_record("ETH-USDT-SWAP")]}))
    assert (frame.kind, frame.topic) == ("data", "liquidation-orders:ETH-USDT-SWAP")
    assert OkxStream().decode(orjson.dumps({"arg": ARG, "data": []})).kind == "ignore"


@pytest.mark.parametrize("data", [{"instId": "BTC-USDT-SWAP"}, [{"details": []}], [5], [{"instId": 7}]])
def test_a_push_whose_records_name_no_instrument_is_refused(data: Any) -> None:
    with pytest.raises(ValueError, match="liquidation-orders"):
        OkxStream().decode(orjson.dumps({"arg": ARG, "data": data}))


class Sink:
    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def on_frame(self, frame: Frame, received_ms: int) -> None:
        self.frames.append(frame)

    def on_up(self, down_since_ms: int | None, now_ms: int) -> None: ...

    def on_down(self, now_ms: int, reason: str) -> None: ...

    def on_rejected(self, detail: str) -> None: ...


def _instrument(base: str, contract_size: str) -> Instrument:
    return Instrument(exchange="okx", symbol=f"{base}/USDT:USDT", native_symbol=f"{base}-USDT-SWAP",
                      kind="linear", base=base, quote="USDT", settle="USDT",
                      contract_size=Decimal(contract_size), active=True)


def _query(base: str) -> tradeflood.Query:
    return tradeflood.Query(Liquidation, exchange="okx", symbol=f"{base}/USDT:USDT", live=True)


async def test_each_open_stream_gets_exactly_its_own_liquidations_of_one_push() -> None:
    binding = OkxLiquidationStream(Okx())
    instruments = {"BTC": _instrument("BTC", "0.01"), "ETH": _instrument("ETH", "0.1")}
    topics = {b: binding.topic(_query(b), i) for b, i in instruments.items()}
    conn = Connection(label="test", base_url="ws://127.0.0.1:9", protocol=OkxStream(), clock=LiveClock())
    sinks = {b: Sink() for b in topics}
    for base, topic in topics.items():  # what add() records, without starting a socket
        conn._topics[topic.name] = topic
        conn._sinks[topic.name] = sinks[base]
        conn._last_seen[topic.name] = -1.0
    conn._tick()
    conn._receive(PUSH)  # the path of a live message and of a replayed one
    assert conn.malformed == 0
    assert all(conn._last_seen[t.name] == conn._now for t in topics.values())  # both topics heard from
    got = {b: [x for f in sinks[b].frames for x in binding.parse(_query(b), topics[b], f, 0)] for b in topics}
    assert [(x.timestamp, x.side, x.price, x.amount, x.native_symbol) for x in got["BTC"]] == [
        (1700000000100, "buy", Decimal("42010"), Decimal("0.01"), "BTC-USDT-SWAP"),
        (1700000000200, "sell", Decimal("41950.5"), Decimal("0.03"), "BTC-USDT-SWAP"),
        (1700000000300, "sell", Decimal("41900"), Decimal("0.02"), "BTC-USDT-SWAP")]
    assert [(x.timestamp, x.side, x.price, x.amount, x.symbol) for x in got["ETH"]] == [
        (1700000000150, "buy", Decimal("2301.25"), Decimal("1.7"), "ETH/USDT:USDT")]


async def test_a_frame_of_a_topic_not_carried_is_skipped_beside_the_others() -> None:
    topic = Topic("okx", "ws", "liquidation-orders:ETH-USDT-SWAP")
    conn = Connection(label="test", base_url="ws://127.0.0.1:9", protocol=OkxStream(), clock=LiveClock())
    sink = Sink()
    conn._topics[topic.name], conn._sinks[topic.name] = topic, sink
    conn._tick()
    conn._receive(PUSH)
    [frame] = sink.frames
    assert [r["details"][0]["bkPx"] for r in frame.payload] == ["2301.25"]
    assert "liquidation-orders:BTC-USDT-SWAP" not in conn._last_seen


@pytest.fixture
async def together() -> AsyncIterator[tuple[tradeflood.Session, Simulator]]:
    clock = ScaledClock(5.0)  # a liquidation of every swap each 0.4 real seconds
    async with Simulator({"okx": OkxVenue(clock=clock)}) as sim, \
            tradeflood.Session(urls=sim.urls(), clock=clock, store=False) as s:
        sim.streams["okx"].liquidations_together = True  # type: ignore[attr-defined]
        yield s, sim


async def _liquidations(stream: Any, n: int) -> list[Liquidation]:
    return await take(stream, n, timeout=60, keep=lambda x: not isinstance(x, StreamEvent))


async def test_the_simulator_pushing_every_swap_at_once_feeds_each_stream_its_own(
        together: tuple[tradeflood.Session, Simulator]) -> None:
    s, sim = together
    market = sim.venues["okx"].market
    async with s.stream(Liquidation, exchange="okx", symbol="ETH/USDT:USDT") as eth, \
            s.stream(Liquidation, exchange="okx", symbol="BTC/USDT:USDT") as btc:
        got = {"ETH": await _liquidations(eth, 4), "BTC": await _liquidations(btc, 4)}
        [feed] = [f for k, f in sim.streams["okx"].feeds.items() if k.startswith("liquidation-orders")]
        assert feed.together  # type: ignore[attr-defined]  # one push lists every swap's orders
    for base, items in got.items():
        inst = market.find(f"{base}USDT", "perp")
        assert inst is not None
        ns = [(x.timestamp - inst.listed_ms) // LIQUIDATION_SPACING_MS for x in items]
        assert ns == list(range(ns[0], ns[0] + 4))  # none lost, none repeated
        for x, n in zip(items, ns, strict=True):
            want = liquidation(market, inst, n)
            assert (x.timestamp, x.price, x.amount, x.side) == (want.ts_ms, want.price, want.size, want.side)
            assert (x.symbol, x.native_symbol) == (f"{base}/USDT:USDT", f"{base}-USDT-SWAP")


async def test_a_replay_of_pushes_listing_every_swap_gives_each_stream_its_own(tmp_path: Path) -> None:
    """Recorded pushes are split again on replay: each stream yields what it yielded live."""
    clock = ScaledClock(5.0)
    params = {base: {"exchange": "okx", "symbol": f"{base}/USDT:USDT"} for base in ("ETH", "BTC")}
    live: dict[str, list[Any]] = {base: [] for base in params}
    async with Simulator({"okx": OkxVenue(clock=clock)}) as sim, tradeflood.Session(
            urls=sim.urls(), clock=clock, store=False, record=tmp_path) as s:
        sim.streams["okx"].liquidations_together = True  # type: ignore[attr-defined]
        subs = [s.subscribe(Liquidation, live[base].append, **p) for base, p in params.items()]
        for sub in subs:
            await sub.ready()
        await until(lambda: all(len(items) >= 4 for items in live.values()), timeout=60)
        for sub in subs:
            await sub.close()
    async with tradeflood.Session(replay=tmp_path, speed="max") as s:
        streams = {base: s.stream(Liquidation, **p) for base, p in params.items()}

        async def drain(base: str) -> list[Any]:
            return [item async for item in streams[base]]

        drained = await asyncio.wait_for(asyncio.gather(*map(drain, params)), 60)
        again = dict(zip(params, drained, strict=True))
    for base, items in live.items():
        assert len(items) >= 4 and all(x.native_symbol == f"{base}-USDT-SWAP" for x in items)
        assert again[base][:len(items)] == items  # the same liquidations, values and order
