"""The simulated Bybit v5 public WebSocket API (``/v5/public/spot`` and ``/v5/public/linear``).

Clients send ``{"op":"subscribe","args":["orderbook.200.BTCUSDT"],"req_id":"1"}`` and get
``{"success":true,"ret_msg":"","conn_id":...,"req_id":"1","op":"subscribe"}`` (``success``
false and the reason in ``ret_msg`` when a topic is unknown, or when a spot request holds
more than 10 args). ``{"op":"ping"}`` is answered like Bybit answers it on each path
(spot: ``ret_msg`` "pong"; linear: ``op`` "pong"). Pushes are
``{"topic","type":"snapshot"|"delta","ts","data"}``. Topics: ``kline.<interval>.<symbol>``,
``publicTrade.<symbol>``, ``tickers.<symbol>`` (linear: a snapshot, then deltas of the
changed fields, the funding rate and open interest among them) and
``orderbook.<1|50|200|500>.<symbol>`` (a snapshot on subscribing, then deltas whose ``u``
grows by one a push).

Idle connections (nothing received) are closed after ``idle_timeout`` (600 s: Bybit's
docs, "if there is no "ping-pong" and no stream data sent from server end, the
connection will be cut off after 10 minutes"; Bybit recommends a ping every 20 s).
"""

from __future__ import annotations

import json
from typing import Any

from tradeflood.testing import _bybit_payloads as wire
from tradeflood.testing._book import BookSide, diff
from tradeflood.testing._bybit import INTERVALS, BybitVenue
from tradeflood.testing._funding_feeds import bybit_derivatives
from tradeflood.testing._grid import Grid
from tradeflood.testing._market import Instrument, Market
from tradeflood.testing._ws import BarFeed, Client, Feed, StreamServer, dumps, new_trade_ids

__all__ = ["BybitStreams"]

PATHS = {"/v5/public/spot": "spot", "/v5/public/linear": "perp"}
BOOK_DEPTHS = {"spot": (1, 50, 200), "perp": (1, 50, 200, 500)}


class _BybitFeed(Feed):
    def __init__(self, topic: str, inst: Instrument, market: Market, interval: float) -> None:
        super().__init__(f"{inst.kind}:{topic}", inst.native, interval)
        self.topic = topic
        self.inst = inst
        self.market = market

    def push(self, data: Any, now_ms: int, kind: str = "snapshot") -> dict[str, Any]:
        return {"topic": self.topic, "type": kind, "ts": now_ms, "data": data}


class _Kline(_BybitFeed, BarFeed):
    """The forming kline as it changes; a kline that closed is sent once more with confirm true,
    each once and in order however late the poll (:class:`BarFeed`), all in one push."""

    def __init__(self, grid: Grid, code: str, *args: Any) -> None:
        super().__init__(*args)
        self.grid, self.code = grid, code

    def _row(self, open_ms: int, now_ms: int) -> dict[str, Any]:
        bar = self.market.bar(self.inst, self.grid, open_ms, now_ms)
        row = wire.kline_row(bar)
        return {"start": bar.open_ms, "end": bar.close_ms, "interval": self.code, "open": row[1],
                "close": row[4], "high": row[2], "low": row[3], "volume": row[5], "turnover": row[6],
                "confirm": bar.close_ms < now_ms, "timestamp": now_ms}  # final from close + 1 ms

    def poll(self, now_ms: int) -> list[Any]:
        return [self.push([self._row(t, now_ms) for t in self.opens(now_ms)], now_ms)]


class _Trades(_BybitFeed):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.last_id: int | None = None

    def poll(self, now_ms: int) -> list[Any]:
        self.last_id, ids = new_trade_ids(self.market, self.inst, self.last_id, now_ms)
        if not ids:
            return []
        rows = []
        for i in ids:
            t = wire.trade(self.inst, self.market.trade(self.inst, i))
            rows.append({"T": int(t["time"]), "s": t["symbol"], "S": t["side"], "v": t["size"],
                         "p": t["price"], "L": "ZeroPlusTick", "i": t["execId"], "BT": False})
        return [self.push(rows, now_ms)]


class _Ticker(_BybitFeed):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sent: dict[str, str] | None = None

    def record(self, now_ms: int) -> dict[str, str]:
        record = wire.ticker(self.market, self.inst, now_ms)
        if self.inst.kind != "spot":  # linear tickers carry the funding and open interest
            record.update(bybit_derivatives(self.market, self.inst, now_ms))
        return record

    def first(self, now_ms: int) -> list[Any]:
        record = self.record(now_ms)
        if self.sent is None:  # the deltas start from this snapshot: nothing changed in between is lost
            self.sent = record
        return [self.push(record, now_ms)]

    def poll(self, now_ms: int) -> list[Any]:
        record = self.record(now_ms)
        if self.inst.kind == "spot" or self.sent is None:
            self.sent = record
            return [self.push(record, now_ms)] if self.inst.kind == "spot" else []
        changed = {k: v for k, v in record.items() if self.sent.get(k) != v}
        self.sent = record
        return [self.push({"symbol": self.inst.native, **changed}, now_ms, "delta")]


