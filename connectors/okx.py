"""OKX's public v5 REST API: spot and USDT-margined perpetual swaps, declared as turns.

Endpoints only: what is sent where, the rate-limit group each request is
charged to, and how OKX's ``{"code", "msg", "data"}`` envelope maps onto
TradeFlood's errors. Parsing lives in ``tradeflood.bindings.okx``::

    api = Okx()
    page = api.history_candles("BTC-USDT", "1H", after=1701011781033, before=1699931781032, limit=300)
    page.path                               # '/api/v5/market/history-candles'

Sources (OKX API v5 docs, www.okx.com/docs-v5/en, "Market Data" and "Public
Data"): every endpoint states its own limit per IP, over 2 seconds:
``market/candles`` 40/2s, ``market/history-candles`` 20/2s, ``market/books``
40/2s, ``market/trades`` 100/2s, ``market/ticker`` 20/2s, ``market/tickers``
20/2s, ``public/instruments`` 20/2s (per IP and instType). Over the limit the
venue answers HTTP 429 with ``{"code": "50011", "msg": "Too Many Requests"}``.
WebSocket ("WebSocket API" overview): 3 connection requests a second per IP;
480 subscribe/unsubscribe/login requests an hour per connection; the server
closes a connection that receives nothing for 30 seconds, so the client sends
the text ``ping`` (answered ``pong``) when it has heard nothing for N < 30 s.
Candle channels are served on the ``business`` endpoint, the others on ``public``.
"""

from __future__ import annotations

from typing import Any

from tradeflood import Connector, Limit, Param, Params, Reply, Turn, turn
from tradeflood.streams import Frame, OpArgsProtocol, Topic

__all__ = ["LIQUIDATIONS", "Okx", "OkxStream", "topic_name"]

#: The public channel of liquidation orders.
LIQUIDATIONS = "liquidation-orders"

# What to do about the error codes public market-data requests meet most (OKX's error-code
# table, "REST API" section 50000-51000; messages come from the venue itself).
_HINTS = {
    "51001": "the venue does not know this instrument; check the instrument list",
    "51000": "a parameter has a value the venue refuses",
    "50014": "a required parameter is missing",
    "50011": "rate limited: slow down",
}


class OkxStream(OpArgsProtocol):
    """OKX's v5 public WebSocket (``wss://ws.okx.com:8443/ws/v5/public``, and ``/business``).

    Subscribe ``{"op": "subscribe", "args": [{"channel", "instId"}]}``; pushes come as
    ``{"arg": {...}, "action": "snapshot"|"update" (books only), "data": [...]}``.
    The rule on heartbeats is the venue's: send ``ping`` when nothing has come for
    N < 30 seconds. The core pings on a fixed period; 25 s keeps every silence of
    the connection under 30 s (a ping on a busy connection is harmless).
    At most 480 subscribe requests an hour per connection: with 3 frames a second
    and 50 topics a frame, resubscribing is paced well inside it for normal use.
    """

    max_topics = 100
    max_messages_per_second = 3.0
    max_topics_per_message = 50
    ping_every = 25.0

    venue_label = "OKX"

    def topic_name(self, arg: dict[str, Any]) -> str:
        return topic_name(arg)

    def wire_args(self, topic: Topic) -> dict[str, Any]:
        # Only channel, instId and instType go on the wire; other args are the binding's own notes.
        return {k: v for k, v in topic.args if k in ("channel", "instId", "instType")}

    # ``liquidation-orders`` is subscribed per instType (every swap at once); a push names its
    # instruments in its data, so each instrument's records go to a topic of their own,
    # ``liquidation-orders:BTC-USDT-SWAP`` (the docs allow several instruments in one push).
    # The symbols' topics share the one venue subscription (``liquidation-orders:SWAP``): it is
    # sent once, and unsubscribed only when the last symbol's stream ends.
    def subscription(self, topic: Topic) -> str:
        if topic.name.startswith(f"{LIQUIDATIONS}:"):
            return topic_name(self.wire_args(topic))  # as the venue's replies name it
        return topic.name

    def decode(self, raw: str | bytes) -> Frame:
        frame = super().decode(raw)
        if frame.kind == "data" and frame.topic is not None and frame.topic.startswith(LIQUIDATIONS):
            return _by_instrument(frame)
        return frame


def _by_instrument(frame: Frame) -> Frame:
    """A liquidation-orders push split by ``instId``: one frame per instrument, in push order."""
    data = frame.payload
    if not isinstance(data, list):
        raise ValueError(f"an OKX {LIQUIDATIONS} push's data must be a list")
    records: dict[str, list[Any]] = {}
    for rec in data:
        inst_id = rec.get("instId") if isinstance(rec, dict) else None
        if not isinstance(inst_id, str) or not inst_id:
            raise ValueError(f"an OKX {LIQUIDATIONS} record must name its instId: {rec!r:.100}")
        records.setdefault(inst_id, []).append(rec)
    frames = [Frame("data", f"{LIQUIDATIONS}:{inst_id}", recs, action=frame.action)
              for inst_id, recs in records.items()]
    if len(frames) == 1:
        return frames[0]
    return Frame.many(frames) if frames else Frame("ignore")


