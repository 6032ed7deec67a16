"""The simulated OKX v5 public WebSocket API (``/ws/v5/public`` and ``/ws/v5/business``).

Clients send ``{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}``
(``unsubscribe`` likewise) and get ``{"event":"subscribe","arg":{...},"connId":...}``
per arg, or ``{"event":"error","code":"60018","msg":"Wrong URL or channel:...","connId":...}``.
Pushes are ``{"arg":{...},"data":[...]}`` (books add ``"action"``). Text ``ping``
is answered ``pong``. Channels: ``trades``, ``tickers``, ``books``, ``funding-rate``
and ``open-interest`` (swaps) on the public path; ``candle<bar>`` on the business path
only (as OKX moved them there).

Books: ``seqId`` is the book tick, ``prevSeqId`` the previous push's ``seqId``
and ``checksum`` is always 0 (OKX, from June 2026). ``book_snapshot`` says
whether a subscriber first gets a snapshot (``prevSeqId`` -1; OKX's behaviour
until August 2026) or, the default and OKX's announced behaviour from then on,
only updates, to be bridged with a REST snapshot (``market/books`` carries the
same ``seqId``).

Limits (OKX "WebSocket API" overview): 480 subscribe/unsubscribe requests an
hour per connection (beyond: error 60014 and nothing subscribed); a connection
that receives nothing for 30 seconds is closed.
"""

from __future__ import annotations

import json
from typing import Any

from tradeflood.testing import _okx_payloads as wire
from tradeflood.testing._book import BookSide, diff
from tradeflood.testing._grid import Grid
from tradeflood.testing._market import Instrument, Market
from tradeflood.testing._okx import BARS, OkxVenue
from tradeflood.testing._venue import plain
from tradeflood.testing._ws import BarFeed, Client, Feed, StreamServer, dumps, new_trade_ids

__all__ = ["OkxStreams"]

PUBLIC, BUSINESS = "/ws/v5/public", "/ws/v5/business"
CANDLE_CHANNELS = {f"candle{bar}": grid for bar, grid in BARS.items()}


class _OkxFeed(Feed):
    def __init__(self, arg: dict[str, str], inst: Instrument, market: Market, interval: float) -> None:
        super().__init__(topic_key(arg), inst.native, interval)
        self.arg = arg
        self.inst = inst
        self.market = market

    def push(self, data: list[Any], action: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"arg": self.arg}
        if action is not None:
            out["action"] = action
        out["data"] = data
        return out


class _Candles(_OkxFeed, BarFeed):
    """The forming bar as it changes; when a bar closes it is pushed once more with confirm "1",
    each closed bar once and in order however late the poll (:class:`BarFeed`), one push a bar."""

    def __init__(self, grid: Grid, *args: Any) -> None:
        super().__init__(*args)
        self.grid = grid

    def row(self, open_ms: int, now_ms: int) -> list[str]:
        return wire.candle_row(self.inst, self.market.bar(self.inst, self.grid, open_ms, now_ms), now_ms)

    def poll(self, now_ms: int) -> list[Any]:
        return [self.push([self.row(t, now_ms)]) for t in self.opens(now_ms)]


class _PriceCandles(_Candles):
    """Mark or index bars: as the trade candles, rows ``[ts, o, h, l, c, confirm]``."""

    def __init__(self, kind: str, *args: Any) -> None:
        super().__init__(*args)
        self.kind = kind

    def row(self, open_ms: int, now_ms: int) -> list[str]:
        from tradeflood.testing._derived import price_bar

        p = price_bar(self.market, self.inst, self.grid, open_ms, now_ms, self.kind)
        return [str(open_ms), plain(p.open), plain(p.high), plain(p.low), plain(p.close),
                "1" if p.close_ms < now_ms else "0"]


