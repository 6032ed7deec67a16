"""Quill's API served on 127.0.0.1 by one small server of its own: plain HTTP GETs for REST
and a WebSocket, both on one port (``websockets`` answers the plain requests itself).

Everything it serves is a function of time and a counter, so tests can state the
exact values they expect: :func:`price` of a minute, trade ``n`` at
:func:`trade_price`, book deltas numbered from :data:`FIRST_SEQ`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

MARKETS = [{"id": "BTC-USD", "base": "BTC", "quote": "USD", "tick": "0.1", "lot": "0.001"},
           {"id": "ETH-USD", "base": "ETH", "quote": "USD", "tick": "0.01", "lot": "0.01"}]
INTERVAL_MS = {"1m": 60_000, "1h": 3_600_000}
MAX_PAGE = 100
FIRST_SEQ = 500
PUSH_EVERY = 0.01


def price(open_ms: int) -> Decimal:
    """The open of the bar opening at ``open_ms``: 100 + (minutes since the epoch mod 500) / 10."""
    return Decimal(100) + Decimal(open_ms // 60_000 % 500) / 10


def candle_row(open_ms: int) -> list[Any]:
    o = price(open_ms)
    return [open_ms, str(o), str(o + 1), str(o - 1), str(o + Decimal("0.5")), "2.5"]


def bid_size(seq: int) -> int:
    """The size of bid 99.0 after the delta numbered ``seq``."""
    return seq % 100 + 1


def trade_price(n: int) -> Decimal:
    return Decimal(200) + Decimal(n) / 4


class QuillServer:
    """Serves Quill until stopped; counts REST requests by path and WebSocket subscriptions."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.subscriptions: Counter[str] = Counter()
        self.skip_next_seq = False
        self.seq = FIRST_SEQ
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await serve(self._session, "127.0.0.1", 0, process_request=self._http)
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"127.0.0.1:{port}"

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # -- REST --------------------------------------------------------------------------------

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/ws":
            return None
        self.requests[url.path] += 1
        query = dict(parse_qsl(url.query))
        if url.path == "/v1/markets":
            return self._reply(connection, MARKETS)
        if url.path == "/v1/candles":
            step = INTERVAL_MS.get(query.get("interval", ""))
            if query.get("market") not in {m["id"] for m in MARKETS} or step is None:
                return self._reply(connection, None, code=40001, msg="unknown market or interval")
            start, end, limit = int(query["start"]), int(query["end"]), min(int(query["limit"]), MAX_PAGE)
            first = -(-start // step) * step
            rows = [candle_row(t) for t in range(first, end + 1, step)][:limit]
            return self._reply(connection, rows)
        return self._reply(connection, None, code=40404, msg="no such endpoint")

    @staticmethod
    def _reply(connection: ServerConnection, data: Any, code: int = 0, msg: str = "") -> Response:
        body = {"code": code, "msg": msg, "data": data} if code == 0 else {"code": code, "msg": msg}
        response = connection.respond(200 if code == 0 else 400, orjson.dumps(body).decode())
        response.headers["Content-Type"] = "application/json"
        return response

    # -- WebSocket ---------------------------------------------------------------------------

    async def _session(self, ws: ServerConnection) -> None:
        pushing: dict[str, asyncio.Task[None]] = {}
        try:
            async for raw in ws:
                message = orjson.loads(raw)
                for topic in message.get("topics", ()):
                    name = f"{topic['ch']}:{topic['market']}"
                    if message.get("op") == "unsub":
                        task = pushing.pop(name, None)
                        if task is not None:
                            task.cancel()
                        continue
                    self.subscriptions[name] += 1
                    await ws.send(orjson.dumps({"event": "sub", "ch": name}).decode())
                    push = self._trades if topic["ch"] == "trades" else self._book
                    task = asyncio.get_running_loop().create_task(push(ws, name))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    pushing[name] = task
        finally:
            for task in pushing.values():
                task.cancel()

    async def _trades(self, ws: ServerConnection, name: str) -> None:
        n = 0
        with contextlib.suppress(Exception):
            while True:
                n += 1
                trade = {"id": n, "px": str(trade_price(n)), "qty": "0.5", "side": "buy" if n % 2 else "sell",
                         "ts": 1_700_000_000_000 + n}
                await ws.send(orjson.dumps({"ch": name, "data": [trade]}).decode())
                await asyncio.sleep(PUSH_EVERY)

    async def _book(self, ws: ServerConnection, name: str) -> None:
        """A snapshot at the current seq: bids 99.0..99.4, asks 100.0..100.4, size 1; then each
        delta sets the size of bid 99.0 to :func:`bid_size` of its seq."""
        bids = [[f"99.{i}", "1"] for i in reversed(range(5))]  # best first, as venues document
        asks = [[f"100.{i}", "1"] for i in range(5)]
        with contextlib.suppress(Exception):
            await ws.send(orjson.dumps({"ch": name, "data": {
                "type": "snapshot", "seq": self.seq, "ts": 1_700_000_000_000, "bids": bids,
                "asks": asks}}).decode())
            while True:
                await asyncio.sleep(PUSH_EVERY)
                self.seq += 2 if self.skip_next_seq else 1
                self.skip_next_seq = False
                await ws.send(orjson.dumps({"ch": name, "data": {
                    "type": "delta", "seq": self.seq, "ts": 1_700_000_000_000 + self.seq,
                    "bids": [["99.0", str(bid_size(self.seq))]], "asks": []}}).decode())
