"""What the fetch-path benchmarks share: a served simulator, a loopback-only ccxt, checks and tables.

Nothing here reaches beyond 127.0.0.1: the simulator listens on loopback, and
the ccxt client refuses (raises) any URL whose host is not 127.0.0.1 before a
socket is opened.
"""

from __future__ import annotations

import inspect
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from tradeflood.testing import BitgetVenue, Faults, Market, Simulator
from tradeflood.testing import _market as market_module

__all__ = [
    "MINUTE",
    "RATE",
    "CountingBitgetVenue",
    "FastMarket",
    "LoopbackError",
    "MeteredTransport",
    "check_open_times",
    "cpu_model",
    "fast_market_matches",
    "format_table",
    "fresh_session",
    "loopback_ccxt_bitget",
    "rate_bound",
    "served",
    "warm",
]

MINUTE = 60_000
DAY = 86_400_000
#: Bitget's documented limit: 20 requests per second per endpoint per IP (the simulator's default).
RATE = 20


# -- the simulator ---------------------------------------------------------------


@dataclass
class FastMarket(Market):
    """The simulator's market with its pure functions memoised: the same rows, served faster.

    The stock market recomputes each pair's five wave phases (five hashes) for
    every price, prices every minute twice (a bar's close is the next bar's open)
    and rebuilds every bar on every request: ~130 us a bar, so its one thread
    serves only ~7 pages of 1000 bars a second, below the 20 req/s being
    measured. Here phases and prices are memoised and closed bars (which never
    change) are kept, so a range fetched once (:func:`warm`) is served from
    memory. :func:`fast_market_matches` checks the rows are identical.
    """

    _phases: dict[str, list[tuple[int, float, float]]] = field(default_factory=dict, repr=False)
    _prices: dict[tuple[Any, int], Decimal] = field(default_factory=dict, repr=False)
    _bars: dict[tuple[Any, Any, int], Any] = field(default_factory=dict, repr=False)

    def bar(self, inst: Any, grid: Any, open_ms: int, now_ms: int) -> Any:
        key = (inst, grid, open_ms)
        found = self._bars.get(key)
        if found is None:
            found = super().bar(inst, grid, open_ms, now_ms)
            if grid.next(open_ms) <= now_ms:  # closed: its values no longer depend on now
                self._bars[key] = found
        return found

    def raw_price(self, inst: Any, t_ms: int) -> float:
        pair = f"{inst.base}/{inst.quote}"
        waves = self._phases.get(pair)
        if waves is None:
            waves = self._phases[pair] = [
                (period, amplitude, 2 * math.pi * self.unit(None, "phase", pair, k))
                for k, (period, amplitude) in enumerate(market_module._WAVES)
            ]
        log_move = 0.0  # same operations in the same order as Market.raw_price: same floats
        for period, amplitude, phase in waves:
            log_move += amplitude * math.sin(2 * math.pi * t_ms / period + phase)
        log_move += 0.0005 * (2 * self.unit(inst, "noise", t_ms) - 1)
        return float(inst.start_price) * math.exp(log_move)

    def price(self, inst: Any, t_ms: int) -> Decimal:
        key = (inst, t_ms)
        value = self._prices.get(key)
        if value is None:
            if len(self._prices) > 200_000:
                self._prices.clear()
            value = self._prices[key] = super().price(inst, t_ms)
        return value


