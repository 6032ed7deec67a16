"""The simulated Binance market-data WebSocket streams: spot and USDⓈ-M futures on one port.

Paths (under ``ws://127.0.0.1:PORT``): spot ``/ws``, ``/ws/<stream>`` (raw events) and
``/stream?streams=<a>/<b>`` (``{"stream":...,"data":...}``); futures the same under
``/futures``. Live requests ``{"method":"SUBSCRIBE"|"UNSUBSCRIBE","params":[...],"id":N}``
answer ``{"result":null,"id":N}``; ``LIST_SUBSCRIPTIONS``, ``SET_PROPERTY`` and
``GET_PROPERTY`` (``combined``) work as documented; bad requests get Binance's
``{"error":{"code":...,"msg":...},"id":...}`` replies. As on Binance, a well-formed
stream name that names nothing is accepted and simply stays quiet.

Limits, from Binance's "WebSocket Streams" pages: spot "WebSocket connections have a
limit of 5 incoming messages per second", futures 10; "A single connection can
listen to a maximum of 1024 streams"; "A connection that goes beyond the limit will
be disconnected". The server pings every 20 s (spot) / 3 min (futures) and drops a
connection that has not answered within 1 min / 10 min.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import broadcast
from websockets.exceptions import ConnectionClosed

from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._binance_feeds import BinanceFeed, feed_for
from tradeflood.testing._ws import Client, Feed, StreamServer, dumps

__all__ = ["BinanceStreams"]

_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


class _Firehose(BinanceFeed):
    """A stream each subscriber gets at its own pace from a task of its own (see ``firehose``)."""


class BinanceStreams(StreamServer):
    """Binance's market streams over a :class:`BinanceVenue`'s market and clock.

    Settable: ``spot_message_limit`` (5/s), ``futures_message_limit`` (10/s),
    ``max_streams`` (1024), ``spot_ping_interval`` (20 s), ``futures_ping_interval``
    (180 s), ``spot_pong_timeout`` (60 s), ``futures_pong_timeout`` (600 s), and
    ``pacing`` in seconds: ``depth`` (0.1, the ``@100ms`` pace; ``@depth`` is ten
    times slower), ``trade`` (0.1), ``kline`` (1.0), ``ticker`` (1.0), plus
    ``depth_levels`` (1000, the book depth the diff streams track).
    """

    name = "binance"

    def __init__(self, venue: BinanceVenue, **kwargs: Any) -> None:
        super().__init__(venue, **kwargs)
        self.spot_message_limit = 5
        self.futures_message_limit = 10
        self.max_streams = 1024
        self.spot_ping_interval = 20.0
        self.futures_ping_interval = 180.0
        self.spot_pong_timeout = 60.0
        self.futures_pong_timeout = 600.0
        self.pacing: dict[str, float] = {
            "depth": 0.1, "trade": 0.1, "kline": 1.0, "ticker": 1.0, "depth_levels": 1000,
        }
        self.firehoses: dict[str, tuple[float | None, int | None]] = {}

    # -- connections -------------------------------------------------------
    @staticmethod
    def _split(path: str) -> tuple[str, str, str]:
        """(api, endpoint path, query) of a request path."""
        url = urlsplit(path)
        route = url.path
        api = "spot"
        if route == "/futures" or route.startswith("/futures/"):
            api, route = "futures", route[len("/futures"):]
        return api, route, url.query

    def routes(self, path: str) -> bool:
        _, route, _ = self._split(path)
        return route in ("/ws", "/stream", "/ws/", "/stream/") or route.startswith("/ws/")

    def limit_for(self, client: Client) -> int:
        return self.spot_message_limit if client.state["api"] == "spot" else self.futures_message_limit

    async def on_open(self, client: Client, path: str) -> None:
        api, route, query = self._split(path)
        client.state.update(api=api, names=[])
        if route.startswith("/stream"):
            client.variant = "combined"
            streams = [s for v in parse_qs(query).get("streams", []) for s in v.split("/") if s]
        else:
            streams = [s for s in route[len("/ws"):].split("/") if s]
        await self._add(client, streams)

    async def _add(self, client: Client, streams: list[str]) -> bool:
        names: list[str] = client.state["names"]
        for stream in streams:
            if stream in names:
                continue
            if len(names) >= self.max_streams:
                self.stats.closed["streams"] += 1
                await self.close(client, 1008, "Too many streams")
                return False
            names.append(stream)
            feed = self._feed(client.state["api"], stream)
            if feed is not None:
                self.subscribe(client, feed)
                if isinstance(feed, _Firehose):
                    self._start_firehose(client, feed)
        return True

    def _remove(self, client: Client, streams: list[str]) -> None:
        names: list[str] = client.state["names"]
        for stream in streams:
            if stream in names:
                names.remove(stream)
            key = f"{client.state['api']}:{stream}"
            task = client.state.get("hoses", {}).pop(key, None)
            if task is not None:
                task.cancel()
            self.unsubscribe(client, key)

    def _feed(self, api: str, stream: str) -> Feed | None:
        key = f"{api}:{stream}"
        if key in self.feeds:
            return self.feeds[key]
        if key in self.firehoses:
            kind = "spot" if api == "spot" else "perp"
            inst = self.venue.market.find(stream.partition("@")[0].upper(), kind)
            return _Firehose(api, stream, inst, self.venue.market, 3600.0) if inst is not None else None
        return feed_for(api, stream, self.venue.market, self.pacing)

    def frames(self, feed: Feed, message: Any, variants: Any) -> dict[str, str]:
        raw = message if isinstance(message, str) else dumps(message)
        out = {}
        for variant in variants:
            stream = feed.stream if isinstance(feed, BinanceFeed) else feed.key
            out[variant] = f'{{"stream":"{stream}","data":{raw}}}' if variant == "combined" else raw
        return out

    def malformed_frames(self) -> list[str]:
        return [
            '{"stream":"btcusdt@trade","data":{"e":"trade","E":',
            "<html><body>504 Gateway Time-out</body></html>",
            dumps({"stream": "btcusdt@trade", "data": [1, 2, 3]}),
            dumps({"e": "depthUpdate", "U": "x", "b": None}),
        ]

    # -- requests ----------------------------------------------------------
    def _reply(self, client: Client, body: dict[str, Any]) -> None:
        self.send(client, dumps(body))

    def _error(self, client: Client, code: int, msg: str, request_id: object = None) -> None:
        self._reply(client, {"error": {"code": code, "msg": msg}, "id": request_id})

    async def on_message(self, client: Client, message: str | bytes) -> None:
        text = message.decode(errors="replace") if isinstance(message, bytes) else message
        try:
            request = json.loads(text)
        except json.JSONDecodeError as err:
            self._error(client, 3, f"Invalid JSON: {err.msg.lower()} at line {err.lineno} column {err.colno}")
            return
        if not isinstance(request, dict):
            self._error(client, 2, "Invalid request: expected an object")
            return
        request_id = request.get("id")
        if not (request_id is None or isinstance(request_id, str)
                or (isinstance(request_id, int) and not isinstance(request_id, bool) and request_id >= 0)):
            self._error(client, 2, "Invalid request: request ID must be an unsigned integer", None)
            return
        method = request.get("method")
        if method not in _METHODS:
            column = text.find(json.dumps(method)) + len(json.dumps(method)) if method is not None else 1
            expected = ", ".join(f"`{m}`" for m in _METHODS)
            msg = f"Invalid request: unknown variant `{method}`, expected one of {expected}"
            msg += f" at line 1 column {column}"
            self._error(client, 2, msg, request_id)
            return
        params = request.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                self._error(client, 2, "Invalid request: params must be an array of strings", request_id)
                return
            if method == "SUBSCRIBE":
                self.stats.subscribe_messages += 1
                if await self._add(client, params):
                    self._reply(client, {"result": None, "id": request_id})
            else:
                self._remove(client, params)
                self._reply(client, {"result": None, "id": request_id})
        elif method == "LIST_SUBSCRIPTIONS":
            self._reply(client, {"result": list(client.state["names"]), "id": request_id})
        else:
            self._property(client, method, params, request_id)

    def _property(self, client: Client, method: str, params: Any, request_id: object) -> None:
        if not isinstance(params, list) or not params or not isinstance(params[0], str):
            self._error(client, 2, "Invalid request: property name must be a string", request_id)
        elif params[0] != "combined":
            self._error(client, 0, "Unknown property", request_id)
        elif method == "GET_PROPERTY":
            self._reply(client, {"result": client.variant == "combined", "id": request_id})
        elif len(params) < 2 or not isinstance(params[1], bool):
            self._error(client, 1, "Invalid value type: expected Boolean", request_id)
        else:
            client.variant = "combined" if params[1] else "raw"
            self._reply(client, {"result": None, "id": request_id})

    # -- keep-alive ----------------------------------------------------------
    async def watch(self, client: Client) -> None:
        while "api" not in client.state:
            await self.clock.sleep(0.01)
        spot = client.state["api"] == "spot"
        while True:
            await self.clock.sleep(self.spot_ping_interval if spot else self.futures_ping_interval)
            if self.silenced(client):
                continue
            try:
                waiter = asyncio.ensure_future(await client.ws.ping())
            except ConnectionClosed:
                return
            timeout = self.spot_pong_timeout if spot else self.futures_pong_timeout
            deadline = self.clock.monotonic() + timeout
            while not waiter.done() and self.clock.monotonic() < deadline:
                await self.clock.sleep(min(0.05, timeout))
            if not waiter.done() and not self.silenced(client):
                self.stats.closed["pong"] += 1
                client.ws.transport.abort()
                return

    # -- throughput mode -----------------------------------------------------
    def firehose(self, stream: str, rate: float | None = None, total: int | None = None,
                 *, futures: bool = False) -> None:
        """Serve ``stream`` (``<symbol>@trade``, or ``@aggTrade`` events) to each subscriber as fast
        as it reads, or at ``rate``.

        Applies to subscriptions made after the call; each subscriber gets its own
        sequence of realistic trade events with increasing ids, ``total`` of them
        (None: without end).
        """
        self.firehoses[f"{'futures' if futures else 'spot'}:{stream}"] = (rate, total)

    def _start_firehose(self, client: Client, feed: _Firehose) -> None:
        rate, total = self.firehoses[feed.key]
        task = asyncio.get_running_loop().create_task(self._pour(client, feed, rate, total))
        client.tasks.add(task)
        client.state.setdefault("hoses", {})[feed.key] = task

    async def _pour(self, client: Client, feed: _Firehose, rate: float | None, total: int | None) -> None:
        market, inst = feed.market, feed.inst
        now_ms = self.venue.now_ms()
        samples = market.recent_trades(inst, now_ms, 256)
        shapes = [(feed.style.px(t.price), feed.style.qty(t.size), "true" if t.buyer_is_maker else "false")
                  for t in samples]
        head, tail = ("", "")
        if client.variant == "combined":
            head, tail = f'{{"stream":"{feed.stream}","data":', "}"
        symbol, next_id, sent = inst.native, market.last_trade_id(inst, now_ms) + 1, 0
        aggregate = feed.stream.endswith("@aggTrade")
        chunk = 256 if rate is None else max(1, int(rate * 0.01))
        started = self.clock.monotonic()
        ws = client.ws
        target = [ws]
        while total is None or sent < total:
            if self.silenced(client):
                await self.clock.sleep(0.01)
                continue
            if ws.transport.is_closing():
                return
            now_ms = self.venue.now_ms()
            n = chunk if total is None else min(chunk, total - sent)
            for i in range(sent, sent + n):  # written at once, then one wait for the client to read
                px, qty, maker = shapes[i % len(shapes)]
                ident = next_id + i
                if aggregate:  # @aggTrade: one aggregate per trade here (f == l == a)
                    text = (f'{head}{{"e":"aggTrade","E":{now_ms},"s":"{symbol}","a":{ident},'
                            f'"p":"{px}","q":"{qty}","f":{ident},"l":{ident},"T":{now_ms},'
                            f'"m":{maker},"M":true}}{tail}')
                else:
                    text = (f'{head}{{"e":"trade","E":{now_ms},"s":"{symbol}","t":{ident},"p":"{px}",'
                            f'"q":"{qty}","T":{now_ms},"m":{maker},"M":true}}{tail}')
                broadcast(target, text)
            await ws.drain()
            sent += n
            self.stats.messages_sent += n
            if rate is None:
                await asyncio.sleep(0)
            else:
                await self.clock.sleep(max(0.0, started + sent / rate - self.clock.monotonic()))
