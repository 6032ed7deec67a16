"""The simulated Bitget v2 public WebSocket API (``wss://ws.bitget.com/v2/ws/public``).

Clients send ``{"op":"subscribe","args":[{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"}]}``
(``unsubscribe`` likewise) and get one ``{"event":"subscribe","arg":{...}}`` per arg, or
``{"event":"error","arg":{...},"code":30001,"msg":"... doesn't exist","op":"subscribe"}``.
Pushes are ``{"action":"snapshot"|"update","arg":{...},"data":[...],"ts":...}``.
Text ``"ping"`` is answered ``"pong"``. Channels: ``candle1m`` ... ``candle1Mutc``,
``trade``, ``ticker``, ``books`` (snapshot, then updates with ``seq``/``pseq`` and a
CRC32 ``checksum`` over the top 25 levels) and ``books1``/``books5``/``books15``.

Limits, from Bitget's "Websocket API" introduction (api-doc/common/websocket-intro):
"Max 1000 channel subscription/connection", "240 subscription requests/Hour/connection",
"The Websocket server accepts up to 10 messages per second" (string "ping" and JSON
messages; beyond it "the connection will be disconnected"), and the server disconnects
a connection from which nothing (no "ping") arrives for 2 minutes.
"""

from __future__ import annotations

import json
import zlib
from decimal import Decimal
from typing import Any

from tradeflood.testing import _bitget_payloads as wire
from tradeflood.testing._bitget import MIX_GRANULARITY, BitgetVenue
from tradeflood.testing._book import BookSide, diff
from tradeflood.testing._funding_feeds import bitget_derivatives
from tradeflood.testing._grid import Grid
from tradeflood.testing._market import Instrument, Market
from tradeflood.testing._venue import plain
from tradeflood.testing._ws import BarFeed, Client, Feed, StreamServer, dumps, new_trade_ids

__all__ = ["BitgetStreams"]

_CANDLES = ("1m", "5m", "15m", "30m", "1H", "4H", "6H", "12H", "1D", "3D", "1W", "1M")
CANDLE_CHANNELS = {f"candle{k}": MIX_GRANULARITY[k] for k in _CANDLES} | {
    f"candle{k}utc": MIX_GRANULARITY[f"{k}utc"] for k in ("6H", "12H", "1D", "3D", "1W", "1M")
}
SNAPSHOT_BOOKS = {"books1": 1, "books5": 5, "books15": 15}
CHANNELS = {"trade", "ticker", "books", *SNAPSHOT_BOOKS, *CANDLE_CHANNELS}
KINDS = {"SPOT": "spot", "USDT-FUTURES": "perp"}
CHECKSUM_LEVELS = 25


def checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """Bitget's checksum: CRC32 of the top 25 "price:size" pairs, bid and ask in turn, as signed int32."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < len(asks):
            parts.append(f"{asks[i][0]}:{asks[i][1]}")
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class _BitgetFeed(Feed):
    def __init__(self, arg: dict[str, str], inst: Instrument, market: Market, interval: float) -> None:
        super().__init__(topic_key(arg), inst.native, interval)
        self.arg = arg
        self.inst = inst
        self.market = market

    def push(self, action: str, data: list[Any], now_ms: int) -> dict[str, Any]:
        return {"action": action, "arg": self.arg, "data": data, "ts": now_ms}


class _Candles(_BitgetFeed, BarFeed):
    """Snapshot of recent candles, then the open candle; a candle that closed is sent once more,
    final, each once and in order however late the poll (:class:`BarFeed`), all in one update."""

    snapshot_size = 30

    def __init__(self, grid: Grid, *args: Any) -> None:
        super().__init__(*args)
        self.grid = grid

    def row(self, open_ms: int, now_ms: int) -> list[str]:
        return wire.candle_row(self.market.bar(self.inst, self.grid, open_ms, now_ms), spot=True)

    def first(self, now_ms: int) -> list[Any]:
        opens = [self.grid.floor(now_ms)]
        while len(opens) < self.snapshot_size and opens[-1] > self.inst.listed_ms:
            opens.append(self.grid.floor(opens[-1] - 1))
        if self.open_ms is None:
            self.open_ms = opens[0]
        return [self.push("snapshot", [self.row(t, now_ms) for t in reversed(opens)], now_ms)]

    def poll(self, now_ms: int) -> list[Any]:
        return [self.push("update", [self.row(t, now_ms) for t in self.opens(now_ms)], now_ms)]


class _Trades(_BitgetFeed):
    """Snapshot of the latest trades, then every new trade (newest first), as the market makes them."""

    snapshot_size = 50
    most_per_push = 1000

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.last_id: int | None = None

    def _rows(self, ids: range) -> list[dict[str, str]]:
        rows = []
        for i in reversed(ids):
            row = wire.fill(self.inst, self.market.trade(self.inst, i))
            rows.append({k: row[k] for k in ("ts", "price", "size", "side", "tradeId")})
            rows[-1]["side"] = row["side"].lower()
        return rows

    def first(self, now_ms: int) -> list[Any]:
        last = self.market.last_trade_id(self.inst, now_ms)
        if self.last_id is None:
            self.last_id = last
        ids = range(max(1, last - self.snapshot_size + 1), last + 1)
        return [self.push("snapshot", self._rows(ids), now_ms)]

    def poll(self, now_ms: int) -> list[Any]:
        self.last_id, ids = new_trade_ids(self.market, self.inst, self.last_id, now_ms, self.most_per_push)
        return [self.push("update", self._rows(ids), now_ms)] if ids else []


class _Ticker(_BitgetFeed):
    def first(self, now_ms: int) -> list[Any]:
        return self.poll(now_ms)

    def poll(self, now_ms: int) -> list[Any]:
        if self.inst.kind == "spot":
            row: dict[str, Any] = wire.spot_ticker(self.market, self.inst, now_ms)
            row["open24h"] = row.pop("open")
            row.pop("usdtVolume")
        else:
            row = dict(wire.mix_ticker(self.market, self.inst, now_ms))
            row.update(bitget_derivatives(self.market, self.inst, now_ms))
        row["instId"] = row.pop("symbol")
        return [self.push("snapshot", [row], now_ms)]


class _Book(_BitgetFeed):
    """``books``: a snapshot, then each book tick's changed levels with ``seq``, ``pseq`` and ``checksum``."""

    def __init__(self, depth: int, *args: Any) -> None:
        super().__init__(*args)
        self.depth = depth
        self.tick = -1
        self.bids: BookSide = []
        self.asks: BookSide = []
        self.sent_seq = 0
        self._skip = self._corrupt = False

    def levels(self, side: BookSide) -> list[list[str]]:
        pd, sd = self.inst.price_decimals, self.inst.size_decimals
        return [[plain(Decimal(p).scaleb(-pd)), str(Decimal(s).scaleb(-sd)) if s else "0"] for p, s in side]

    def _load(self, tick: int) -> None:
        self.tick = tick
        self.bids, self.asks = self.market.book_units(self.inst, tick, self.depth)

    def _checksum(self) -> int:
        top = CHECKSUM_LEVELS
        return checksum(self.levels(self.bids[:top]), self.levels(self.asks[:top]))

    def first(self, now_ms: int) -> list[Any]:
        if self.tick < 0:
            self._load(self.market.book_tick(now_ms))
            self.sent_seq = self.tick
        data = {
            "asks": self.levels(self.asks), "bids": self.levels(self.bids),
            "checksum": self._checksum(), "seq": self.sent_seq,
            "ts": str(self.tick * self.market.book_tick_ms),
        }
        return [self.push("snapshot", [data], now_ms)]

    def poll(self, now_ms: int) -> list[Any]:
        tick = self.market.book_tick(now_ms)
        if self.tick < 0 or tick <= self.tick:
            return []
        old_bids, old_asks = self.bids, self.asks
        self._load(tick)
        bids, asks = diff(old_bids, self.bids), diff(old_asks, self.asks)
        if not bids and not asks:
            return []
        pseq, self.sent_seq = self.sent_seq, tick
        if self._skip:
            self._skip = False
            return []
        crc = self._checksum()
        if self._corrupt:
            self._corrupt = False
            crc = crc + 1 if crc < (1 << 31) - 1 else crc - 1
        bids.sort(reverse=True)
        asks.sort()
        data = {
            "asks": self.levels(asks), "bids": self.levels(bids), "checksum": crc,
            "seq": tick, "pseq": pseq, "ts": str(tick * self.market.book_tick_ms),
        }
        return [self.push("update", [data], now_ms)]

    def skip_next(self) -> bool:
        self._skip = True
        return True

    def corrupt_next(self) -> bool:
        self._corrupt = True
        return True


class _TopBook(_Book):
    """``books1``/``books5``/``books15``: the top levels, a snapshot every time."""

    def first(self, now_ms: int) -> list[Any]:
        return self.poll(now_ms)

    def poll(self, now_ms: int) -> list[Any]:
        tick = self.market.book_tick(now_ms)
        bids, asks = self.market.book_units(self.inst, tick, self.depth)
        data = {
            "asks": self.levels(asks), "bids": self.levels(bids), "checksum": 0,
            "seq": tick, "ts": str(tick * self.market.book_tick_ms),
        }
        return [self.push("snapshot", [data], now_ms)]