class _Book(_BybitFeed):
    def __init__(self, depth: int, *args: Any) -> None:
        super().__init__(*args)
        self.depth = depth
        self.tick = -1
        self.u = 0
        self.bids: BookSide = []
        self.asks: BookSide = []
        self._skip = False

    def _levels(self, side: BookSide) -> list[list[str]]:
        return wire.levels([self.market.level(self.inst, p, s) for p, s in side])

    def _data(self, bids: BookSide, asks: BookSide) -> dict[str, Any]:
        return {"s": self.inst.native, "b": self._levels(bids), "a": self._levels(asks), "u": self.u,
                "seq": self.tick}

    def first(self, now_ms: int) -> list[Any]:
        if self.tick < 0:
            self.tick = self.market.book_tick(now_ms)
            self.bids, self.asks = self.market.book_units(self.inst, self.tick, self.depth)
            self.u = 1000
        return [self.push(self._data(self.bids, self.asks), now_ms)]

    def poll(self, now_ms: int) -> list[Any]:
        tick = self.market.book_tick(now_ms)
        if self.tick < 0 or tick <= self.tick:
            return []
        old_bids, old_asks = self.bids, self.asks
        self.tick = tick
        self.bids, self.asks = self.market.book_units(self.inst, tick, self.depth)
        bids, asks = diff(old_bids, self.bids), diff(old_asks, self.asks)
        if not bids and not asks:
            return []
        self.u += 1
        if self._skip:
            self._skip = False
            return []
        bids.sort(reverse=True)
        asks.sort()
        return [self.push(self._data(bids, asks), now_ms, "delta")]

    def skip_next(self) -> bool:
        self._skip = True
        return True


class BybitStreams(StreamServer):
    """Bybit's v5 public WebSocket paths over a :class:`BybitVenue`'s market and clock.

    Settable: ``idle_timeout`` (600 s), ``max_args`` (10, spot requests) and the pacing in
    seconds: ``book_interval`` (0.1), ``trade_interval`` (0.1), ``kline_interval`` (0.5),
    ``ticker_interval`` (0.1).
    """

    name = "bybit"

    def __init__(self, venue: BybitVenue, **kwargs: Any) -> None:
        super().__init__(venue, **kwargs)
        self.idle_timeout = 600.0
        self.max_args = 10
        self.book_interval = 0.1
        self.trade_interval = 0.1
        self.kline_interval = 0.5
        self.ticker_interval = 0.1

    def routes(self, path: str) -> bool:
        return path.split("?")[0].rstrip("/") in PATHS

    def malformed_frames(self) -> list[str]:
        return ['{"topic":"publicTrade.BTCUSDT","data":', "<html>502 Bad Gateway</html>",
                dumps({"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1, "data": "oops"})]

    def _kind(self, client: Client) -> str:
        return PATHS.get(str(client.state.get("path", "")).split("?")[0].rstrip("/"), "spot")

    async def on_message(self, client: Client, message: str | bytes) -> None:
        kind = self._kind(client)
        try:
            request = json.loads(message)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self.send(client, dumps({"success": False, "ret_msg": "Invalid request", "conn_id": "sim"}))
            return
        op, req_id = request.get("op"), request.get("req_id")
        if op == "ping":
            if kind == "spot":
                self.send(client, dumps({"success": True, "ret_msg": "pong", "conn_id": "sim",
                                         "req_id": req_id, "op": "ping"}))
            else:
                self.send(client, dumps({"req_id": req_id, "op": "pong",
                                         "args": [str(self.venue.now_ms())], "conn_id": "sim"}))
            return
        args = request.get("args")
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            self.send(client, dumps({"success": False, "ret_msg": f"Invalid op:{op}", "conn_id": "sim",
                                     "req_id": req_id, "op": op}))
            return
        self.stats.subscribe_messages += 1
        if kind == "spot" and len(args) > self.max_args:
            self.send(client, dumps({"success": False, "ret_msg": f"args size >{self.max_args}",
                                     "conn_id": "sim", "req_id": req_id, "op": op}))
            return
        if op == "unsubscribe":
            for name in args:
                self.unsubscribe(client, f"{kind}:{name}")
            self.send(client, dumps({"success": True, "ret_msg": "", "conn_id": "sim", "req_id": req_id,
                                     "op": op}))
            return
        feeds = [self._feed(kind, str(name)) for name in args]
        bad = [str(n) for n, f in zip(args, feeds, strict=True) if f is None]
        ack = dumps({"success": not bad, "ret_msg": f"Invalid symbol :[{','.join(bad)}]" if bad else "",
                     "conn_id": "sim", "req_id": req_id, "op": "subscribe"})
        if bad:
            self.send(client, ack)
            return
        for i, feed in enumerate(feeds):
            assert feed is not None
            self.subscribe(client, feed, ack=ack if i == 0 else None)

    def _feed(self, kind: str, name: str) -> Feed | None:
        parts = name.split(".")
        inst = self.venue.market.find(parts[-1], kind)
        if inst is None:
            return None
        key = f"{kind}:{name}"
        if key in self.feeds:
            return self.feeds[key]
        market = self.venue.market
        if parts[0] == "kline" and len(parts) == 3 and parts[1] in INTERVALS:
            return _Kline(INTERVALS[parts[1]], parts[1], name, inst, market, self.kline_interval)
        if parts[0] == "allLiquidation" and len(parts) == 2 and kind == "perp":
            from tradeflood.testing._liquidation_feeds import BybitLiquidations

            return BybitLiquidations(name, inst, market, self.trade_interval)
        if parts[0] == "publicTrade" and len(parts) == 2:
            return _Trades(name, inst, market, self.trade_interval)
        if parts[0] == "tickers" and len(parts) == 2:
            return _Ticker(name, inst, market, self.ticker_interval)
        if parts[0] == "orderbook" and len(parts) == 3 and parts[1].isdigit() \
                and int(parts[1]) in BOOK_DEPTHS[kind]:
            return _Book(int(parts[1]), name, inst, market, self.book_interval)
        return None

    async def watch(self, client: Client) -> None:
        await self.close_when_idle(client, self.idle_timeout)