class _Trades(_OkxFeed):
    """Every new trade, oldest first, one push each (OKX aggregates same-price fills: count 1 here)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.last_id: int | None = None

    def poll(self, now_ms: int) -> list[Any]:
        self.last_id, ids = new_trade_ids(self.market, self.inst, self.last_id, now_ms)
        return [self.push([wire.trade(self.inst, self.market.trade(self.inst, i))]) for i in ids]


class _Ticker(_OkxFeed):
    def first(self, now_ms: int) -> list[Any]:
        return self.poll(now_ms)

    def poll(self, now_ms: int) -> list[Any]:
        return [self.push([wire.ticker(self.market, self.inst, now_ms)])]


class _Book(_OkxFeed):
    """``books``: (a snapshot when ``snapshot`` is on, then) each tick's changed levels."""

    def __init__(self, depth: int, snapshot: bool, *args: Any) -> None:
        super().__init__(*args)
        self.depth = depth
        self.snapshot = snapshot
        self.tick = -1
        self.bids: BookSide = []
        self.asks: BookSide = []
        self._skip = False

    def _load(self, tick: int) -> None:
        self.tick = tick
        self.bids, self.asks = self.market.book_units(self.inst, tick, self.depth)

    def _levels(self, side: BookSide) -> list[list[str]]:
        return wire.levels(self.inst, [self.market.level(self.inst, p, s) for p, s in side])

    def _data(self, bids: BookSide, asks: BookSide, prev: int) -> dict[str, Any]:
        return {"asks": self._levels(asks), "bids": self._levels(bids),
                "ts": str(self.tick * self.market.book_tick_ms), "checksum": 0,
                "prevSeqId": prev, "seqId": self.tick}

    def first(self, now_ms: int) -> list[Any]:
        if self.tick < 0:
            self._load(self.market.book_tick(now_ms))
        if not self.snapshot:
            return []
        return [self.push([self._data(self.bids, self.asks, -1)], "snapshot")]

    def poll(self, now_ms: int) -> list[Any]:
        tick = self.market.book_tick(now_ms)
        if self.tick < 0 or tick <= self.tick:
            return []
        prev, old_bids, old_asks = self.tick, self.bids, self.asks
        self._load(tick)
        bids, asks = diff(old_bids, self.bids), diff(old_asks, self.asks)
        if self._skip:
            self._skip = False
            return []
        bids.sort(reverse=True)
        asks.sort()
        return [self.push([self._data(bids, asks, prev)], "update")]

    def skip_next(self) -> bool:
        self._skip = True
        return True


def topic_key(arg: dict[str, str]) -> str:
    """The stats key of an OKX subscription: ``books:BTC-USDT``."""
    return f"{arg.get('channel')}:{arg.get('instId')}"


