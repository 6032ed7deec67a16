"""The funding-rate and open-interest endpoints of the four simulated venues, in their wire formats.

Each ``install_*`` adds the routes (and their rate limits) to a venue when it is
made. Shapes follow the venues' documentation and ccxt's recorded replies
(``../shared/reference/ccxt-static``); page sizes, orders and look-back windows
are the documented ones:

- Bitget: ``current-fund-rate``; ``history-fund-rate`` by ``pageNo``/``pageSize``
  (default 20, at most 100), newest first; ``open-interest``
  (``{"openInterestList": [{symbol, size}], "ts"}``); no open-interest history.
- Binance: ``premiumIndex``; ``fundingRate`` (limit default 100, at most 1000,
  oldest first from ``startTime``; funding times a few ms after the hour, as the
  venue stamps them; 500 requests / 5 minutes / IP, shared with ``fundingInfo``,
  which lists only the perpetuals not funding every 8 hours); ``openInterest``;
  ``futures/data/openInterestHist`` (limit default 30, at most 500, the latest 30
  days only; 1000 requests / 5 minutes / IP).
- Bybit: funding and open interest on linear ``tickers``; ``funding/history`` (limit
  1..200, default 200, newest first; ``startTime`` alone is refused);
  ``open-interest`` by ``intervalTime`` (limit 1..200, default 50, newest first).
- OKX: ``public/funding-rate``; ``public/funding-rate-history`` (limit up to 400,
  newest first, the last three months only); ``public/open-interest`` (``oi`` in
  contracts); ``rubik/stat/contracts/open-interest-history`` (rows
  ``[ts, oi, oiCcy, oiUsd]``, limit up to 100, newest first, the latest 1,440 rows of a
  period; ``6H``, ``12H``, ``1D`` open at UTC+8, ``6Hutc``, ``12Hutc``, ``1Dutc`` at UTC+0).
"""

from __future__ import annotations

from decimal import Decimal
from itertools import islice
from typing import Any

from tradeflood.testing import _funding_market as fm
from tradeflood.testing._limits import RollingLimit
from tradeflood.testing._market import Instrument
from tradeflood.testing._venue import Call, Rejection, plain

# Venues are typed Any here: each venue module imports this one to install its routes.

__all__ = ["install_binance", "install_bitget", "install_bybit", "install_okx"]

_MINUTE = 60_000
_DAY = 86_400_000
#: Open-interest periods by venue spelling, in ms.
_BINANCE_PERIODS = {"5m": 5 * _MINUTE, "15m": 15 * _MINUTE, "30m": 30 * _MINUTE, "1h": 60 * _MINUTE,
                    "2h": 120 * _MINUTE, "4h": 240 * _MINUTE, "6h": 360 * _MINUTE, "12h": 720 * _MINUTE,
                    "1d": _DAY}
_BYBIT_PERIODS = {"5min": 5 * _MINUTE, "15min": 15 * _MINUTE, "30min": 30 * _MINUTE, "1h": 60 * _MINUTE,
                  "4h": 240 * _MINUTE, "1d": _DAY}
_OKX_PERIODS = {"5m": 5 * _MINUTE, "15m": 15 * _MINUTE, "30m": 30 * _MINUTE, "1H": 60 * _MINUTE,
                "2H": 120 * _MINUTE, "4H": 240 * _MINUTE, "6H": 360 * _MINUTE, "12H": 720 * _MINUTE,
                "1D": _DAY, "6Hutc": 360 * _MINUTE, "12Hutc": 720 * _MINUTE, "1Dutc": _DAY}
#: OKX's plain 6H, 12H and 1D statistics open at UTC+8 (their "utc" twins at UTC+0).
_OKX_UTC8 = {"6H", "12H", "1D"}
_OKX_OI_ROWS = 1440  # "the latest 1,440 data entries"


def _rate(value: Decimal, places: int | None = None) -> str:
    return format(value, f".{places}f") if places is not None else plain(value)


