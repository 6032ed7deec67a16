"""Binance: spot (``/api/v3`` on api.binance.com) and USDⓈ-M futures (``/fapi/v1`` on
fapi.binance.com) public market data over REST. Endpoints, weights and error mapping only.

Binance limits request *weight* per IP per clock minute: 6000 on spot and 2400 on
USDⓈ-M futures (``rateLimits`` REQUEST_WEIGHT of each ``exchangeInfo``). Each
reply carries the IP's weight used in the current minute in
``X-MBX-USED-WEIGHT-1M``; :meth:`Binance.used_weight` hands it to the executor
so the local limiter follows the venue's own count. Errors come back as
``{"code": -1121, "msg": "Invalid symbol."}`` (negative codes), usually with
HTTP 4xx; 429 means slow down and 418 an IP ban, both with ``Retry-After``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from tradeflood import Ban, Connector, Limit, Param, Params, Reply, Turn, turn
from tradeflood.streams import Frame, StreamProtocol, Topic

__all__ = ["FUTURES_DEPTHS", "SPOT_DEPTHS", "Binance", "BinanceFuturesStream", "BinanceStream"]

#: Depths the order-book endpoints accept. Spot takes any limit up to 5000; these
#: are the values its weight table is drawn on. Futures accepts exactly these.
SPOT_DEPTHS = (5, 10, 20, 50, 100, 500, 1000, 5000)
FUTURES_DEPTHS = (5, 10, 20, 50, 100, 500, 1000)

_USED_WEIGHT = "x-mbx-used-weight-1m"
_MISSING: Any = object()  # a key absent, told apart from a JSON null
_BANNED_UNTIL = re.compile(rb"banned until (\d{10,16})", re.IGNORECASE)


def _limit(params: Mapping[str, Any], default: int) -> int:
    value = params.get("limit")
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def spot_depth_weight(params: Mapping[str, Any]) -> int:
    """GET /api/v3/depth: 5 up to 100 levels, 25 up to 500, 50 up to 1000, 250 beyond
    (default limit 100)."""
    limit = _limit(params, 100)
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def futures_depth_weight(params: Mapping[str, Any]) -> int:
    """GET /fapi/v1/depth: 2 for 5-50 levels, 5 for 100, 10 for 500, 20 for 1000
    (default limit 500)."""
    limit = _limit(params, 500)
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def futures_klines_weight(params: Mapping[str, Any]) -> int:
    """GET /fapi/v1/klines: limit in [1,100) 1, [100,500) 2, [500,1000] 5, above 10
    (default limit 500)."""
    limit = _limit(params, 500)
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by lower-case name, from httpx.Headers or a plain dict of any case."""
    value = headers.get(name)
    if value is None:
        value = headers.get(name.upper())
    if value is None:
        for key, item in headers.items():
            if key.lower() == name:
                return item
    return value


class BinanceStream(StreamProtocol):
    """Binance spot market streams (``wss://stream.binance.com:9443``), combined form.

    Connects to ``/stream?streams=a/b`` and adds topics with
    ``{"method": "SUBSCRIBE", "params": [...], "id": n}``; data comes wrapped as
    ``{"stream": name, "data": payload}``. Binance's WebSocket Streams docs: at
    most 5 incoming messages per second per connection and 1024 streams per
    connection; the server sends a ping frame every 20 s and drops a client
    whose pong is late (the WebSocket library answers pings itself).
    """

    max_topics = 1024
    max_messages_per_second = 5.0
    max_topics_per_message = 200
    #: Topics named in the URL itself on (re)connection; the rest are subscribed by frames.
    max_topics_in_url = 100

    def in_url(self, topics: Sequence[Topic]) -> Sequence[Topic]:
        return topics[: self.max_topics_in_url]

    def url(self, base: str, named: Sequence[Topic]) -> str:
        if not named:
            return f"{base}/stream"
        return f"{base}/stream?streams={'/'.join(t.name for t in named)}"

    def subscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        return _method("SUBSCRIBE", topics, request_id)

    def unsubscribe(self, topics: Sequence[Topic], request_id: int) -> str:
        return _method("UNSUBSCRIBE", topics, request_id)

    def decode(self, raw: str | bytes) -> Frame:
        message = orjson.loads(raw)
        if type(message) is not dict:
            raise ValueError("a Binance frame must be a JSON object")
        stream = message.get("stream")
        if stream is not None:
            data = message.get("data", _MISSING)
            if type(stream) is not str or data is _MISSING:
                raise ValueError("a Binance combined-stream frame needs 'stream' and 'data'")
            return Frame("data", stream, data)
        if "error" in message:
            error = message["error"]
            detail = f"{error.get('code')}: {error.get('msg')}" if isinstance(error, dict) else str(error)
            return Frame("error", None, detail=detail, extra={"id": message.get("id")})
        if "result" in message and "id" in message:
            return Frame("ack", None, extra={"id": message["id"]})
        return Frame("ignore")


