"""Where the executor and a proxy layer meet: the routes a request may be sent by.

The executor knows nothing of proxies; it asks its :class:`RequestRoutes` (a
:class:`~tradeflood.proxy.ProxyScheme` is one) which :class:`Egress` carries a
turn, sends through it under the egress's own rate-limit windows, and reports
how the answer went. A session that records hands the routes a :data:`TransportTap`,
through which every egress of its own sends, so that what goes out by a proxy is
recorded as what goes out directly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx

    from .clock import Clock
    from .connector import Ban
    from .turns import Turn
    from .windows import RateLimits

__all__ = ["RESENT", "Egress", "RequestRoutes", "TransportTap"]

#: The extension (``request.extensions[RESENT]``) of a request an egress sends once more at once,
#: because the first try failed on a stale connection before reaching the venue (nothing the
#: executor sees): a recording keeps the mark, and its replay drops the failed try it replaced.
RESENT = "tradeflood.resent"

#: ``tap(inner, route)``: the transport an egress named ``route`` sends through in place of its own
#: ``inner`` one (a recording session's: it records each request, then passes it on to ``inner``).
TransportTap = Callable[["httpx.AsyncBaseTransport", str], "httpx.AsyncBaseTransport"]


class Egress(Protocol):
    """One way out: it sends requests, under its own rate-limit windows."""

    @property
    def name(self) -> str:
        """How errors and events name it (a proxy's URL without credentials)."""
        ...

    @property
    def limits(self) -> RateLimits | None: ...

    def stream(self, method: str, url: str, *,
               params: dict[str, Any]) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
        """Send a request; the reply's body is read from the response inside the context."""
        ...


class RequestRoutes(Protocol):
    """The egresses requests may take, chosen per turn, with their health kept up to date."""

    def attach(self, client: httpx.AsyncClient, limits: RateLimits, clock: Clock, *,
               tap: TransportTap | None = None) -> None:
        """Give every egress a client and windows; a direct one uses ``client`` and ``limits``,
        any other sends through ``tap(its transport, its name)`` when a ``tap`` is given."""

    async def start(self) -> None:
        """Get ready before the first request (probe proxies)."""

    async def aclose(self) -> None:
        """Close what :meth:`attach` opened."""

    def choose(self, turn: Turn) -> tuple[Any, Egress]:
        """The group (pool) and egress that carry ``turn``."""
        ...

    async def choose_waiting(self, turn: Turn, budget: float) -> tuple[Any, Egress]:
        """Like :meth:`choose`, waiting up to ``budget`` seconds for an egress that can carry it."""
        ...

    # ``pool`` and ``egress`` are what :meth:`choose` gave: the routes' own types.
    def attempt(self, pool: Any, egress: Any, venue: str,
                endpoint: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the route's limits around one request and diagnose a transport failure."""
        ...

    def settle(self, pool: Any, egress: Any, venue: str, status: int, latency: float,
               retry_after: float | None = None, detail: str = "", *, at_floor: bool = True,
               ban: Ban | None = None) -> str | None:
        """Record the HTTP answer a request through ``egress`` got; returns the kind of failure
        it shows (``auth``: the proxy refused us; ``blocked``; ``limited``; ``venue``), or None.
        ``at_floor``: the rate through ``egress`` has backed off as far as it goes. ``ban``: the
        ban the venue's connector read in the reply (:meth:`~tradeflood.Connector.ban`), if any."""
