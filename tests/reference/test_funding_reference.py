"""Funding rates and open interest against ccxt's recorded replies and request URLs, four venues.

Every fetchFundingRate(s), fetchFundingRateHistory, fetchOpenInterest(History)
entry of ``../shared/reference/ccxt-static`` is here, each with its verdict:
``equal`` (our parse of ``httpResponse`` gives ccxt's ``parsedResponse`` values,
or our connector builds the recorded path and query), ``differs`` (asserted as
it differs, with why) or ``out of scope`` (an endpoint or market TradeFlood
does not use: inverse contracts, Bitget's UTA v3 API, whole-venue lists).
``test_the_counts`` pins the tallies quoted in the closing note of issue 16.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from reference import load_recordings

from tradeflood.bindings.bitget import funding as bitget
from tradeflood.bindings.bybit import funding as bybit
from tradeflood.bindings.bybit.parse import find_ticker
from tradeflood.bindings.okx import funding as okx
from tradeflood.connectors.binance import Binance
from tradeflood.connectors.bitget import Bitget
from tradeflood.connectors.bybit import Bybit
from tradeflood.connectors.okx import Okx

DATA = {v: load_recordings(v) for v in ("bitget", "binance", "bybit", "okx")}
HOUR = 3_600_000
SYMBOL = "BTC/USDT:USDT"


def num(x: Any) -> Decimal:
    return Decimal(str(x))


def entry(venue: str, section: str, method: str, i: int) -> dict[str, Any]:
    d = DATA[venue]
    return (d[section].get(method) or d[f"{section}_extra"][method])[i]  # type: ignore[no-any-return]


def url_of(e: dict[str, Any]) -> tuple[str, dict[str, str]]:
    parts = urlsplit(e["url"])
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def ours(turn: Any) -> tuple[str, dict[str, str]]:
    return turn.path, dict(turn.params)


# -- replies -------------------------------------------------------------------------------------

def _bitget_current(e: dict[str, Any]) -> None:
    rate = bitget.parse_current_funding(e["httpResponse"]["data"], symbol=SYMBOL)
    p = e["parsedResponse"]
    assert (rate.rate, rate.funding_time) == (num(p["fundingRate"]), p["fundingTimestamp"])
    assert rate.interval_ms == int(p["interval"][:-1]) * HOUR and rate.timestamp == p["timestamp"]


def _bitget_history(e: dict[str, Any]) -> None:
    rows = bitget.parse_funding_history(e["httpResponse"]["data"], symbol=SYMBOL)
    assert [(r.funding_time, r.rate) for r in rows] == [(p["timestamp"], num(p["fundingRate"]))
                                                       for p in e["parsedResponse"]]


def _bybit_current(e: dict[str, Any], key: str | None = None) -> None:
    result = {**e["httpResponse"]["result"], "time": e["httpResponse"]["time"]}
    record = find_ticker(result, "BTCUSDT")
    rate = bybit.parse_ticker_funding(record, symbol=SYMBOL, timestamp=result["time"])
    p = e["parsedResponse"][key] if key else e["parsedResponse"]
    assert (rate.rate, rate.funding_time, rate.timestamp) == (num(p["fundingRate"]), p["fundingTimestamp"],
                                                              p["timestamp"])
    assert (rate.mark_price, rate.index_price) == (num(p["markPrice"]), num(p["indexPrice"]))
    # ccxt says "8h" from its market table; Bybit's reply states no interval, and neither do we.
    assert p["interval"] == "8h" and rate.interval_ms is None


def _bybit_open_interest(e: dict[str, Any]) -> None:
    result = e["httpResponse"]["result"]
    [oi] = bybit.parse_open_interest_history(result, symbol=SYMBOL, native_symbol="BTCUSDT", interval="1h")
    p = e["parsedResponse"]
    assert (oi.size, oi.timestamp, oi.value) == (num(p["openInterestAmount"]), p["timestamp"], None)


def _okx_open_interest(e: dict[str, Any]) -> None:
    oi = okx.parse_open_interest(e["httpResponse"]["data"], symbol=SYMBOL)
    p = e["parsedResponse"]
    # ccxt's openInterestAmount is ``oi`` (contracts) and its baseVolume ``oiCcy``: our size is in base.
    assert oi.timestamp == p["timestamp"]
    assert abs(oi.size - num(p["baseVolume"])) < Decimal("1e-9")  # ccxt's float of oiCcy
    assert oi.value is not None and abs(oi.value - num(p["openInterestValue"])) < Decimal("1e-6")


REPLIES = [
    ("bitget", "fetchFundingRate", 0, "equal", _bitget_current),
    ("bitget", "fetchFundingRate", 1, "out of scope: funding-time (next time, no rate) is not used", None),
    ("bitget", "fetchFundingRate", 2, "equal", _bitget_current),  # UTA v3: the same record shape as v2
    ("bitget", "fetchOpenInterest", 0, "out of scope: UTA v3 shape {list: [{openInterest}]}; v2 is "
                                       "{openInterestList: [{size}]}", None),
    ("bitget", "fetchFundingRateHistory", 0, "equal", _bitget_history),
    ("bitget", "fetchFundingRateHistory", 1, "out of scope: UTA v3 {resultList: ...}", None),
    ("bybit", "fetchFundingRate", 0, "equal", _bybit_current),
    ("bybit", "fetchFundingRates", 0, "equal", lambda e: _bybit_current(e, SYMBOL)),
    ("bybit", "fetchOpenInterest", 0, "equal", _bybit_open_interest),
    ("bybit", "fetchOpenInterest", 1, "out of scope: inverse contract", None),
    ("okx", "fetchOpenInterest", 0, "equal", _okx_open_interest),
]


@pytest.mark.parametrize("venue, method, i, verdict, check", REPLIES,
                         ids=[f"{v}-{m}[{i}]" for v, m, i, _, _ in REPLIES])
def test_reply_parses_as_ccxt(venue: str, method: str, i: int, verdict: str, check: Any) -> None:
    e = entry(venue, "response", method, i)
    if check is None:
        pytest.skip(verdict)
    check(e)


# -- request URLs --------------------------------------------------------------------------------

BG, BN, BY, OK = Bitget(), Binance(), Bybit(), Okx()
ZRX_SINCE = 1769529863000
ZRX_END = ZRX_SINCE + 200 * 8 * HOUR - 1


def _path_and(e: dict[str, Any], turn: Any, *keys: str) -> None:
    """Same path; the named parameters equal; the others are TradeFlood's paging."""
    path, query = url_of(e)
    our_path, our_query = ours(turn)
    assert our_path == path and {k: our_query[k] for k in keys} == {k: query[k] for k in keys}
    assert our_query != query