def _period_times(venue: Any, inst: Instrument, step: int, first: int, last: int, now_ms: int,
                  offset: int = 0) -> list[int]:
    """Statistic times on the period grid (shifted by ``offset`` ms) in ``[first, last]`` up to
    the newest closed period, oldest first, without the spans the venue lacks."""
    names = venue.names(inst)
    newest = (min(last, now_ms) - offset) // step * step + offset
    start = max(first, inst.listed_ms)
    t0 = -(-(start - offset) // step) * step + offset
    return [t for t in range(t0, newest + 1, step) if not venue.gaps.hides(names, t)]


# -- Bitget ----------------------------------------------------------------------------------

def install_bitget(venue: Any) -> None:
    venue.routes["/api/v2/mix/market/current-fund-rate"] = lambda c: _bitget_current(venue, c)
    venue.routes["/api/v2/mix/market/history-fund-rate"] = lambda c: _bitget_history(venue, c)
    venue.routes["/api/v2/mix/market/open-interest"] = lambda c: _bitget_open_interest(venue, c)


def _bitget_current(venue: Any, call: Call) -> list[dict[str, str]]:
    venue._product(call)
    inst = venue._instrument(call, "perp")
    coming = fm.next_funding(call.now_ms, inst)
    return [{"symbol": inst.native, "fundingRate": _rate(fm.funding_rate(venue.market, inst, coming)),
             "fundingRateInterval": str(fm.funding_step(inst) // 3_600_000), "nextUpdate": str(coming),
             "minFundingRate": "-0.003", "maxFundingRate": "0.003"}]


def _bitget_history(venue: Any, call: Call) -> list[dict[str, str]]:
    venue._product(call)
    inst = venue._instrument(call, "perp")
    size = max(1, min(100, venue._int(call, "pageSize", 20) or 20))
    page = max(1, venue._int(call, "pageNo", 1) or 1)
    times = fm.funding_times(venue, inst, fm.latest_funding(call.now_ms, inst), 0)
    rows = list(islice(times, (page - 1) * size, page * size))
    return [{"symbol": inst.native, "fundingRate": _rate(fm.funding_rate(venue.market, inst, t)),
             "fundingTime": str(t)} for t in rows]


def _bitget_open_interest(venue: Any, call: Call) -> dict[str, Any]:
    venue._product(call)
    inst = venue._instrument(call, "perp")
    size = fm.open_interest(venue.market, inst, call.now_ms)
    return {"openInterestList": [{"symbol": inst.native, "size": plain(size)}], "ts": str(call.now_ms)}


# -- Binance ---------------------------------------------------------------------------------

def install_binance(venue: Any) -> None:
    funding_limit = RollingLimit(per_window=500, window_s=300.0)
    data_limit = RollingLimit(per_window=1000, window_s=300.0)

    def limited(limit: RollingLimit, per: str, route: Any, key: str | None = None) -> Any:
        def serve(call: Call, api: Any) -> Any:
            if not limit.admit(call.ip, key or call.path, call.now_ms / 1000):
                raise Rejection(429, {"code": -1003, "msg": f"Too many requests; current limit of IP"
                                      f"({call.ip}) is {limit.per_window} requests per {per}."})
            return route(venue, call, api)
        return serve

    venue.routes["/fapi/v1/premiumIndex"] = (lambda c: 1 if c.get("symbol") else 10,
                                             lambda c, a: _binance_premium(venue, c, a))
    venue.routes["/fapi/v1/fundingRate"] = (lambda c: 1, limited(funding_limit, "5 minutes",
                                                                  _binance_history, "funding"))
    venue.routes["/fapi/v1/fundingInfo"] = (lambda c: 0, limited(funding_limit, "5 minutes",
                                                                  _binance_funding_info, "funding"))
    venue.routes["/fapi/v1/openInterest"] = (lambda c: 1, lambda c, a: _binance_open_interest(venue, c, a))
    venue.routes["/futures/data/openInterestHist"] = (lambda c: 1, limited(data_limit, "5 minutes",
                                                                            _binance_oi_history))


def _binance_premium(venue: Any, call: Call, api: Any) -> dict[str, Any]:
    inst = venue._instrument(call, api)
    coming = fm.next_funding(call.now_ms, inst)
    return {"symbol": inst.native, "markPrice": plain(venue.market.price(inst, call.now_ms)),
            "indexPrice": plain(fm.index_price(venue.market, inst, call.now_ms)),
            "estimatedSettlePrice": plain(venue.market.price(inst, call.now_ms)),
            "lastFundingRate": _rate(fm.funding_rate(venue.market, inst, coming), 8),
            "interestRate": "0.00010000", "nextFundingTime": coming, "time": call.now_ms}


def _binance_funding_info(venue: Any, call: Call, api: Any) -> list[dict[str, Any]]:
    """The perpetuals whose funding interval is not the standard 8 hours: Binance lists only
    the symbols it adjusted."""
    return [{"symbol": inst.native, "adjustedFundingRateCap": "0.02000000",
             "adjustedFundingRateFloor": "-0.02000000",
             "fundingIntervalHours": fm.funding_step(inst) // 3_600_000, "disclaimer": False}
            for inst in venue.market.instruments
            if inst.kind == "perp" and fm.funding_step(inst) != fm.FUNDING_STEP_MS]


def _stamped(t: int) -> int:
    """Binance's funding time: a few ms after the hour."""
    return t + (t // fm.FUNDING_STEP_MS) % 7


def _binance_history(venue: Any, call: Call, api: Any) -> list[dict[str, Any]]:
    inst = venue._instrument(call, api)
    limit = venue._limit(call, 100, 1000)
    start, end = venue._int(call, "startTime"), venue._int(call, "endTime")
    newest = fm.latest_funding(min(end, call.now_ms) if end is not None else call.now_ms, inst)
    if end is not None and _stamped(newest) > end:
        newest -= fm.funding_step(inst)
    oldest = start if start is not None else 0
    times = sorted(t for t in fm.funding_times(venue, inst, newest, oldest) if _stamped(t) >= oldest)
    times = times[:limit] if start is not None else times[-limit:]
    return [{"symbol": inst.native, "fundingTime": _stamped(t),
             "fundingRate": _rate(fm.funding_rate(venue.market, inst, t), 8),
             "markPrice": plain(venue.market.price(inst, t))} for t in times]


def _binance_open_interest(venue: Any, call: Call, api: Any) -> dict[str, Any]:
    inst = venue._instrument(call, api)
    return {"openInterest": plain(fm.open_interest(venue.market, inst, call.now_ms)), "symbol": inst.native,
            "time": call.now_ms}


def _binance_oi_history(venue: Any, call: Call, api: Any) -> list[dict[str, Any]]:
    inst = venue._instrument(call, venue.futures)
    step = _BINANCE_PERIODS.get(venue._required(call, "period"))
    if step is None:
        raise Rejection(400, {"code": -1120, "msg": "Invalid period."})
    limit = venue._limit(call, 30, 500)
    start, end = venue._int(call, "startTime"), venue._int(call, "endTime")
    first = max(start or 0, call.now_ms - 30 * _DAY)
    times = _period_times(venue, inst, step, first, end if end is not None else call.now_ms, call.now_ms)
    times = times[:limit] if start is not None else times[-limit:]
    return [{"symbol": inst.native, "sumOpenInterest": plain(fm.open_interest(venue.market, inst, t)),
             "sumOpenInterestValue": plain(fm.open_interest_value(venue.market, inst, t)), "timestamp": t}
            for t in times]


# -- Bybit -----------------------------------------------------------------------------------

def install_bybit(venue: Any) -> None:
    tickers = venue.routes["/v5/market/tickers"]

    def with_funding(call: Call) -> Any:
        result = tickers(call)
        if result.get("category") == "linear":
            for row in result["list"]:
                inst = venue.market.find(row["symbol"], "perp")
                if inst is not None:
                    row.update(_bybit_derivatives(venue, inst, call.now_ms))
        return result

    venue.routes["/v5/market/tickers"] = with_funding
    venue.routes["/v5/market/funding/history"] = lambda c: _bybit_history(venue, c)
    venue.routes["/v5/market/open-interest"] = lambda c: _bybit_open_interest(venue, c)


def _bybit_derivatives(venue: Any, inst: Instrument, now_ms: int) -> dict[str, str]:
    coming = fm.next_funding(now_ms, inst)
    return {"markPrice": plain(venue.market.price(inst, now_ms)),
            "indexPrice": plain(fm.index_price(venue.market, inst, now_ms)),
            "fundingRate": _rate(fm.funding_rate(venue.market, inst, coming)), "nextFundingTime": str(coming),
            "fundingIntervalHour": str(fm.funding_step(inst) // 3_600_000),
            "openInterest": plain(fm.open_interest(venue.market, inst, now_ms)),
            "openInterestValue": plain(fm.open_interest_value(venue.market, inst, now_ms))}


def _bybit_linear(venue: Any, call: Call) -> Instrument:
    kind, inst = venue._inst(call)
    assert isinstance(inst, Instrument)
    if kind != "perp":
        raise venue._reject(call, "params error: category only support linear or inverse")
    return inst


def _bybit_history(venue: Any, call: Call) -> dict[str, Any]:
    inst = _bybit_linear(venue, call)
    limit = venue._limit(call, 200, 200)
    start, end = venue._int(call, "startTime"), venue._int(call, "endTime")
    if start is not None and end is None:
        raise venue._reject(call, "params error: endTime is required when startTime is given")
    newest = min(end, call.now_ms) if end is not None else call.now_ms
    times = list(islice(fm.funding_times(venue, inst, newest, start or 0), limit))
    return {"category": "linear", "list": [
        {"symbol": inst.native, "fundingRate": _rate(fm.funding_rate(venue.market, inst, t)),
         "fundingRateTimestamp": str(t)} for t in times]}


def _bybit_open_interest(venue: Any, call: Call) -> dict[str, Any]:
    inst = _bybit_linear(venue, call)
    step = _BYBIT_PERIODS.get(call.get("intervalTime") or "")
    if step is None:
        raise venue._reject(call, "params error: intervalTime invalid")
    limit = venue._limit(call, 50, 200)
    start, end = venue._int(call, "startTime"), venue._int(call, "endTime")
    times = _period_times(venue, inst, step, start or 0, end if end is not None else call.now_ms, call.now_ms)
    rows = [{"openInterest": format(fm.open_interest(venue.market, inst, t), ".8f"), "timestamp": str(t)}
            for t in reversed(times[-limit:])]
    return {"symbol": inst.native, "category": "linear", "list": rows, "nextPageCursor": ""}


# -- OKX -------------------------------------------------------------------------------------

def install_okx(venue: Any) -> None:
    for path, per_2s in (("/api/v5/public/funding-rate", 10), ("/api/v5/public/funding-rate-history", 10),
                         ("/api/v5/public/open-interest", 20),
                         ("/api/v5/rubik/stat/contracts/open-interest-history", 10)):
        venue.limits[path] = RollingLimit(per_window=per_2s, window_s=2.0)
    venue.routes["/api/v5/public/funding-rate"] = lambda c: _okx_current(venue, c)
    venue.routes["/api/v5/public/funding-rate-history"] = lambda c: _okx_history(venue, c)
    venue.routes["/api/v5/public/open-interest"] = lambda c: _okx_open_interest(venue, c)
    venue.routes["/api/v5/rubik/stat/contracts/open-interest-history"] = lambda c: _okx_oi_history(venue, c)


def _okx_swap(venue: Any, call: Call) -> Instrument:
    inst = venue._inst(call)
    assert isinstance(inst, Instrument)
    if inst.kind != "perp":
        raise venue._reject("51001", "Instrument ID does not exist")
    return inst


def _okx_current(venue: Any, call: Call) -> list[dict[str, str]]:
    inst = _okx_swap(venue, call)
    coming = fm.next_funding(call.now_ms, inst)
    step = fm.funding_step(inst)
    rate = _rate(fm.funding_rate(venue.market, inst, coming))
    return [{"instType": "SWAP", "instId": f"{inst.base}-{inst.quote}-SWAP", "method": "current_period",
             "formulaType": "withRate", "fundingRate": rate, "nextFundingRate": "",
             "fundingTime": str(coming), "nextFundingTime": str(coming + step),
             "minFundingRate": "-0.0075", "maxFundingRate": "0.0075", "settState": "settled",
             "settFundingRate": _rate(fm.funding_rate(venue.market, inst, coming - step)),
             "premium": "0.0001", "interestRate": "0.0001", "impactValue": "", "sign": "",
             "ts": str(call.now_ms)}]


def _okx_history(venue: Any, call: Call) -> list[dict[str, str]]:
    inst = _okx_swap(venue, call)
    limit = venue._limit(call, "limit", 400, 400)
    after, before = venue._int(call, "after"), venue._int(call, "before")
    newest = min(after - 1, call.now_ms) if after is not None else call.now_ms
    oldest = max(before + 1 if before is not None else 0, call.now_ms - 90 * _DAY)
    times = islice(fm.funding_times(venue, inst, newest, oldest), limit)
    inst_id = f"{inst.base}-{inst.quote}-SWAP"
    out = []
    for t in times:
        rate = _rate(fm.funding_rate(venue.market, inst, t))
        out.append({"instType": "SWAP", "instId": inst_id, "formulaType": "withRate", "fundingRate": rate,
                    "realizedRate": rate, "fundingTime": str(t), "method": "current_period"})
    return out


def _okx_contracts(inst: Instrument, size: Decimal) -> str:
    from tradeflood.testing._okx_payloads import ct_val

    return plain(size / ct_val(inst))


def _okx_open_interest(venue: Any, call: Call) -> list[dict[str, str]]:
    if venue._required(call, "instType") != "SWAP":
        return []
    inst = _okx_swap(venue, call)
    size = fm.open_interest(venue.market, inst, call.now_ms)
    return [{"instId": f"{inst.base}-{inst.quote}-SWAP", "instType": "SWAP",
             "oi": _okx_contracts(inst, size), "oiCcy": plain(size),
             "oiUsd": plain(fm.open_interest_value(venue.market, inst, call.now_ms)), "ts": str(call.now_ms)}]


def _okx_oi_history(venue: Any, call: Call) -> list[list[str]]:
    inst = _okx_swap(venue, call)
    period = call.get("period") or "5m"
    step = _OKX_PERIODS.get(period)
    if step is None:
        raise venue._reject("51000", "Parameter period error")
    offset = -8 * 60 * _MINUTE if period in _OKX_UTC8 else 0
    limit = venue._limit(call, "limit", 100, 100)
    begin, end = venue._int(call, "begin"), venue._int(call, "end")
    last = end - 1 if end is not None else call.now_ms
    oldest = (call.now_ms - offset) // step * step + offset - (_OKX_OI_ROWS - 1) * step
    first = max(begin + 1 if begin is not None else 0, oldest)
    times = _period_times(venue, inst, step, first, last, call.now_ms, offset)
    market = venue.market
    return [[str(t), _okx_contracts(inst, fm.open_interest(market, inst, t)),
             plain(fm.open_interest(market, inst, t)), plain(fm.open_interest_value(market, inst, t))]
            for t in reversed(times[-limit:])]
