"""Bitget's public v2 REST API: spot and USDT-margined perpetual market data, declared as turns.

Endpoints only: what is sent where, the rate-limit group each request is
charged to, and how Bitget's ``{"code", "msg", "requestTime", "data"}``
envelope maps onto TradeFlood's errors. Parsing lives in
``tradeflood.bindings.bitget``::

    api = Bitget()
    page = api.spot_candles("BTCUSDT", "1h", start_time=1704067200000,
                            end_time=1707667199999, limit=1000)
    page.path                               # '/api/v2/spot/market/candles'

Sources (Bitget API docs, www.bitget.com/api-doc): every market endpoint
states its own frequency limit per IP: 20 requests/1s, except spot
``market/fills`` (Get Recent Trades) at 10 requests/1s. No venue-wide IP
limit is documented for v2 market data, so there is no ``*`` group.
"""

from __future__ import annotations

from typing import Any

from tradeflood import Connector, Limit, Param, Params, Reply, Turn, turn
from tradeflood.streams import OpArgsProtocol

__all__ = ["USDT_FUTURES", "Bitget", "BitgetStream", "topic_name"]

#: The ``productType`` of USDT-margined futures, the only futures family served so far.
USDT_FUTURES = "USDT-FUTURES"

_PER_SECOND_20 = Limit(20, 1.0)

# What to do about the error codes public market-data requests meet most
# (Bitget's common error-code table; messages come from the venue itself).
_HINTS = {
    "40034": "the venue does not know this symbol or parameter value; check the instrument list",
    "40019": "a required parameter is missing",
    "40020": "a parameter has a value the venue refuses",
    "40808": "a parameter failed the venue's validation",
    "40404": "the endpoint does not exist; check the base URL override",
}


class BitgetStream(OpArgsProtocol):
    """Bitget's public v2 WebSocket (``wss://ws.bitget.com/v2/ws/public``).

    Subscribe ``{"op": "subscribe", "args": [{"instType", "channel", "instId"}]}``;
    pushes come as ``{"action": "snapshot"|"update", "arg": {...}, "data": [...]}``.
    Bitget's WebSocket docs: the client sends the text ``ping`` every 30 s (the
    server closes a connection that sent nothing for 2 minutes) and gets
    ``pong``; at most 10 messages per second per connection, pings included;
    up to 1000 channels per connection, fewer than 50 recommended for a stable
    connection, which is what this uses.
    """

    max_topics = 50
    max_messages_per_second = 10.0
    max_topics_per_message = 50
    ping_every = 30.0

    venue_label = "Bitget"

    def topic_name(self, arg: dict[str, Any]) -> str:
        return topic_name(arg)


def topic_name(arg: dict[str, Any]) -> str:
    """How TradeFlood names a Bitget topic: ``instType/channel/instId`` (``SPOT/trade/BTCUSDT``)."""
    return f"{arg.get('instType')}/{arg.get('channel')}/{arg.get('instId')}"



def _mix_candle_params(symbol: Param, granularity: str, start_time: int | None, end_time: int | None,
                       limit: int | None, product_type: str) -> Params:
    return {"symbol": symbol, "productType": product_type, "granularity": granularity,
            "startTime": start_time, "endTime": end_time, "limit": limit}


