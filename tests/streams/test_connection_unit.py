"""Connection bookkeeping without a socket: refusals traced to their topics, subscribe batching."""

from __future__ import annotations

import asyncio

import orjson

from tradeflood.clock import LiveClock
from tradeflood.connectors.binance import BinanceStream
from tradeflood.connectors.bitget import BitgetStream
from tradeflood.connectors.okx import OkxStream
from tradeflood.streams._connection import Connection
from tradeflood.streams._protocol import Frame, Topic


class Sink:
    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.refusals: list[str] = []

    def on_frame(self, frame: Frame, received_ms: int) -> None:
        self.frames.append(frame)

    def on_up(self, down_since_ms: int | None, now_ms: int) -> None: ...

    def on_down(self, now_ms: int, reason: str) -> None: ...

    def on_rejected(self, detail: str) -> None:
        self.refusals.append(detail)


def _connection(protocol: object, *topics: Topic) -> tuple[Connection, dict[str, Sink]]:
    conn = Connection(label="test", base_url="ws://127.0.0.1:9", protocol=protocol,  # type: ignore[arg-type]
                      clock=LiveClock())
    sinks = {t.name: Sink() for t in topics}
    for topic in topics:  # what add() records, without starting a socket
        conn._topics[topic.name] = topic
        conn._sinks[topic.name] = sinks[topic.name]
    conn._tick()
    return conn, sinks


