"""Bybit's public v5 REST API: spot and USDT linear perpetuals, declared as turns.

Endpoints only: what is sent where, the rate-limit group each request is
charged to, and how Bybit's ``{"retCode", "retMsg", "result", "time"}``
envelope maps onto TradeFlood's errors. Parsing lives in
``tradeflood.bindings.bybit``::

    api = Bybit()
    page = api.kline("spot", "BTCUSDT", "60", start=1704067200000, end=1707667199999, limit=1000)
    page.path                               # '/v5/market/kline'

Sources (Bybit API v5 docs, bybit-exchange.github.io/docs/v5/rate-limit): "You are
allowed to send 600 requests within a 5-second window per IP"; on "403, access too
frequent" "you should terminate all HTTP sessions and wait for at least 10 minutes.
The ban will be lifted automatically" (the body's exact shape is not documented:
any 403 whose text says "too frequent" or "rate limit" is read as the ban).
TradeFlood's limiter keeps under it, so a 403 is never provoked;
when one comes anyway it is a :class:`RateLimitedError` with a 600 s
``retry_after`` (too long to wait for: not retried) unless its body does not
read as Bybit's ban, which makes it a refusal of this IP by someone else (a
proxy, a regional block): a :class:`VenueRejectedError`, which a proxy scheme
answers by carrying the request through another proxy.
WebSocket (``wss://stream.bybit.com/v5/public/spot`` and ``.../linear``): the
client sends ``{"op": "ping"}`` every 20 s; a spot subscribe request carries at
most 10 args; "Do not establish more than 500 connections within a 5-minute window"
(rate-limit page); a connection with neither ping-pong nor data "will be cut off
after 10 minutes" (docs/v5/ws/connect).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from tradeflood import Ban, Connector, Limit, Param, Params, Reply, Turn, turn
from tradeflood.errors import PayloadError, RateLimitedError, VenueRejectedError
from tradeflood.streams import Frame, StreamProtocol, Topic

__all__ = ["BAN_SECONDS", "Bybit", "BybitStream"]

#: How long Bybit bans an IP over its limit (documented as "at least 10 minutes").
BAN_SECONDS = 600.0

_HINTS = {
    10001: "a parameter has a value the venue refuses (symbol, category, interval?)",
    10006: "rate limited: slow down",
}


class BybitStream(StreamProtocol):
    """Bybit's v5 public WebSocket, one path per category (``/v5/public/spot``, ``/linear``).

    Subscribe ``{"op": "subscribe", "args": ["orderbook.50.BTCUSDT"], "req_id": "7"}``; the
    acknowledgement names the request (``req_id``), not the topics. Pushes are
    ``{"topic", "type": "snapshot"|"delta", "ts", "data"}``. The heartbeat is
    ``{"op": "ping"}`` every 20 s (Bybit's recommendation), answered with a ``pong``.
    """

    max_topics = 100
    max_messages_per_second = 5.0
    max_topics_per_message = 10  # spot's documented most; linear takes more
    ping_every = 20.0

    def subscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        return _op("subscribe", topics, request_id)

    def unsubscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        return _op("unsubscribe", topics, request_id)

    def ping_frame(self) -> str | None:
        return '{"op":"ping"}'

    def decode(self, raw: str | bytes) -> Frame:
        message = orjson.loads(raw)
        if not isinstance(message, dict):
            raise ValueError("a Bybit frame must be a JSON object")
        op = message.get("op")
        if op in ("ping", "pong") or message.get("ret_msg") == "pong":
            return Frame("pong")
        if op in ("subscribe", "unsubscribe"):
            req = message.get("req_id")
            extra = {"id": int(req) if isinstance(req, str) and req.isdigit() else req}
            if message.get("success") is False:
                return Frame("error", None, detail=str(message.get("ret_msg")), extra=extra)
            return Frame("ack", None, detail=str(op), extra=extra)
        topic = message.get("topic")
        if not isinstance(topic, str) or "data" not in message:
            if op is not None:
                return Frame("ignore")
            raise ValueError("a Bybit push needs 'topic' and 'data'")
        return Frame("data", topic, message["data"], action=message.get("type"),
                     extra={"ts": message.get("ts")})


def _op(op: str, topics: Sequence[Topic], request_id: int) -> str:
    return orjson.dumps({"op": op, "args": [t.name for t in topics], "req_id": str(request_id)}).decode()


class Bybit(Connector, name="bybit"):
    """Bybit v5 public market data: one set of endpoints, ``category=spot|linear``."""

    urls = {
        "rest": "https://api.bybit.com",
        "ws.spot": "wss://stream.bybit.com/v5/public/spot",
        "ws.linear": "wss://stream.bybit.com/v5/public/linear",
    }
    streams = {"ws.spot": BybitStream(), "ws.linear": BybitStream()}
    limits = {"*": Limit(600, 5.0)}

    @turn("/v5/market/instruments-info", group="market", cache="session")
    def instruments(self, category: str, limit: int | None = None) -> Params:
        """Spot answers every pair at once; linear pages by cursor (``limit`` at most 1000)."""
        return {"category": category, "limit": limit}

    @turn("/v5/market/kline", group="market")
    def kline(self, category: str, symbol: Param, interval: str, start: int | None = None,
              end: int | None = None, limit: int | None = None) -> Params:
        """Bars with ``start <= open <= end``, newest first, ``limit`` up to 1000 (default 200),
        of any age."""
        return {"category": category, "symbol": symbol, "interval": interval, "start": start,
                "end": end, "limit": limit}

    @turn("/v5/market/orderbook", group="market")
    def orderbook(self, category: str, symbol: Param, limit: int | None = None) -> Params:
        """``limit`` levels a side: spot 1..200 (default 1), linear 1..500 (default 25)."""
        return {"category": category, "symbol": symbol, "limit": limit}

    @turn("/v5/market/recent-trade", group="market")
    def recent_trades(self, category: str, symbol: Param, limit: int | None = None) -> Params:
        """``limit``: spot 1..60 (default 60), linear 1..1000 (default 500)."""
        return {"category": category, "symbol": symbol, "limit": limit}

    @turn("/v5/market/tickers", group="market")
    def tickers(self, category: str, symbol: Param | None = None) -> Params:
        return {"category": category, "symbol": symbol}

    # -- mark/index price klines -------------------------------------------
    # Bybit v5 "Market": mark-price-kline and index-price-kline take the kline's parameters
    # (linear and inverse only), limit up to 1000 (default 200), rows [start, o, h, l, c]
    # newest first, any age; the IP limit of 600 requests/5 s covers them as every endpoint.
    # Bybit publishes no trade history by time (recent-trade serves the latest 1000 only).

    @turn("/v5/market/mark-price-kline", group="market")
    def mark_price_kline(self, category: str, symbol: Param, interval: str, start: int | None = None,
                         end: int | None = None, limit: int | None = None) -> Params:
        return {"category": category, "symbol": symbol, "interval": interval, "start": start,
                "end": end, "limit": limit}

    @turn("/v5/market/index-price-kline", group="market")
    def index_price_kline(self, category: str, symbol: Param, interval: str, start: int | None = None,
                          end: int | None = None, limit: int | None = None) -> Params:
        return {"category": category, "symbol": symbol, "interval": interval, "start": start,
                "end": end, "limit": limit}

    # -- replies -----------------------------------------------------------
    def ban(self, turn: Turn, reply: Reply, now: float) -> Ban | None:
        """Bybit's IP ban: HTTP 403 whose body says "access too frequent" (or names the rate
        limit), for about :data:`BAN_SECONDS`. A 403 without those words is someone else's
        refusal of this IP, not a ban by Bybit."""
        if reply.status != 403:
            return None
        text = reply.body[:300].decode("utf-8", "replace").lower()
        if "too frequent" in text or "rate limit" in text:
            return Ban("over 600 requests per 5 s from this IP (HTTP 403)", BAN_SECONDS)
        return None

    def unwrap(self, turn: Turn, reply: Reply) -> Any:
        """The envelope's ``result`` with the envelope's ``time`` added (tickers carry none of
        their own); HTTP 403 is the IP ban (see the module docstring)."""
        if reply.status == 403:
            if self.ban(turn, reply, 0.0) is not None:
                raise RateLimitedError(self.name, turn.path,
                                       "IP banned for about 10 minutes for going over 600 requests/5 s "
                                       "(HTTP 403); it is not retried", status=403,
                                       body=reply.body[:300], retry_after=BAN_SECONDS)
            raise VenueRejectedError(self.name, turn.path,
                                     "HTTP 403 that is not Bybit's rate-limit ban: this IP is refused "
                                     "(a proxy's or a regional block)", status=403, body=reply.body[:300])
        self.raise_for_http(turn, reply)
        body = self.decode(turn, reply)
        if not isinstance(body, dict) or "retCode" not in body:
            raise PayloadError(self.name, turn.path, "the body is not a {retCode, retMsg, result} envelope",
                               reply.body[:200])
        code = str(body["retCode"])
        if code != "0":
            message = str(body.get("retMsg") or "the request was refused without a message")
            if code == "10006":
                raise RateLimitedError(self.name, turn.path, message, status=reply.status, code=code,
                                       body=reply.body[:300])
            hint = _HINTS.get(int(code)) if code.lstrip("-").isdigit() else None
            raise VenueRejectedError(self.name, turn.path, f"{message} ({hint})" if hint else message,
                                     status=reply.status, code=code, body=reply.body[:300])
        result = body.get("result")
        if not isinstance(result, dict):
            raise PayloadError(self.name, turn.path, "the envelope's result is not an object",
                               reply.body[:200])
        return {**result, "time": body.get("time")}

    # -- funding rates and open interest -----------------------------------
    # Bybit v5 docs, "Market": the current rate, mark/index prices and open interest come on
    # ``tickers`` (linear; ``fundingIntervalHour`` appears in live replies but not in the
    # documented field list, so it is read when present, never required); instruments-info
    # states ``fundingInterval`` as "Funding interval (minute)" (docs/v5/market/instrument);
    # Get Funding Rate History (``limit`` 1..200, default 200; newest
    # first; ``startTime`` only with ``endTime``); Get Open Interest (``intervalTime``
    # 5min/15min/30min/1h/4h/1d, ``limit`` 1..200, default 50, newest first, ``cursor``).
    # Both count in the 600 requests / 5 s per IP of every market endpoint.

    @turn("/v5/market/funding/history", group="market")
    def funding_history(self, category: str, symbol: Param, start_time: int | None = None,
                        end_time: int | None = None, limit: int | None = None) -> Params:
        """``{"list": [{symbol, fundingRate, fundingRateTimestamp}]}`` in ``[startTime, endTime]``."""
        return {"category": category, "symbol": symbol, "startTime": start_time, "endTime": end_time,
                "limit": limit}

    @turn("/v5/market/open-interest", group="market")
    def open_interest(self, category: str, symbol: Param, interval_time: str, start_time: int | None = None,
                      end_time: int | None = None, limit: int | None = None) -> Params:
        """``{"list": [{openInterest (base for linear), timestamp}]}`` in ``[startTime, endTime]``."""
        return {"category": category, "symbol": symbol, "intervalTime": interval_time,
                "startTime": start_time, "endTime": end_time, "limit": limit}