class Bitget(Connector, name="bitget"):
    """Bitget v2 public market data: spot under ``/api/v2/spot``, USDT-M perpetuals
    under ``/api/v2/mix`` with ``productType=USDT-FUTURES``."""

    urls = {"rest": "https://api.bitget.com", "ws": "wss://ws.bitget.com/v2/ws/public"}
    streams = {"ws": BitgetStream()}
    limits = {
        "spot-symbols": _PER_SECOND_20,
        "spot-candles": _PER_SECOND_20,
        "spot-history-candles": _PER_SECOND_20,
        "spot-orderbook": _PER_SECOND_20,
        "spot-fills": Limit(10, 1.0),
        "spot-tickers": _PER_SECOND_20,
        "mix-contracts": _PER_SECOND_20,
        "mix-candles": _PER_SECOND_20,
        "mix-history-candles": _PER_SECOND_20,
        "mix-merge-depth": _PER_SECOND_20,
        "mix-fills": _PER_SECOND_20,
        "mix-ticker": _PER_SECOND_20,
    }

    # -- instrument lists --------------------------------------------------
    @turn("/api/v2/spot/public/symbols", group="spot-symbols", cache="session")
    def spot_symbols(self) -> Params:
        return {}

    @turn("/api/v2/mix/market/contracts", group="mix-contracts", cache="session")
    def contracts(self, product_type: str = USDT_FUTURES) -> Params:
        return {"productType": product_type}

    # -- candles -----------------------------------------------------------
    # Recent endpoints: limit up to 1000, reach back a granularity-dependent
    # window. History endpoints: limit up to 200, any age. Spot history takes
    # no startTime (endTime is required); mix endpoints take a range of at
    # most 90 days.
    @turn("/api/v2/spot/market/candles", group="spot-candles")
    def spot_candles(
        self, symbol: Param, granularity: str, start_time: int | None = None,
        end_time: int | None = None, limit: int | None = None,
    ) -> Params:
        return {"symbol": symbol, "granularity": granularity, "startTime": start_time,
                "endTime": end_time, "limit": limit}

    @turn("/api/v2/spot/market/history-candles", group="spot-history-candles")
    def spot_history_candles(
        self, symbol: Param, granularity: str, end_time: int, limit: int | None = None,
    ) -> Params:
        return {"symbol": symbol, "granularity": granularity, "endTime": end_time, "limit": limit}

    # The two mix candle endpoints take the same parameters; they differ in reach and page size.
    @turn("/api/v2/mix/market/candles", group="mix-candles")
    def mix_candles(
        self, symbol: Param, granularity: str, start_time: int | None = None,
        end_time: int | None = None, limit: int | None = None,
        product_type: str = USDT_FUTURES,
    ) -> Params:
        return _mix_candle_params(symbol, granularity, start_time, end_time, limit, product_type)

    @turn("/api/v2/mix/market/history-candles", group="mix-history-candles")
    def mix_history_candles(
        self, symbol: Param, granularity: str, start_time: int | None = None,
        end_time: int | None = None, limit: int | None = None,
        product_type: str = USDT_FUTURES,
    ) -> Params:
        return _mix_candle_params(symbol, granularity, start_time, end_time, limit, product_type)

    # -- order books -------------------------------------------------------
    @turn("/api/v2/spot/market/orderbook", group="spot-orderbook")
    def spot_orderbook(
        self, symbol: Param, limit: int | None = None, step: str | None = None,
    ) -> Params:
        """``limit`` 1..150 (default 150); ``step`` merges levels: step0 (none) .. step5."""
        return {"symbol": symbol, "limit": limit, "type": step}

    @turn("/api/v2/mix/market/merge-depth", group="mix-merge-depth")
    def mix_merge_depth(
        self, symbol: Param, limit: str | None = None, precision: str | None = None,
        product_type: str = USDT_FUTURES,
    ) -> Params:
        """``limit`` is one of the fixed levels 1/5/15/50/max (100 when absent);
        ``precision`` scale0 (not merged, the default) .. scale3."""
        return {"symbol": symbol, "productType": product_type, "limit": limit,
                "precision": precision}

    # -- trades and tickers ------------------------------------------------
    @turn("/api/v2/spot/market/fills", group="spot-fills")
    def spot_trades(self, symbol: Param, limit: int | None = None) -> Params:
        """The most recent trades: ``limit`` default 100, at most 500."""
        return {"symbol": symbol, "limit": limit}

    @turn("/api/v2/mix/market/fills", group="mix-fills")
    def mix_trades(
        self, symbol: Param, limit: int | None = None, product_type: str = USDT_FUTURES,
    ) -> Params:
        """The most recent trades: ``limit`` default 100, at most 100."""
        return {"symbol": symbol, "productType": product_type, "limit": limit}

    @turn("/api/v2/spot/market/tickers", group="spot-tickers")
    def spot_tickers(self, symbol: Param | None = None) -> Params:
        """One symbol's ticker, or every spot symbol's without ``symbol``."""
        return {"symbol": symbol}

    @turn("/api/v2/mix/market/ticker", group="mix-ticker")
    def mix_ticker(self, symbol: Param, product_type: str = USDT_FUTURES) -> Params:
        return {"symbol": symbol, "productType": product_type}

    # -- mark/index price candles and trade history ------------------------
    # Bitget v2 "Market" (mix): ``candles`` with ``kLineType`` MARK or INDEX (upper case:
    # "MARKET tick; MARK mark; INDEX index; MARKET by default", Get-Candle-Data; the recent
    # endpoint, 1000 rows, the same look-back as trade candles: "1m, 3m, and 5m ... up to one
    # month; 15m ... 52 days; 30m ... 62 days; 1H ... 83 days; 2H ... 120 days; 4H ... 240
    # days; 6H ... 360 days"); ``history-mark-candles`` and
    # ``history-index-candles`` (200 rows, any age, a span of at most 90 days); 20/s each.
    # ``fills-history`` (spot and mix): trades of the last 90 days, ``limit`` up to 1000,
    # newest first, ``startTime``/``endTime`` (a span of at most 7 days) and ``idLessThan``
    # to page on; 10/s each.
    limits = {**limits, "mix-history-mark-candles": _PER_SECOND_20,
              "mix-history-index-candles": _PER_SECOND_20,
              "spot-fills-history": Limit(10, 1.0), "mix-fills-history": Limit(10, 1.0)}

    @turn("/api/v2/mix/market/candles", group="mix-candles")  # one endpoint, one 20/s limit
    def mix_price_candles(
        self, symbol: Param, granularity: str, kline_type: str, start_time: int | None = None,
        end_time: int | None = None, limit: int | None = None, product_type: str = USDT_FUTURES,
    ) -> Params:
        """Recent mark (``kline_type="MARK"``) or index (``"INDEX"``) bars."""
        return {**_mix_candle_params(symbol, granularity, start_time, end_time, limit, product_type),
                "kLineType": kline_type}

    @turn("/api/v2/mix/market/history-mark-candles", group="mix-history-mark-candles")
    def mix_history_mark_candles(
        self, symbol: Param, granularity: str, start_time: int | None = None,
        end_time: int | None = None, limit: int | None = None, product_type: str = USDT_FUTURES,
    ) -> Params:
        return _mix_candle_params(symbol, granularity, start_time, end_time, limit, product_type)

    @turn("/api/v2/mix/market/history-index-candles", group="mix-history-index-candles")
    def mix_history_index_candles(
        self, symbol: Param, granularity: str, start_time: int | None = None,
        end_time: int | None = None, limit: int | None = None, product_type: str = USDT_FUTURES,
    ) -> Params:
        return _mix_candle_params(symbol, granularity, start_time, end_time, limit, product_type)

    @turn("/api/v2/spot/market/fills-history", group="spot-fills-history")
    def spot_fills_history(self, symbol: Param, start_time: int | None = None, end_time: int | None = None,
                           id_less_than: str | None = None, limit: int | None = None) -> Params:
        return {"symbol": symbol, "startTime": start_time, "endTime": end_time,
                "idLessThan": id_less_than, "limit": limit}

    @turn("/api/v2/mix/market/fills-history", group="mix-fills-history")
    def mix_fills_history(self, symbol: Param, start_time: int | None = None, end_time: int | None = None,
                          id_less_than: str | None = None, limit: int | None = None,
                          product_type: str = USDT_FUTURES) -> Params:
        return {"symbol": symbol, "productType": product_type, "startTime": start_time,
                "endTime": end_time, "idLessThan": id_less_than, "limit": limit}

    # -- replies -----------------------------------------------------------
    def unwrap(self, turn: Turn, reply: Reply) -> Any:
        """The envelope's ``data``; a code other than ``"00000"`` is the venue's refusal."""
        return self.unwrap_envelope(turn, reply, success="00000", rate_limited=("429",), hints=_HINTS)

    # -- funding rates and open interest -----------------------------------
    # Bitget API v2 docs, "Futures > Market": Get Current Funding Rate, Get Historical Funding
    # Rates and Get Open Interest, each 20 requests/second per IP. The history takes no time
    # range: ``pageSize`` "Default: 20, maximum: 100" and ``pageNo`` "page number", newest
    # first (www.bitget.com/api-doc/contract/market/Get-History-Funding-Rate).
    # ``fundingRateInterval`` (hours, a string: "8") is in the recorded reply of
    # ../shared/reference bitget fetchFundingRate. Open
    # interest has no public history endpoint in v2: the current value only.
    limits = {**limits, "mix-current-fund-rate": _PER_SECOND_20, "mix-history-fund-rate": _PER_SECOND_20,
              "mix-open-interest": _PER_SECOND_20}

    @turn("/api/v2/mix/market/current-fund-rate", group="mix-current-fund-rate")
    def current_fund_rate(self, symbol: Param, product_type: str = USDT_FUTURES) -> Params:
        """``[{symbol, fundingRate, fundingRateInterval (hours), nextUpdate, min/maxFundingRate}]``."""
        return {"symbol": symbol, "productType": product_type}

    @turn("/api/v2/mix/market/history-fund-rate", group="mix-history-fund-rate")
    def history_fund_rate(self, symbol: Param, page_size: int, page_no: int,
                          product_type: str = USDT_FUTURES) -> Params:
        """Settled rates ``[{symbol, fundingRate, fundingTime}]``, newest first, by page number."""
        return {"symbol": symbol, "productType": product_type, "pageSize": page_size, "pageNo": page_no}

    @turn("/api/v2/mix/market/open-interest", group="mix-open-interest")
    def open_interest(self, symbol: Param, product_type: str = USDT_FUTURES) -> Params:
        """``{"openInterestList": [{symbol, size (base coin)}], "ts"}``."""
        return {"symbol": symbol, "productType": product_type}