def topic_key(arg: dict[str, str]) -> str:
    """The stats key of a Bitget subscription: ``SPOT:trade:BTCUSDT``."""
    return f"{arg.get('instType')}:{arg.get('channel')}:{arg.get('instId')}"


class BitgetStreams(StreamServer):
    """Bitget's v2 public WebSocket API over a :class:`BitgetVenue`'s market and clock.

    Settable: ``idle_timeout`` (120 s), ``message_limit`` (10/s), ``max_channels``
    (1000), ``subscribe_limit`` (240 per hour), ``book_depth`` (levels in a
    ``books`` snapshot, 150) and the pacing in seconds: ``book_interval`` (0.1),
    ``trade_interval`` (0.1), ``candle_interval`` (1.0), ``ticker_interval`` (1.0).
    """

    name = "bitget"
    path = "/v2/ws/public"

    def __init__(self, venue: BitgetVenue, **kwargs: Any) -> None:
        super().__init__(venue, **kwargs)
        self.idle_timeout = 120.0
        self.message_limit = 10
        self.max_channels = 1000
        self.subscribe_limit = 240
        self.book_depth = 150
        self.book_interval = 0.1
        self.trade_interval = 0.1
        self.candle_interval = 1.0
        self.ticker_interval = 1.0

    def routes(self, path: str) -> bool:
        return path.split("?")[0].rstrip("/") in (self.path, "")

    def malformed_frames(self) -> list[str]:
        return [
            "{\"action\":\"update\",\"arg\":",
            "<html>502 Bad Gateway</html>",
            dumps({"action": "update", "arg": {"instType": "SPOT"}, "data": "oops", "ts": "x"}),
        ]

    def error(self, code: int, msg: str, arg: object = None, op: str | None = None) -> str:
        body: dict[str, Any] = {"event": "error"}
        if arg is not None:
            body["arg"] = arg
        body.update(code=code, msg=msg)
        if op is not None:
            body["op"] = op
        return dumps(body)

    async def on_message(self, client: Client, message: str | bytes) -> None:
        text = message.decode() if isinstance(message, bytes) else message
        if text == "ping":
            self.send(client, "pong")
            return
        try:
            request = json.loads(text)
        except ValueError:
            self.send(client, self.error(30002, "illegal request"))
            return
        op = request.get("op") if isinstance(request, dict) else None
        if op not in ("subscribe", "unsubscribe"):
            self.send(client, self.error(30003, "Invalid op"))
            return
        args = request.get("args")
        if not isinstance(args, list) or not args or not all(isinstance(a, dict) for a in args):
            self.send(client, self.error(30016, "Param error", op=op))
            return
        if op == "unsubscribe":
            for arg in args:
                self.unsubscribe(client, topic_key(arg))
                self.send(client, dumps({"event": "unsubscribe", "arg": arg}))
            return
        self.stats.subscribe_messages += 1
        if not self.subscribe_allowed(client, self.subscribe_limit):
            self.send(client, self.error(30006, "request too many", op=op))
            return
        for arg in args:
            feed = self._feed(arg)
            if feed is None:
                what = f"instType:{arg.get('instType')},channel:{arg.get('channel')}"
                msg = f"{what},instId:{arg.get('instId')} doesn't exist"
                self.send(client, self.error(30001, msg, arg, op))
                continue
            if feed.key not in client.topics and len(client.topics) >= self.max_channels:
                self.stats.closed["streams"] += 1
                self.send(client, self.error(30007, "request over limit,connection close", arg, op))
                await self.close(client, 1008, "request over limit")
                return
            self.subscribe(client, feed, ack=dumps({"event": "subscribe", "arg": arg}))

    def _feed(self, arg: dict[str, Any]) -> Feed | None:
        kind = KINDS.get(str(arg.get("instType")))
        channel = str(arg.get("channel"))
        inst = self.venue.market.find(str(arg.get("instId")), kind) if kind else None
        if inst is None or channel not in CHANNELS:
            return None
        key = topic_key(arg)
        if key in self.feeds:
            return self.feeds[key]
        common = (dict(arg), inst, self.venue.market)
        if channel in CANDLE_CHANNELS:
            return _Candles(CANDLE_CHANNELS[channel], *common, self.candle_interval)
        if channel == "trade":
            return _Trades(*common, self.trade_interval)
        if channel == "ticker":
            return _Ticker(*common, self.ticker_interval)
        if channel == "books":
            return _Book(self.book_depth, *common, self.book_interval)
        return _TopBook(SNAPSHOT_BOOKS[channel], *common, self.book_interval)

    async def watch(self, client: Client) -> None:
        await self.close_when_idle(client, self.idle_timeout)
