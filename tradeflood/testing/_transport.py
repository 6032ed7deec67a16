"""Serving simulated venues in-process, as an ``httpx`` transport.

Requests never touch a socket: the transport picks the venue by host, asks it
for the answer and applies the answer's delay on the venue's clock, so with a
virtual clock latency and timeouts cost no real time. Example::

    venues = {"bitget": BitgetVenue(clock=clock), "binance": BinanceVenue(clock=clock)}
    transport = SimulatorTransport(venues)
    async with httpx.AsyncClient(transport=transport, base_url="https://api.bitget.com") as c:
        r = await c.get("/api/v2/spot/market/candles",
                        params={"symbol": "BTCUSDT", "granularity": "1h"})
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import httpx

from tradeflood.testing._venue import Venue

__all__ = ["CLIENT_IP_HEADER", "VENUE_HOSTS", "SimulatorTransport"]

#: A request header naming the client IP the venue should see (default: the transport's).
CLIENT_IP_HEADER = "x-simulator-client-ip"

#: The real hosts of the built-in venues, so unmodified base URLs reach the simulator.
VENUE_HOSTS: dict[str, str] = {
    "api.bitget.com": "bitget",
    "api.binance.com": "binance",
    "fapi.binance.com": "binance",
    "www.okx.com": "okx",
    "api.bybit.com": "bybit",
}


class SimulatorTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport answering from simulated venues, routed by host.

    A host is matched against ``hosts`` (the real venue hosts by default), then
    against the venue names themselves (``http://bitget/...``); with a single
    venue every host reaches it. ``client_ip`` is the IP the venues see, unless a
    request carries the ``x-simulator-client-ip`` header.
    """

    def __init__(
        self,
        venues: Mapping[str, Venue],
        *,
        hosts: Mapping[str, str] | None = None,
        client_ip: str = "127.0.0.1",
    ) -> None:
        self.venues = dict(venues)
        self.hosts = dict(VENUE_HOSTS if hosts is None else hosts)
        self.client_ip = client_ip

    def venue_for(self, host: str) -> Venue:
        name = self.hosts.get(host, host)
        if name in self.venues:
            return self.venues[name]
        if len(self.venues) == 1:
            return next(iter(self.venues.values()))
        raise httpx.ConnectError(f"no simulated venue serves host {host!r}")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        venue = self.venue_for(request.url.host)
        ip = request.headers.get(CLIENT_IP_HEADER, self.client_ip)
        query = dict(request.url.params.multi_items())
        travel = venue.faults.request_delay()
        if travel > 0:
            await venue.clock.sleep(travel)
        answer = venue.handle(request.method, request.url.path, query, ip)
        timeouts = request.extensions.get("timeout") or {}
        read_timeout: float | None = timeouts.get("read")
        if answer.hang or (read_timeout is not None and answer.delay >= read_timeout):
            if read_timeout is None:
                await asyncio.Event().wait()  # no timeout configured: never answer
            else:
                await venue.clock.sleep(read_timeout)
            raise httpx.ReadTimeout("simulated venue did not answer in time", request=request)
        if answer.delay > 0:
            await venue.clock.sleep(answer.delay)
        if answer.dropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request)
        if answer.reset_after is not None:
            return httpx.Response(answer.status, headers=answer.headers, request=request,
                                  stream=_ResetBody(answer.body, answer.reset_after))
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )


class _ResetBody(httpx.AsyncByteStream):
    """A body whose connection is closed after its first ``sent`` bytes (the reset fault)."""

    def __init__(self, body: bytes, sent: int) -> None:
        self.body = body
        self.sent = sent

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.sent:
            yield self.body[:self.sent]
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body: "
            f"received {self.sent} bytes, expected {len(self.body)}")