class OkxStreams(StreamServer):
    """OKX's v5 public and business WebSocket endpoints over an :class:`OkxVenue`'s market and clock.

    Settable: ``book_snapshot`` (False: no snapshot on subscribing, OKX from August 2026),
    ``idle_timeout`` (30 s), ``subscribe_limit`` (480 an hour), ``book_depth`` (400) and
    the pacing in seconds: ``book_interval`` (0.1), ``trade_interval`` (0.1),
    ``candle_interval`` (0.5), ``ticker_interval`` (0.1); ``liquidations_together`` (False: one
    ``liquidation-orders`` push per instrument; True: one push listing every instrument's orders).
    """

    name = "okx"
    path = PUBLIC

    def __init__(self, venue: OkxVenue, **kwargs: Any) -> None:
        super().__init__(venue, **kwargs)
        self.book_snapshot = False
        self.idle_timeout = 30.0
        self.subscribe_limit = 480
        self.book_depth = 400
        self.book_interval = 0.1
        self.trade_interval = 0.1
        self.candle_interval = 0.5
        self.ticker_interval = 0.1
        self.liquidations_together = False

    def routes(self, path: str) -> bool:
        return path.split("?")[0].rstrip("/") in (PUBLIC, BUSINESS)

    def malformed_frames(self) -> list[str]:
        return ['{"arg":{"channel":"trades"', "<html>502 Bad Gateway</html>",
                dumps({"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": "oops"})]

    @staticmethod
    def error(code: str, msg: str) -> str:
        return dumps({"event": "error", "code": code, "msg": msg, "connId": "sim"})

    async def on_message(self, client: Client, message: str | bytes) -> None:
        text = message.decode() if isinstance(message, bytes) else message
        if text == "ping":
            self.send(client, "pong")
            return
        try:
            request = json.loads(text)
        except ValueError:
            self.send(client, self.error("60012", f"Invalid request: {text[:100]}"))
            return
        op = request.get("op") if isinstance(request, dict) else None
        args = request.get("args") if isinstance(request, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args \
                or not all(isinstance(a, dict) for a in args):
            self.send(client, self.error("60012", f"Invalid request: {text[:100]}"))
            return
        self.stats.subscribe_messages += 1
        if not self.subscribe_allowed(client, self.subscribe_limit):
            self.send(client, self.error("60014", "Requests too frequent."))
            return
        for arg in args:
            if op == "unsubscribe":
                self.unsubscribe(client, topic_key(arg))
                self.send(client, dumps({"event": "unsubscribe", "arg": arg, "connId": "sim"}))
                continue
            feed = self._feed(client, arg)
            if feed is None:
                self.send(client, self.error(
                    "60018", f"Wrong URL or channel:{arg.get('channel')},instId:{arg.get('instId')} "
                             "doesn't exist. Please use the correct URL, channel and parameters"))
                continue
            self.subscribe(client, feed, ack=dumps({"event": "subscribe", "arg": arg, "connId": "sim"}))

    def _feed(self, client: Client, arg: dict[str, Any]) -> Feed | None:
        channel, wanted = str(arg.get("channel")), str(arg.get("instId"))
        business = str(client.state.get("path", "")).split("?")[0].rstrip("/") == BUSINESS
        if channel == "liquidation-orders" and not business:  # one subscription per instType
            if arg.get("instType") != "SWAP":
                return None
            key = topic_key(arg)  # as unsubscribe names it
            if key not in self.feeds:
                from tradeflood.testing._liquidation_feeds import OkxLiquidations

                return OkxLiquidations(key, {"channel": channel, "instType": "SWAP"}, self.venue.market,
                                       self.trade_interval, self.liquidations_together)
            return self.feeds[key]
        if channel in ("funding-rate", "open-interest") and not business:  # swaps only
            key = topic_key(arg)
            if key in self.feeds:
                return self.feeds[key]
            from tradeflood.testing._funding_feeds import okx_feed

            return okx_feed(key, channel, wanted, self.venue.market, self.ticker_interval)
        inst = next((i for i in self.venue.market.instruments if wire.inst_id(i) == wanted), None)
        if business and channel.startswith(("mark-price-candle", "index-candle")):
            return self._price_candles(channel, wanted)
        known = channel in CANDLE_CHANNELS if business else channel in ("trades", "tickers", "books")
        if inst is None or not known:
            return None
        key = topic_key(arg)
        if key in self.feeds:
            return self.feeds[key]
        common = ({"channel": channel, "instId": wanted}, inst, self.venue.market)
        if channel in CANDLE_CHANNELS:
            return _Candles(CANDLE_CHANNELS[channel], *common, self.candle_interval)
        if channel == "trades":
            return _Trades(*common, self.trade_interval)
        if channel == "tickers":
            return _Ticker(*common, self.ticker_interval)
        return _Book(self.book_depth, self.book_snapshot, *common, self.book_interval)

    def _price_candles(self, channel: str, wanted: str) -> Feed | None:
        """``mark-price-candle<bar>`` of a swap or ``index-candle<bar>`` of an index."""
        index = channel.startswith("index-candle")
        kind = "index" if index else "mark"
        bar = channel.removeprefix("index-candle" if index else "mark-price-candle")
        grid = BARS.get(bar)
        inst = next((i for i in self.venue.market.of_kind("perp")
                     if wire.inst_id(i).removesuffix("-SWAP" if index else "") == wanted), None)
        if grid is None or inst is None:
            return None
        arg = {"channel": channel, "instId": wanted}
        key = topic_key(arg)
        if key in self.feeds:
            return self.feeds[key]
        return _PriceCandles(kind, grid, arg, inst, self.venue.market, self.candle_interval)

    async def watch(self, client: Client) -> None:
        await self.close_when_idle(client, self.idle_timeout, 4004, "No data received in 30s.")