URLS = [
    ("bitget", "fetchFundingRate", 0, "equal", lambda e: ours(BG.current_fund_rate("BTCUSDT")) == url_of(e)),
    ("bitget", "fetchFundingRate", 1, "out of scope: funding-time", None),
    ("bitget", "fetchFundingRate", 2, "out of scope: UTA v3", None),
    ("bitget", "fetchOpenInterest", 0, "equal", lambda e: ours(BG.open_interest("BTCUSDT")) == url_of(e)),
    ("bitget", "fetchOpenInterest", 1, "out of scope: UTA v3", None),
    # ccxt asks the venue's default page (the latest 20); a history pages 100 at a time by number.
    ("bitget", "fetchFundingRateHistory", 0, "differs",
     lambda e: _path_and(e, BG.history_fund_rate("BTCUSDT", 100, 1), "symbol", "productType")),
    ("bitget", "fetchFundingRateHistory", 1, "out of scope: UTA v3", None),
    # The recorded host of entry 0 is api.binance.com (a ccxt test oddity); path and query agree.
    ("binance", "fetchFundingRate", 0, "equal", lambda e: ours(BN.premium_index("BTCUSDT")) == url_of(e)),
    ("binance", "fetchFundingRate", 1, "out of scope: inverse contract", None),
    ("binance", "fetchFundingRate", 2, "equal", lambda e: ours(BN.premium_index("BTCUSDT")) == url_of(e)),
    ("binance", "fetchOpenInterest", 0, "equal", lambda e: ours(BN.open_interest("BTCUSDT")) == url_of(e)),
    ("binance", "fetchOpenInterest", 1, "out of scope: inverse contract", None),
    # ccxt without since asks the latest default rows; a history sends its page's range and limit.
    ("binance", "fetchFundingRateHistory", 0, "differs",
     lambda e: _path_and(e, BN.funding_rate_history("BTCUSDT", 0, 8 * HOUR * 1000 - 1, 1000), "symbol")),
    ("binance", "fetchFundingRateHistory", 1, "out of scope: inverse contract", None),
    ("binance", "fetchFundingRateHistory", 2, "differs",
     lambda e: _path_and(e, BN.funding_rate_history("BTCUSDT", 0, 8 * HOUR * 1000 - 1, 1000), "symbol")),
    ("binance", "fetchOpenInterestHistory", 0, "differs",
     lambda e: _path_and(e, BN.open_interest_hist("BTCUSDT", "5m", 0, 500 * 300_000 - 1, 500),
                         "symbol", "period")),
    ("binance", "fetchOpenInterestHistory", 1, "out of scope: inverse contract", None),
    # ccxt's current open interest is the latest 1h statistic; ours is the tickers' live value
    # (with its quote value). A 1h history uses the same endpoint, category, symbol and intervalTime.
    ("bybit", "fetchOpenInterest", 0, "differs",
     lambda e: _path_and(e, BY.open_interest("linear", "BTCUSDT", "1h", 0, HOUR * 200 - 1, 200),
                         "category", "symbol", "intervalTime")),
    ("bybit", "fetchOpenInterest", 1, "out of scope: inverse contract", None),
    # ZRX funds hourly: ccxt asks [since, since + 3 h] for 3 rows; TradeFlood first plans at 8 hours
    # (until the rows show the contract's interval) and pages [start, start + 200 x 8 h), which
    # also holds those rows but asks 200.
    ("bybit", "fetchFundingRateHistory", 0, "differs",
     lambda e: _path_and(e, BY.funding_history("linear", "ZRXUSDT", ZRX_SINCE, ZRX_END, 200),
                         "category", "symbol", "startTime")),
    ("okx", "fetchFundingInterval", 0, "equal",
     lambda e: ours(OK.funding_rate("BTC-USDT-SWAP")) == url_of(e)),
    ("okx", "fetchFundingRates", 0, "out of scope: every instrument (instId=ANY)", None),
    # ccxt's history is the per-coin aggregate (open-interest-volume?ccy=BTC); ours is per
    # instrument (open-interest-history?instId=BTC-USDT-SWAP), which a swap query means.
    ("okx", "fetchOpenInterestHistory", 0, "differs",
     lambda e: url_of(e)[0] == "/api/v5/rubik/stat/contracts/open-interest-volume"
     and ours(OK.open_interest_history("BTC-USDT-SWAP", "1D"))[0]
     == "/api/v5/rubik/stat/contracts/open-interest-history"),
    ("okx", "fetchOpenInterests", 0, "out of scope: every swap", None),
    ("okx", "fetchOpenInterests", 1, "out of scope: every swap", None),
    ("okx", "fetchOpenInterests", 2, "out of scope: futures", None),
    ("okx", "fetchOpenInterests", 3, "out of scope: options", None),
]


