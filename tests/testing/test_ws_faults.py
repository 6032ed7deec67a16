"""WebSocket faults on command, with the simulator in its own thread and plain blocking clients."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tradeflood.testing import Simulator

BOOKS = {"op": "subscribe", "args": [{"instType": "SPOT", "channel": "books", "instId": "ETHUSDT"}]}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as s:  # live clocks: the books move by themselves
        yield s


def drain(ws: ClientConnection) -> int:
    """Read whatever has already arrived; returns how many frames."""
    count = 0
    while True:
        try:
            ws.recv(timeout=0.05)
        except TimeoutError:
            return count
        count += 1


def test_drop_connections_of_one_ip(sim: Simulator) -> None:
    url = sim.ws_url("bitget")
    with ExitStack() as stack:
        clients = {
            ip: stack.enter_context(connect(url, source_address=(ip, 0)))
            for ip in ("127.0.0.1", "127.0.0.2", "127.0.0.3")
        }
        stats = sim.streams["bitget"].stats
        for _ in range(200):  # the server thread registers a connection just after its handshake
            if sum(stats.open_by_ip.values()) == 3:
                break
            time.sleep(0.01)
        assert stats.open_by_ip == {"127.0.0.1": 1, "127.0.0.2": 1, "127.0.0.3": 1}
        assert sim.drop_connections("bitget", ip="127.0.0.2") == 1
        with pytest.raises(ConnectionClosed) as closed:
            clients["127.0.0.2"].recv(timeout=2)
        assert closed.value.rcvd is None  # no close frame: the socket just went away
        for ip in ("127.0.0.1", "127.0.0.3"):
            clients[ip].send("ping")
            assert clients[ip].recv(timeout=2) == "pong"
        assert stats.closed["dropped"] == 1 and stats.accepted_by_ip["127.0.0.2"] == 1


def test_go_silent_sends_nothing_not_even_pongs(sim: Simulator) -> None:
    with connect(sim.ws_url("binance") + "/ws/btcusdt@depth@100ms") as ws:
        ws.recv(timeout=2)
        sim.go_silent("binance", 1.0)
        drain(ws)  # frames already on the wire before the silence
        pong = ws.ping()
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)
        assert not pong.wait(0.1)
        assert json.loads(ws.recv(timeout=3))["e"] == "depthUpdate"  # it speaks again, same socket
        assert pong.wait(1)


def test_skip_sequence_leaves_a_gap_in_binance_update_ids(sim: Simulator) -> None:
    with connect(sim.ws_url("binance") + "/futures/ws/btcusdt@depth@100ms") as ws:
        first = json.loads(ws.recv(timeout=2))
        assert sim.skip_sequence("binance", "BTCUSDT") == 1
        events = [first] + [json.loads(ws.recv(timeout=2)) for _ in range(4)]
    gaps = [(a, b) for a, b in itertools.pairwise(events) if b["pu"] != a["u"]]
    assert len(gaps) == 1
    before, after = gaps[0]
    assert after["U"] > before["u"] + 1 and after["pu"] > before["u"]  # one whole event is missing


def test_send_malformed_frames_to_every_client(sim: Simulator) -> None:
    with connect(sim.ws_url("bitget")) as a, connect(sim.ws_url("bitget")) as b:
        sim.send_malformed("bitget", n=3)
        for ws in (a, b):
            frames = [ws.recv(timeout=2) for _ in range(3)]
            with pytest.raises(ValueError):
                json.loads(frames[0])
            with pytest.raises(ValueError):
                json.loads(frames[1])
            assert not isinstance(json.loads(frames[2])["data"], list)


def test_reject_next_connect_then_accept(sim: Simulator) -> None:
    sim.reject_next_connect("binance", status=503)
    with pytest.raises(InvalidStatus) as refused, connect(sim.ws_url("binance") + "/ws"):
        pass
    assert refused.value.response.status_code == 503
    with connect(sim.ws_url("binance") + "/ws") as ws:
        ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
        assert json.loads(ws.recv(timeout=2)) == {"result": [], "id": 1}
    stats = sim.streams["binance"].stats
    assert (stats.rejected_connects, stats.connections_accepted) == (1, 1)


def test_stats_count_subscriptions_per_topic(sim: Simulator) -> None:
    stats = sim.streams["bitget"].stats
    with connect(sim.ws_url("bitget")) as a:
        a.send(json.dumps(BOOKS))
        assert json.loads(a.recv(timeout=2))["event"] == "subscribe"
        assert stats.subscriptions == {"SPOT:books:ETHUSDT": 1} and stats.subscribe_messages == 1
        with connect(sim.ws_url("bitget")) as b:
            b.send(json.dumps(BOOKS))
            assert json.loads(b.recv(timeout=2))["event"] == "subscribe"
            assert stats.subscriptions == {"SPOT:books:ETHUSDT": 2} and stats.subscribe_messages == 2
            assert stats.connections_open == 2
        drain(a)
    assert stats.messages_sent >= 4 and stats.messages_received == 2
    assert sim.streams["bitget"].stats.connections_accepted == 2


def test_unknown_path_is_refused() -> None:
    with Simulator() as sim, pytest.raises(InvalidStatus) as refused, connect(
        sim.ws_url("binance") + "/api/v3/depth"
    ):
        pass
    assert refused.value.response.status_code == 404