def topic_name(arg: dict[str, Any]) -> str:
    """How TradeFlood names an OKX topic: ``channel:instId`` (``books:BTC-USDT``), or
    ``channel:instType`` for a channel of every instrument of a type (``liquidation-orders:SWAP``)."""
    if arg.get("instId") is None and arg.get("instType") is not None:
        return f"{arg.get('channel')}:{arg.get('instType')}"
    return f"{arg.get('channel')}:{arg.get('instId')}"



class Okx(Connector, name="okx"):
    """OKX v5 public market data: one set of endpoints for spot (``BTC-USDT``) and
    swaps (``BTC-USDT-SWAP``), told apart by the instrument id."""

    urls = {
        "rest": "https://www.okx.com",
        "ws": "wss://ws.okx.com:8443/ws/v5/public",
        "ws.business": "wss://ws.okx.com:8443/ws/v5/business",
    }
    streams = {"ws": OkxStream(), "ws.business": OkxStream()}
    limits = {
        "instruments": Limit(20, 2.0),
        "candles": Limit(40, 2.0),
        "history-candles": Limit(20, 2.0),
        "books": Limit(40, 2.0),
        "trades": Limit(100, 2.0),
        "ticker": Limit(20, 2.0),
    }

    @turn("/api/v5/public/instruments", group="instruments", cache="session")
    def instruments(self, inst_type: str) -> Params:
        """``instType`` SPOT or SWAP (the limit is per IP and instType; one group serves both
        since a session fetches each list once)."""
        return {"instType": inst_type}

    # -- candles -----------------------------------------------------------
    # ``after``: rows older than this ts (exclusive); ``before``: rows newer than this ts
    # (exclusive). Both endpoints: limit up to 300, default 100, newest first ("GET /
    # Candlesticks history": "The maximum is 300. The default is 100").
    @turn("/api/v5/market/candles", group="candles")
    def candles(self, inst_id: Param, bar: str, after: int | None = None, before: int | None = None,
                limit: int | None = None) -> Params:
        """The latest 1,440 bars of ``bar`` at most."""
        return {"instId": inst_id, "bar": bar, "after": after, "before": before, "limit": limit}

    @turn("/api/v5/market/history-candles", group="history-candles")
    def history_candles(self, inst_id: Param, bar: str, after: int | None = None,
                        before: int | None = None, limit: int | None = None) -> Params:
        """Bars of any age (from 2016 on)."""
        return {"instId": inst_id, "bar": bar, "after": after, "before": before, "limit": limit}

    # -- books, trades, tickers --------------------------------------------
    @turn("/api/v5/market/books", group="books")
    def books(self, inst_id: Param, sz: int | None = None) -> Params:
        """``sz`` levels a side, 1..400 (the venue's default is 1). The reply's ``seqId`` is
        documented ("Sequence ID of the current message"); replies recorded in 2024 lack it."""
        return {"instId": inst_id, "sz": sz}

    @turn("/api/v5/market/trades", group="trades")
    def trades(self, inst_id: Param, limit: int | None = None) -> Params:
        """The most recent trades: ``limit`` default 100, at most 500."""
        return {"instId": inst_id, "limit": limit}

    @turn("/api/v5/market/ticker", group="ticker")
    def ticker(self, inst_id: Param) -> Params:
        return {"instId": inst_id}

    # -- mark/index price candles and trade history ------------------------
    # OKX API v5 "Market Data": mark-price-candles and index-candles 20/2s and the latest
    # 1,440 bars; history-mark-price-candles and history-index-candles 10/2s, any age; all
    # four take limit up to 100 and page like candles (after/before, newest first).
    # history-trades 20/2s: type=1 pages by tradeId, type=2 by timestamp (``after`` only:
    # "before ... Do not support timestamp for pagination"), limit up to 100, newest first,
    # the last 3 months (www.okx.com/docs-v5/en/#order-book-trading-market-data-get-trades-history).
    limits = {**limits,
              "mark-price-candles": Limit(20, 2.0), "history-mark-price-candles": Limit(10, 2.0),
              "index-candles": Limit(20, 2.0), "history-index-candles": Limit(10, 2.0),
              "history-trades": Limit(20, 2.0)}

    @turn("/api/v5/market/mark-price-candles", group="mark-price-candles")
    def mark_price_candles(self, inst_id: Param, bar: str, after: int | None = None,
                           before: int | None = None, limit: int | None = None) -> Params:
        """Mark-price bars of a swap: the latest 1,440."""
        return {"instId": inst_id, "bar": bar, "after": after, "before": before, "limit": limit}

    @turn("/api/v5/market/history-mark-price-candles", group="history-mark-price-candles")
    def history_mark_price_candles(self, inst_id: Param, bar: str, after: int | None = None,
                                   before: int | None = None, limit: int | None = None) -> Params:
        """Mark-price bars of any age."""
        return {"instId": inst_id, "bar": bar, "after": after, "before": before, "limit": limit}

    @turn("/api/v5/market/index-candles", group="index-candles")
    def index_candles(self, index_id: Param, bar: str, after: int | None = None,
                      before: int | None = None, limit: int | None = None) -> Params:
        """Index-price bars (``instId`` is the index, ``BTC-USDT``): the latest 1,440."""
        return {"instId": index_id, "bar": bar, "after": after, "before": before, "limit": limit}

    @turn("/api/v5/market/history-index-candles", group="history-index-candles")
    def history_index_candles(self, index_id: Param, bar: str, after: int | None = None,
                              before: int | None = None, limit: int | None = None) -> Params:
        """Index-price bars of any age."""
        return {"instId": index_id, "bar": bar, "after": after, "before": before, "limit": limit}

    @turn("/api/v5/market/history-trades", group="history-trades")
    def history_trades(self, inst_id: Param, after: int | None = None,
                       limit: int | None = None) -> Params:
        """Trades by time (``type=2``): older than ``after`` (exclusive, ms), newest first. OKX's
        ``before`` takes a tradeId only ("Do not support timestamp for pagination"), so it
        is not offered here; paging on by id sets ``type=1`` and ``after`` to a tradeId."""
        return {"instId": inst_id, "type": 2, "after": after, "limit": limit}

    # -- replies -----------------------------------------------------------
    def unwrap(self, turn: Turn, reply: Reply) -> Any:
        """The envelope's ``data``; a code other than ``"0"`` is the venue's refusal (50011: rate)."""
        return self.unwrap_envelope(turn, reply, success="0", rate_limited=("50011", "50061"),
                                    hints=_HINTS)

    # -- funding rates and open interest -----------------------------------
    # OKX v5 docs, "Public Data": Get funding rate (10 requests / 2 s per IP and instrument),
    # Get funding rate history (10 / 2 s, "Rate limit rule: IP + Instrument ID"; ``limit``
    # "The maximum is 400; The default is 400" (docs as of June 2026): TradeFlood
    # asks 100 a page (bindings/okx/funding.py), newest first, paged by ``after``/``before``
    # on ``fundingTime``; "can return data up to three months"),
    # Get open interest (20 / 2 s per IP and instrument); "Trading Statistics": Get
    # contract open interest history (``rubik/stat/contracts/open-interest-history``,
    # ``period`` 5m..1D, ``limit`` up to 100, rows ``[ts, oi, oiCcy, oiUsd]`` newest first;
    # 10 / 2 s per IP). The per-instrument limits are held here per IP, which is stricter.
    limits = {**limits, "funding-rate": Limit(10, 2.0), "funding-rate-history": Limit(10, 2.0),
              "open-interest": Limit(20, 2.0), "open-interest-history": Limit(10, 2.0)}

    @turn("/api/v5/public/funding-rate", group="funding-rate")
    def funding_rate(self, inst_id: Param) -> Params:
        """The current and next funding rates and times of one swap."""
        return {"instId": inst_id}

    @turn("/api/v5/public/funding-rate-history", group="funding-rate-history")
    def funding_rate_history(self, inst_id: Param, after: int | None = None, before: int | None = None,
                             limit: int | None = None) -> Params:
        """Settled rates older than ``after`` and newer than ``before`` (both exclusive)."""
        return {"instId": inst_id, "after": after, "before": before, "limit": limit}

    @turn("/api/v5/public/open-interest", group="open-interest")
    def open_interest(self, inst_id: Param, inst_type: str = "SWAP") -> Params:
        """``[{instId, instType, oi (contracts), oiCcy (base), oiUsd, ts}]``; OKX: ``oiUsd`` is
        "Open interest in number of USD" (recorded in ../shared/reference okx fetchOpenInterest)."""
        return {"instType": inst_type, "instId": inst_id}

    @turn("/api/v5/rubik/stat/contracts/open-interest-history", group="open-interest-history")
    def open_interest_history(self, inst_id: Param, period: str, begin: int | None = None,
                              end: int | None = None, limit: int | None = None) -> Params:
        """Rows ``[ts, oi, oiCcy, oiUsd]`` newer than ``begin`` and older than ``end``."""
        return {"instId": inst_id, "period": period, "begin": begin, "end": end, "limit": limit}