async def test_a_binance_error_reply_fails_the_topics_of_its_request_only() -> None:
    a, b, c = (Topic("binance", "ws", f"{s}@trade") for s in ("btcusdt", "ethusdt", "solusdt"))
    conn, sinks = _connection(BinanceStream(), a, b, c)
    conn._queue_frames(conn.protocol.subscribe, [a])
    conn._queue_frames(conn.protocol.subscribe, [b, c])
    sent = [orjson.loads(conn._outbox.get_nowait()) for _ in range(2)]
    assert sent == [{"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1},
                    {"method": "SUBSCRIBE", "params": ["ethusdt@trade", "solusdt@trade"], "id": 2}]
    conn._receive(b'{"result":null,"id":1}')
    conn._receive(b'{"error":{"code":2,"msg":"Invalid request: bad stream"},"id":2}')
    assert sinks["btcusdt@trade"].refusals == []
    assert sinks["ethusdt@trade"].refusals == sinks["solusdt@trade"].refusals == [
        "2: Invalid request: bad stream"]
    assert conn._requests == {}


async def test_data_and_garbage_frames() -> None:
    topic = Topic("bitget", "ws", "SPOT/trade/BTCUSDT",
                  (("instType", "SPOT"), ("channel", "trade"), ("instId", "BTCUSDT")))
    conn, sinks = _connection(BitgetStream(), topic)
    conn._receive(b'{"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},'
                  b'"data":[{"ts":"1","price":"1","size":"1","side":"buy","tradeId":"9"}]}')
    conn._receive(b"not json at all")
    conn._receive(b'{"arg": 5}')
    conn._receive(b"pong")
    conn._receive(b'{"event":"error","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},'
                  b'"code":30001,"msg":"doesn\'t exist"}')
    sink = sinks[topic.name]
    assert [f.action for f in sink.frames] == ["update"]
    assert conn.malformed == 2
    assert sink.refusals == ["30001: doesn't exist"]


async def test_subscribe_frames_are_batched_to_the_venue_limit() -> None:
    topics = [Topic("bitget", "ws", f"SPOT/trade/X{i}", (("instType", "SPOT"), ("channel", "trade"),
                                                        ("instId", f"X{i}"))) for i in range(120)]
    conn, _ = _connection(BitgetStream(), *topics)
    conn._queue_frames(conn.protocol.subscribe, topics)
    frames = [orjson.loads(conn._outbox.get_nowait()) for _ in range(conn._outbox.qsize())]
    assert [len(f["args"]) for f in frames] == [50, 50, 20]
    assert {a["instId"] for f in frames for a in f["args"]} == {f"X{i}" for i in range(120)}
    await asyncio.sleep(0)


async def test_topics_sharing_one_venue_subscription_subscribe_it_once_and_keep_it_to_the_last() -> None:
    conn = Connection(label="test", base_url="ws://127.0.0.1:9", protocol=OkxStream(), clock=LiveClock())
    conn._ws = object()  # type: ignore[assignment]  # connected, as far as add() and remove() can tell
    conn._task = asyncio.get_running_loop().create_future()  # type: ignore[assignment]  # no socket run
    topics = [Topic("okx", "ws", f"liquidation-orders:{n}",
                    (("channel", "liquidation-orders"), ("instType", "SWAP"), ("native", n)))
              for n in ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP")]
    sinks = [Sink() for _ in topics]
    wire = {"channel": "liquidation-orders", "instType": "SWAP"}

    def sent() -> list[object]:
        out = []
        while not conn._outbox.empty():
            out.append(orjson.loads(conn._outbox.get_nowait()))
        return out

    for topic, sink in zip(topics, sinks, strict=True):
        conn.add(topic, sink)
    assert sent() == [{"op": "subscribe", "args": [wire]}]  # three symbols, one venue subscription
    assert conn._subscriptions(topics) == [topics[0]]  # what a reconnection subscribes: it once
    conn._tick()
    conn._receive(orjson.dumps({"arg": wire, "data": [{"instId": "ETH-USDT-SWAP", "details": []}]}))
    assert [len(s.frames) for s in sinks] == [0, 1, 0]  # routed by the push's instrument
    conn._receive(orjson.dumps({"event": "error", "arg": wire, "code": "60018", "msg": "no"}))
    assert [s.refusals for s in sinks] == [["60018: no"]] * 3  # a refusal of it concerns every symbol
    conn.remove(topics[0])
    conn.remove(topics[2])
    assert sent() == []  # ETH still reads it
    conn.remove(topics[1])
    assert sent() == [{"op": "unsubscribe", "args": [wire]}]
    conn._task = None


class ChunkSink(Sink):
    """A sink that takes a chunk's consecutive frames of its topic at once."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def on_frames(self, frames: list[Frame], received_ms: int) -> None:
        self.calls.append(len(frames))
        self.frames.extend(frames)


async def test_a_chunk_hands_each_run_of_one_topic_on_at_once_in_order() -> None:
    a, b = Topic("binance", "ws", "btcusdt@trade"), Topic("binance", "ws", "ethusdt@trade")
    conn, _ = _connection(BinanceStream(), a, b)
    chunked, single = ChunkSink(), Sink()
    conn._sinks[a.name], conn._sinks[b.name] = chunked, single
    conn._requests[7] = [b.name]

    def data(topic: Topic, n: int) -> bytes:
        return orjson.dumps({"stream": topic.name, "data": {"n": n}})

    conn._receive_many([data(a, 1), data(a, 2), data(b, 3), data(b, 4), data(a, 5),
                        b'{"error":{"code":2,"msg":"no"},"id":7}', data(a, 6), b"garbage", data(a, 7),
                        data(Topic("binance", "ws", "solusdt@trade"), 8), data(a, 9)])
    assert [f.payload["n"] for f in chunked.frames] == [1, 2, 5, 6, 7, 9]
    assert chunked.calls == [2, 1, 2, 1]  # runs: 1-2 | 5 | (the refusal) 6-7 | (unknown topic) 9
    assert [f.payload["n"] for f in single.frames] == [3, 4]
    assert single.refusals == ["2: no"] and conn.malformed == 1 and conn.frames == 11


async def test_a_sink_failing_on_a_frame_does_not_cost_the_frames_after_it() -> None:
    topic = Topic("binance", "ws", "btcusdt@trade")
    conn, sinks = _connection(BinanceStream(), topic)
    sink = sinks[topic.name]
    kept = sink.on_frame

    def on_frame(frame: Frame, received_ms: int) -> None:
        if frame.payload["n"] == 2:
            raise RuntimeError("a bug downstream")
        kept(frame, received_ms)

    sink.on_frame = on_frame  # type: ignore[method-assign]
    conn._receive_many([orjson.dumps({"stream": topic.name, "data": {"n": n}}) for n in (1, 2, 3)])
    assert [f.payload["n"] for f in sink.frames] == [1, 3]