@pytest.mark.parametrize("venue, method, i, verdict, check", URLS,
                         ids=[f"{v}-{m}[{i}]" for v, m, i, _, _ in URLS])
def test_request_url(venue: str, method: str, i: int, verdict: str, check: Any) -> None:
    e = entry(venue, "request", method, i)
    if check is None:
        pytest.skip(verdict)
    assert check(e) is not False


def _relevant(section: str) -> list[tuple[str, str, int]]:
    out = []
    for venue, d in DATA.items():
        for part in (section, f"{section}_extra"):
            for method, entries in d[part].items():
                if "Funding" in method or "OpenInterest" in method:
                    out += [(venue, method, i) for i in range(len(entries))]
    return sorted(out)


def test_every_funding_and_open_interest_entry_is_judged_and_the_counts() -> None:
    assert sorted((v, m, i) for v, m, i, _, _ in REPLIES) == _relevant("response")
    assert sorted((v, m, i) for v, m, i, _, _ in URLS) == _relevant("request")
    replies = Counter(verdict.split(":")[0] for *_, verdict, _ in REPLIES)
    urls = Counter(verdict.split(":")[0] for *_, verdict, _ in URLS)
    assert replies == {"equal": 7, "out of scope": 4}
    assert urls == {"equal": 6, "differs": 7, "out of scope": 14}
