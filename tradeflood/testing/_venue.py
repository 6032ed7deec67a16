"""What every simulated venue shares: the answer type, counters, faults and the request path.

A venue is plain Python with no I/O: :meth:`Venue.handle` takes a method, a
path, a query and the client's IP and returns a :class:`SimResponse`. The
transports (in-process and socket) only carry requests to it and apply the
answer's delay. Subclasses supply the routes, the rate-limit rule and the
venue's own error bodies.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

from tradeflood.clock import Clock, LiveClock
from tradeflood.testing._faults import FaultKind, Faults, Gaps
from tradeflood.testing._market import Instrument, Market

__all__ = ["Call", "Rejection", "SimResponse", "Venue", "VenueStats", "plain"]

_HTML_5XX = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {502: "Bad Gateway", 503: "Service Temporarily Unavailable"}

T = TypeVar("T")


@dataclass(frozen=True)
class SimResponse:
    """A venue's answer: status, headers and body, held ``delay`` seconds or forever (``hang``);
    ``dropped``: the connection is closed instead; ``reset_after``: it is closed after the
    headers and that many bytes of the body."""

    status: int
    headers: dict[str, str]
    body: bytes
    delay: float = 0.0
    hang: bool = False
    dropped: bool = False
    reset_after: int | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class VenueStats:
    """Counters of what a venue received and answered, for tests and benchmarks."""

    requests: int = 0
    served: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_ip: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    rejected_429: int = 0
    rejected_418: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


class Rejection(Exception):
    """Raised by a route to answer with the venue's error body."""

    def __init__(self, status: int, payload: object) -> None:
        super().__init__(payload)
        self.status = status
        self.payload = payload


@dataclass(frozen=True)
class Call:
    """One request as a route sees it."""

    path: str
    query: dict[str, str]
    ip: str
    now_ms: int
    short_page: bool = False

    def get(self, name: str) -> str | None:
        value = self.query.get(name)
        return value if value not in (None, "") else None

    def short_paged(self, rows: list[T], *, keep_first: bool = False) -> list[T]:
        """``rows`` as the short-page fault leaves them when it hit this call: half of them (the
        later half, or the first with ``keep_first``), though more exist; else all of them."""
        if not self.short_page or len(rows) < 2:
            return rows
        half = len(rows) // 2
        return rows[:half] if keep_first else rows[half:]


def plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: ``43044``, ``0.6``."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class Venue(ABC):
    """A simulated venue: routes, limits, faults, gaps and counters around a :class:`Market`."""

    name: str = "venue"

    def __init__(
        self,
        *,
        market: Market | None = None,
        clock: Clock | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.market = market if market is not None else Market()
        self.clock: Clock = clock if clock is not None else LiveClock()
        self.faults = faults if faults is not None else Faults()
        self.gaps = Gaps()
        self.stats = VenueStats()
        self._lock = threading.RLock()

    def now_ms(self) -> int:
        return int(self.clock.time() * 1000)

    def handle(self, method: str, path: str, query: dict[str, str], client_ip: str) -> SimResponse:
        """Answer one request exactly as the venue would (faults and limits included)."""
        with self._lock:
            self.stats.requests += 1
            self.stats.by_path[path] += 1
            self.stats.by_ip[client_ip] += 1
            fault = self.faults.draw(path)
            delay = self.faults.delay()
            call = Call(path, dict(query), client_ip, self.now_ms(), fault is FaultKind.SHORT_PAGE)
            if fault is not None:
                self.stats.faults[fault.value] += 1
            response = self._answer(method.upper(), call, fault)
            self.stats.by_status[response.status] += 1
            if response.status == 200:
                self.stats.served += 1
            elif response.status == 429:
                self.stats.rejected_429 += 1
            elif response.status == 418:
                self.stats.rejected_418 += 1
            return replace(response, delay=response.delay + delay)

    def _answer(self, method: str, call: Call, fault: FaultKind | None) -> SimResponse:
        if fault is FaultKind.ERROR_5XX:
            code = self.faults.pick(502, 503)
            html = _HTML_5XX.format(code=code, reason=_REASONS[code]).encode()
            return SimResponse(code, {"content-type": "text/html"}, html)
        if fault is FaultKind.RATE_429:
            return self.throttled(call)
        response = self.serve(method, call)
        if fault is FaultKind.TIMEOUT:
            held = self.faults.timeout_seconds
            return replace(response, hang=held is None, delay=held or 0.0)
        if fault is FaultKind.MALFORMED and response.status == 200:
            return replace(response, body=response.body[: max(1, len(response.body) // 2)])
        if fault is FaultKind.DROP:  # served (and counted), but the answer never leaves
            return replace(response, dropped=True)
        if fault is FaultKind.RESET:
            return replace(response, reset_after=len(response.body) // 2)
        if fault is FaultKind.NON_JSON and response.status == 200:
            page = b"<!DOCTYPE html><html><body><p>Please wait...</p></body></html>"
            return replace(response, headers={"content-type": "text/html"}, body=page)
        return response

    def names(self, inst: Instrument) -> tuple[str, str]:
        """The names a gap may be registered under."""
        return inst.symbol, inst.native

    @abstractmethod
    def serve(self, method: str, call: Call) -> SimResponse:
        """Apply the rate limit, route the call and encode the answer."""

    @abstractmethod
    def throttled(self, call: Call) -> SimResponse:
        """The venue's rate-limit refusal for ``call``."""

    @abstractmethod
    def ban(self, ip: str, seconds: float | None = None) -> None:
        """Refuse every request from ``ip`` for ``seconds`` (the venue's default when None)."""


def encode(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