class BinanceFuturesStream(BinanceStream):
    """Binance USD-M futures market streams (``wss://fstream.binance.com``).

    As spot, but the docs allow 10 incoming messages per second per connection;
    the server pings every 3 minutes.
    """

    max_messages_per_second = 10.0


def _method(method: str, topics: Sequence[Topic], request_id: int) -> str:
    return orjson.dumps({"method": method, "params": [t.name for t in topics], "id": request_id}).decode()


def _klines_params(symbol: Param, interval: str, start_time: int | None, end_time: int | None,
                   limit: int | None) -> Params:
    return {"symbol": symbol, "interval": interval, "startTime": start_time, "endTime": end_time,
            "limit": limit}


class Binance(Connector, name="binance"):
    """Binance spot and USDⓈ-M futures market data; futures turns use ``api="rest.futures"``."""

    urls = {
        "rest": "https://api.binance.com",
        "rest.futures": "https://fapi.binance.com",
        "ws": "wss://stream.binance.com:9443",
        "ws.futures": "wss://fstream.binance.com",
    }
    streams = {"ws": BinanceStream(), "ws.futures": BinanceFuturesStream()}
    limits = {"spot": Limit(6000, 60.0), "futures": Limit(2400, 60.0)}

    # -- spot (/api/v3) --------------------------------------------------------

    @turn("/api/v3/exchangeInfo", group="spot", weight=20, cache="session")
    def spot_exchange_info(self) -> Params:
        return {}

    @turn("/api/v3/klines", group="spot", weight=2)
    def spot_klines(self, symbol: Param, interval: str, start_time: int | None = None,
                    end_time: int | None = None, limit: int | None = None) -> Params:
        return _klines_params(symbol, interval, start_time, end_time, limit)

    @turn("/api/v3/depth", group="spot", weight=spot_depth_weight)
    def spot_depth(self, symbol: Param, limit: int | None = None) -> Params:
        return {"symbol": symbol, "limit": limit}

    @turn("/api/v3/trades", group="spot", weight=25)
    def spot_trades(self, symbol: Param, limit: int | None = None) -> Params:
        return {"symbol": symbol, "limit": limit}

    @turn("/api/v3/ticker/24hr", group="spot", weight=2)
    def spot_ticker_24hr(self, symbol: Param) -> Params:
        return {"symbol": symbol}

    # -- USDⓈ-M futures (/fapi/v1) ---------------------------------------------

    @turn("/fapi/v1/exchangeInfo", api="rest.futures", group="futures", weight=1,
          cache="session")
    def futures_exchange_info(self) -> Params:
        return {}

    @turn("/fapi/v1/klines", api="rest.futures", group="futures", weight=futures_klines_weight)
    def futures_klines(self, symbol: Param, interval: str, start_time: int | None = None,
                       end_time: int | None = None, limit: int | None = None) -> Params:
        return _klines_params(symbol, interval, start_time, end_time, limit)

    @turn("/fapi/v1/depth", api="rest.futures", group="futures", weight=futures_depth_weight)
    def futures_depth(self, symbol: Param, limit: int | None = None) -> Params:
        return {"symbol": symbol, "limit": limit}

    @turn("/fapi/v1/trades", api="rest.futures", group="futures", weight=5)
    def futures_trades(self, symbol: Param, limit: int | None = None) -> Params:
        return {"symbol": symbol, "limit": limit}

    @turn("/fapi/v1/ticker/24hr", api="rest.futures", group="futures", weight=1)
    def futures_ticker_24hr(self, symbol: Param) -> Params:
        return {"symbol": symbol}

    @turn("/fapi/v1/ticker/bookTicker", api="rest.futures", group="futures", weight=2)
    def futures_book_ticker(self, symbol: Param) -> Params:
        return {"symbol": symbol}

    # -- mark/index price klines and aggregate trades by time --------------------
    # Binance "Market Data" (spot and USDⓈ-M): markPriceKlines (``symbol``) and
    # indexPriceKlines (``pair``) take limit up to 1500 (default 500) and weigh as klines do;
    # aggTrades takes ``startTime``/``endTime`` less than an hour apart, or ``fromId``
    # (inclusive), limit up to 1000 (default 500), oldest first; weight 4 on spot, 20 on futures.

    @turn("/fapi/v1/markPriceKlines", api="rest.futures", group="futures", weight=futures_klines_weight)
    def mark_price_klines(self, symbol: Param, interval: str, start_time: int | None = None,
                          end_time: int | None = None, limit: int | None = None) -> Params:
        return _klines_params(symbol, interval, start_time, end_time, limit)

    @turn("/fapi/v1/indexPriceKlines", api="rest.futures", group="futures", weight=futures_klines_weight)
    def index_price_klines(self, pair: Param, interval: str, start_time: int | None = None,
                           end_time: int | None = None, limit: int | None = None) -> Params:
        return {"pair": pair, "interval": interval, "startTime": start_time, "endTime": end_time,
                "limit": limit}

    @turn("/api/v3/aggTrades", group="spot", weight=4)
    def spot_agg_trades(self, symbol: Param, start_time: int | None = None, end_time: int | None = None,
                        from_id: int | None = None, limit: int | None = None) -> Params:
        return {"symbol": symbol, "startTime": start_time, "endTime": end_time, "fromId": from_id,
                "limit": limit}

    @turn("/fapi/v1/aggTrades", api="rest.futures", group="futures", weight=20)
    def futures_agg_trades(self, symbol: Param, start_time: int | None = None, end_time: int | None = None,
                           from_id: int | None = None, limit: int | None = None) -> Params:
        return {"symbol": symbol, "startTime": start_time, "endTime": end_time, "fromId": from_id,
                "limit": limit}

    # -- replies -----------------------------------------------------------------

    def unwrap(self, turn: Turn, reply: Reply) -> Any:
        """The JSON payload, or the typed error: 429/418/5xx first, then a body with a
        negative ``code`` (whatever the HTTP status), then any other HTTP error."""
        return self.unwrap_bare(turn, reply)

    def ban(self, turn: Turn, reply: Reply, now: float) -> Ban | None:
        """Binance's IP ban: HTTP 418 (its status for a banned IP), or any refusal whose message
        says "IP banned until <ms>"; for as long as that time (or ``Retry-After``) says."""
        found = _BANNED_UNTIL.search(reply.body[:500])
        if found is None and reply.status != 418:
            return None
        seconds: float | None = None
        if found is not None:
            seconds = max(0.0, int(found.group(1)) / 1000 - now)
        elif (raw := _header(reply.headers, "retry-after")) is not None and raw.strip().isdigit():
            seconds = float(raw)
        return Ban(f"IP banned (HTTP {reply.status})", seconds)

    def used_weight(self, turn: Turn, reply: Reply, now: float) -> tuple[str, int, float] | None:
        """``(group, X-MBX-USED-WEIGHT-1M, seconds to the next UTC minute)``.

        Binance counts weight in fixed clock minutes, so the count resets at the
        next minute boundary. The futures bookTicker's header is documented as
        inaccurate, so it is not reported.
        """
        if turn.path == "/fapi/v1/ticker/bookTicker" or turn.group not in ("spot", "futures"):
            return None  # the header counts request weight, which other groups do not hold
        raw = _header(reply.headers, _USED_WEIGHT)
        try:
            used = int(raw) if raw is not None else None
        except ValueError:
            return None
        if used is None or used < 0:
            return None
        return turn.group, used, 60.0 - (now % 60.0)

    # -- funding rates and open interest -----------------------------------------
    # USDⓈ-M futures docs, "Market Data": Mark Price (premiumIndex, weight 1 with a symbol),
    # Get Funding Rate History (``limit`` default 100, max 1000, ascending from ``startTime``;
    # it shares a 500 requests / 5 minutes / IP limit with fundingInfo), Open Interest
    # (weight 1) and Open Interest Statistics (``futures/data/openInterestHist``: ``period``
    # 5m..1d, ``limit`` default 30, max 500, only the latest month; 1000 requests / 5 minutes
    # / IP). The last two limits are request counts, not weight, so they have groups of their own.
    limits = {**limits, "futures-funding-rate": Limit(500, 300.0), "futures-data": Limit(1000, 300.0)}

    @turn("/fapi/v1/premiumIndex", api="rest.futures", group="futures", weight=1)
    def premium_index(self, symbol: Param) -> Params:
        """Mark and index price, the rate of the next funding (``lastFundingRate``) and its time."""
        return {"symbol": symbol}

    @turn("/fapi/v1/fundingRate", api="rest.futures", group="futures-funding-rate")
    def funding_rate_history(self, symbol: Param, start_time: int | None = None, end_time: int | None = None,
                             limit: int | None = None) -> Params:
        """Settled rates ``[{symbol, fundingRate, fundingTime, markPrice}]`` in ``[startTime, endTime]``."""
        return {"symbol": symbol, "startTime": start_time, "endTime": end_time, "limit": limit}

    @turn("/fapi/v1/fundingInfo", api="rest.futures", group="futures-funding-rate", cache="session")
    def funding_info(self) -> Params:
        """``[{symbol, adjustedFundingRateCap, adjustedFundingRateFloor, fundingIntervalHours}]``
        of the symbols whose cap, floor or interval Binance adjusted (Get Funding Rate Info:
        weight 0, in the 500 / 5 minutes / IP shared with fundingRate); one list for all
        symbols, kept for the session like the instrument lists."""
        return {}

    @turn("/fapi/v1/openInterest", api="rest.futures", group="futures", weight=1)
    def open_interest(self, symbol: Param) -> Params:
        """``{openInterest (base), symbol, time}``."""
        return {"symbol": symbol}

    @turn("/futures/data/openInterestHist", api="rest.futures", group="futures-data")
    def open_interest_hist(self, symbol: Param, period: str, start_time: int | None = None,
                           end_time: int | None = None, limit: int | None = None) -> Params:
        """``[{symbol, sumOpenInterest, sumOpenInterestValue, timestamp}]``, oldest first."""
        return {"symbol": symbol, "period": period, "startTime": start_time, "endTime": end_time,
                "limit": limit}
