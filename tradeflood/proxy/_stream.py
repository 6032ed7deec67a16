"""A sticky egress for one live connection (WebSocket), for the streams' connection code.

::

    from websockets.asyncio.client import connect

    egress = scheme.stream_egress("example", key=connection_id)   # picks a proxy (or direct)
    try:
        async with connect(url, proxy=egress.proxy_url) as ws:     # None: no proxy at all
            egress.report_ok()
            async for message in ws:
                ...
    except Exception as exc:
        egress.report_failure(exc)    # a dead proxy is quarantined; the next stream_egress() picks another
        raise
    finally:
        egress.release()

The connection stays on its proxy for its life; when that proxy dies the
reconnect asks ``stream_egress`` again and comes back through another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._diagnosis import reply_kind

# import cycle: types only: the scheme makes stream egresses and hands itself to them
if TYPE_CHECKING:
    from ._pool import Egress, ProxyPool
    from ._scheme import ProxyScheme

__all__ = ["StreamEgress"]


def stream_failure_kind(exc: BaseException, direct: bool) -> tuple[str, int | None]:
    """The kind of a WebSocket connection failure, and the HTTP status it carried, if any.

    Works on the ``websockets`` library's exceptions by shape, without importing it:
    ``InvalidProxyStatus``/``InvalidStatus`` carry ``response.status_code``.
    """
    status = getattr(getattr(exc, "response", None), "status_code", None)
    proxy_said = "Proxy" in type(exc).__name__
    if isinstance(status, int):
        if proxy_said and status != 407:
            return ("venue" if status >= 500 else "connect"), status
        return reply_kind(status) or "dropped", status
    if proxy_said:
        return "connect", None
    if isinstance(exc, ConnectionRefusedError | ConnectionResetError) or type(exc).__name__ == "gaierror":
        return ("venue" if direct else "connect"), None
    if isinstance(exc, TimeoutError):
        return "timeout", None
    return "dropped", None


class StreamEgress:
    """The proxy one live connection goes through; report how the connection fares."""

    def __init__(self, scheme: ProxyScheme, pool: ProxyPool, egress: Egress, venue: str) -> None:
        self._scheme = scheme
        self._pool = pool
        self._egress = egress
        self.venue = venue
        self._released = False
        egress.counters.in_flight += 1
        egress.counters.requests += 1

    @property
    def proxy_url(self) -> str | None:
        """The proxy URL for ``websockets.asyncio.client.connect(uri, proxy=...)``; None for direct."""
        return self._egress.proxy_url

    @property
    def name(self) -> str:
        return self._egress.name

    def report_ok(self) -> None:
        """The connection is open (the handshake went through the proxy)."""
        self._scheme.diagnosis.success(self._egress, self.venue, 0.0, self._scheme.clock.monotonic())

    def report_failure(self, exc: BaseException) -> None:
        """The connection failed or broke; the diagnosis decides whom to blame."""
        kind, status = stream_failure_kind(exc, self._egress.proxy.is_direct)
        self._scheme.diagnosis.failure(self._egress, self.venue, kind, repr(exc),
                                       self._scheme.clock.monotonic(), status=status,
                                       peers=self._pool.egresses)

    def release(self) -> None:
        """The connection is closed; it no longer counts as in flight on its proxy."""
        if not self._released:
            self._released = True
            self._egress.counters.in_flight -= 1