def fast_market_matches() -> bool:
    """True if :class:`FastMarket` serves exactly the stock market's candle rows (fresh and kept)."""
    stock, fast = BitgetVenue(), BitgetVenue(market=FastMarket())
    end = (stock.now_ms() // MINUTE - 3) * MINUTE
    for path, native, span in (("candles", "BTCUSDT", 0), ("history-candles", "SOLUSDT", 40 * DAY)):
        query = {"symbol": native, "granularity": "1min", "limit": "200", "endTime": str(end - span)}
        a = stock.handle("GET", f"/api/v2/spot/market/{path}", query, "127.0.0.9").json()["data"]
        for _ in range(2):
            b = fast.handle("GET", f"/api/v2/spot/market/{path}", query, "127.0.0.9").json()["data"]
            if a != b or len(a) != 200:
                return False
    return True


def warm(market: Market, natives: Sequence[str], start: int, end: int) -> float:
    """Have ``market`` build and keep every 1m spot bar of ``natives`` in [start, end); seconds taken.

    It goes through a venue's own history endpoint (without a rate limit) so the
    bars are made exactly as when served.
    """
    started = time.perf_counter()
    venue = BitgetVenue(market=market, requests_per_second=10**9)
    for native in natives:
        for page_end in range(end, start, -200 * MINUTE):
            query = {"symbol": native, "granularity": "1min", "limit": "200", "endTime": str(page_end)}
            venue.handle("GET", "/api/v2/spot/market/history-candles", query, "127.0.0.9")
    return time.perf_counter() - started


class CountingBitgetVenue(BitgetVenue):
    """A Bitget venue that also adds up the time it spends answering (``busy_s``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.busy_s = 0.0

    def handle(self, method: str, path: str, query: dict[str, str], client_ip: str) -> Any:
        started = time.perf_counter()
        try:
            return super().handle(method, path, query, client_ip)
        finally:
            self.busy_s += time.perf_counter() - started


@contextmanager
def served(
    market: Market | None = None, latency_ms: float = 0.0,
) -> Iterator[tuple[str, CountingBitgetVenue]]:
    """A fresh Bitget venue (20 req/s per endpoint, live clock) served on 127.0.0.1: (url, venue).

    ``market`` may be shared between venues (a warmed :class:`FastMarket`);
    ``latency_ms`` is a network round trip: every request travels half of it before
    the venue sees and counts it, and every answer the other half.
    """
    half = latency_ms / 2000
    faults = Faults(latency=(half, half), request_latency=(half, half))
    venue = CountingBitgetVenue(market=market, faults=faults, requests_per_second=RATE)
    with Simulator(venues={"bitget": venue}) as sim:
        url = sim.url("bitget")
        if urlsplit(url).hostname != "127.0.0.1":
            raise RuntimeError(f"the simulator is not on loopback: {url}")
        yield url, venue


def rate_bound(by_path: Counter[str]) -> tuple[float, float]:
    """(per-endpoint bound, naive bound) in seconds: max over endpoints of n/RATE, and all/RATE."""
    if not by_path:
        return 0.0, 0.0
    return max(by_path.values()) / RATE, sum(by_path.values()) / RATE


class MeteredTransport(httpx.AsyncBaseTransport):
    """httpx's transport, timing each request from sending it to having read its reply."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.requests = 0
        self.latency_s = 0.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.requests += 1
            self.latency_s += time.perf_counter() - started

    async def aclose(self) -> None:
        await self._inner.aclose()


def fresh_session(url: str, **options: Any) -> Any:
    """A TradeFlood session on the simulator at ``url`` that starts from nothing.

    Where the library keeps candles across sessions (``store``), it is turned
    off, so every run pays for what it fetches and repeated runs measure the same.
    """
    from tradeflood import Session

    if "store" in inspect.signature(Session).parameters:
        options.setdefault("store", False)
    return Session(urls={"bitget": {"rest": url}}, **options)


# -- ccxt, pinned to loopback --------------------------------------------------------


class LoopbackError(RuntimeError):
    """ccxt tried to reach a host other than 127.0.0.1."""


def loopback_ccxt_bitget(base_url: str) -> Any:
    """An async ``ccxt.bitget`` whose every API URL is ``base_url`` and that refuses any other host.

    Markets come from ccxt's own ``fetch_markets`` (spot only) served by the
    simulator: one request to ``/api/v2/spot/public/symbols``, as TradeFlood's
    instrument list. ccxt also asks ``/api/v2/margin/currencies`` for margin
    flags, which the simulator does not serve; that call is answered locally
    with an empty list (no request). Call ``await exchange.load_loopback_markets()``
    before use and ``await exchange.close()`` after.
    """
    import ccxt.async_support as ccxt_async

    class LoopbackBitget(ccxt_async.bitget):  # type: ignore[misc, name-defined]
        requests_sent = 0
        latency_s = 0.0

        async def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            if urlsplit(url).hostname != "127.0.0.1" or not url.startswith(base_url + "/"):
                raise LoopbackError(f"ccxt tried to reach {url!r}; only {base_url} is allowed")
            self.requests_sent += 1
            started = time.perf_counter()
            try:
                return await super().fetch(url, method, headers, body)
            finally:
                self.latency_s += time.perf_counter() - started

        async def load_loopback_markets(self) -> Any:
            markets = await self.fetch_markets()
            return self.set_markets(markets)

    async def no_margin_currencies(params: Any = None) -> Any:
        return {"code": "00000", "msg": "success", "data": []}

    exchange = LoopbackBitget({"enableRateLimit": True})
    # ccxt binds its implicit API methods per instance, so the stub goes on the instance.
    exchange.publicMarginGetV2MarginCurrencies = no_margin_currencies
    exchange.hostname = "127.0.0.1"
    for name in list(exchange.urls["api"]):
        exchange.urls["api"][name] = base_url
    exchange.options["fetchMarkets"] = {"types": ["spot"]}
    exchange.options["adjustForTimeDifference"] = False
    return exchange


# -- checks and tables ------------------------------------------------------------


def check_open_times(times: Sequence[int], start: int, end: int, step: int = MINUTE) -> tuple[bool, str]:
    """Is every open time of [start, end) there exactly once? Times outside the range are ignored."""
    expected = (end - start) // step
    inside = [t for t in times if start <= t < end]
    distinct = set(inside)
    duplicates = len(inside) - len(distinct)
    off_grid = sum(1 for t in distinct if (t - start) % step)
    missing = expected - (len(distinct) - off_grid)
    if not duplicates and not off_grid and not missing:
        return True, f"OK {expected}"
    parts = [f"{len(distinct) - off_grid}/{expected}"]
    if missing:
        parts.append(f"{missing} missing")
    if duplicates:
        parts.append(f"{duplicates} dup")
    if off_grid:
        parts.append(f"{off_grid} off-grid")
    return False, "FAIL " + ", ".join(parts)


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, numbers right-aligned."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(row):
            numeric = cell.replace(".", "", 1).replace("x", "").replace("-", "").isdigit()
            out.append(cell.rjust(widths[i]) if numeric else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


PAGE_ROWS = 1000


def cpu_model(path: str = "/proc/cpuinfo") -> str:
    """The host's CPU as /proc/cpuinfo names it, with its family/model/stepping (a cloud host's
    name may be just "AMD EPYC") and core count, so figures from different hosts can be told
    apart; the platform's own word where there is no /proc/cpuinfo."""
    import os
    import platform

    fields: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if not sep:
                    if fields:
                        break  # the first processor's block is enough
                    continue
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    ident = "/".join(fields[k] for k in ("cpu family", "model", "stepping") if k in fields)
    return f"{name}{f' (family/model/stepping {ident})' if ident else ''}, {os.cpu_count()} cores"


def payloads() -> tuple[list[list[str]], list[list[Any]], int]:
    """(Bitget spot candle rows, Binance spot kline rows, the time they were made), one page each.

    Used by the parse benchmarks, so both measure the same payloads.
    """
    from tradeflood.testing import BinanceVenue, BitgetVenue

    bitget, binance = BitgetVenue(), BinanceVenue()
    now = bitget.now_ms()
    end = (now // MINUTE - 2) * MINUTE
    reply = bitget.handle("GET", "/api/v2/spot/market/candles",
                          {"symbol": "BTCUSDT", "granularity": "1min", "limit": str(PAGE_ROWS),
                           "endTime": str(end)}, "127.0.0.1")
    rows = reply.json()["data"]
    klines = binance.handle("GET", "/api/v3/klines",
                            {"symbol": "BTCUSDT", "interval": "1m", "limit": str(PAGE_ROWS),
                             "startTime": str(end - PAGE_ROWS * MINUTE)}, "127.0.0.1").json()
    if len(rows) != PAGE_ROWS or len(klines) != PAGE_ROWS:
        raise SystemExit(f"expected {PAGE_ROWS} rows, got bitget {len(rows)}, binance {len(klines)}")
    return rows, klines, now
