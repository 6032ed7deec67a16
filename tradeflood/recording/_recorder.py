"""Recorder: keeps what the venues sent, as it arrived, while a live session runs.

Two taps feed it. Each WebSocket connection hands it every raw frame with its
receive time in ns (and its ups and downs with the topics it carried); the
session's HTTP transport is wrapped so that every REST reply the fetches and the
streams used (instrument lists, book snapshots, candle backfills) is kept with its
venue, endpoint, status and headers. Requests a proxy carries go through the proxy's own
client, which the session gives a tap of the same transport (:meth:`RecordingTransport.through`):
they are recorded alike, with the proxy's name as their ``route``. Nothing TradeFlood made of
the data is kept, so a replay rebuilds it with the same code.

A stream that fetches over REST and then applies the result among its frames (a book
snapshot, into which the deltas received meanwhile are bridged) wraps the fetch in
:meth:`Recorder.hand_over`: the moment the reply reached it is kept as a ``TAKEN``
record, and a replay hands the reply over after the same frames.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from tradeflood import registry
from tradeflood.bodies import DEFAULT_MAX_REPLY_BYTES, BodyTooLarge, read_bounded
from tradeflood.clock import Clock
from tradeflood.sending import RESENT

from ._format import DOWN, MANIFEST, REST, TAKEN, UP, VERSION
from ._writer import BlockWriter

__all__ = ["Recorder", "RecordingTransport", "failure", "rest_key", "venue_locator"]

# Headers a replay cannot honour as they were: the body is kept decoded, whole (up to the bound).
_DROPPED = {"content-encoding", "content-length", "transfer-encoding", "connection"}

# The replies recorded within a hand_over() (the requests of a fetch run in tasks that
# copy the caller's context, so they all append to the caller's list).
_HANDING: ContextVar[list[dict[str, Any]] | None] = ContextVar("tradeflood_recording_hand_over",
                                                               default=None)


class _ConnectionRecorder:
    """The tap of one connection: its frames, ups and downs into the ``ws`` files."""

    __slots__ = ("_append", "_channel", "_recorder", "_where", "frame")

    def __init__(self, recorder: Recorder, channel: int, where: str) -> None:
        self._recorder = recorder
        self._append = recorder.ws.append
        self._channel = channel
        self._where = where
        self.frame = recorder.ws.frame_sink(channel)  # frame(raw, received_ns): the hot path

    def carry(self, topic: str) -> None:
        self._recorder.carried(self._where, topic)

    def up(self, down_since_ms: int | None, now_ms: int, topics: list[str]) -> None:
        body = {"down_since_ms": down_since_ms, "now_ms": now_ms, "topics": topics}
        self._append(UP, self._recorder.now_ns(), self._channel, orjson.dumps(body))

    def down(self, now_ms: int, reason: str, topics: list[str]) -> None:
        body = {"now_ms": now_ms, "reason": reason, "topics": topics}
        self._append(DOWN, self._recorder.now_ns(), self._channel, orjson.dumps(body))


class Recorder:
    """Records a session's raw traffic into ``directory`` (see :mod:`tradeflood.recording`)."""

    def __init__(self, directory: str | os.PathLike[str], clock: Clock, *, rotate_seconds: int = 3600,
                 flush_every: float = 0.2) -> None:
        self.directory = directory
        self.clock = clock
        self.ws = BlockWriter(directory, "ws", rotate_seconds=rotate_seconds, flush_every=flush_every)
        self.rest = BlockWriter(directory, "rest", rotate_seconds=rotate_seconds, flush_every=flush_every)
        self._channels = 0
        self._topics: dict[str, list[str]] = {}

    def connection(self, venue: str, endpoint: str, label: str, base_url: str) -> _ConnectionRecorder:
        """A new connection's tap (the stream hub asks for one per connection)."""
        self._channels += 1
        self.ws.channel(self._channels, {"venue": venue, "endpoint": endpoint, "label": label,
                                         "url": base_url})
        return _ConnectionRecorder(self, self._channels, f"{venue} {endpoint}")

    def now_ns(self) -> int:
        """The clock's time in ns: where an up or a down goes among the frames."""
        return int(self.clock.time() * 1e9)

    def carried(self, where: str, topic: str) -> None:
        """Note a topic a connection carries in ``manifest.json`` (what a replay can serve)."""
        topics = self._topics.setdefault(where, [])
        if topic in topics:
            return
        topics.append(topic)
        path = Path(self.directory)
        path.mkdir(parents=True, exist_ok=True)
        temporary = path / f".{MANIFEST}.tmp"
        temporary.write_bytes(orjson.dumps({"format": VERSION, "topics": self._topics}))
        os.replace(temporary, path / MANIFEST)

    @contextmanager
    def hand_over(self) -> Iterator[None]:
        """Wrap a stream's fetch whose result it applies among its frames: when the fetch
        returns (or fails), the last reply recorded within it is marked as handed over now."""
        replies: list[dict[str, Any]] = []
        token = _HANDING.set(replies)
        try:
            yield
        finally:
            _HANDING.reset(token)
            if replies:
                self.rest.append(TAKEN, self.now_ns(), 0, orjson.dumps({"replies": replies[-1:]}))

    def transport(self, inner: httpx.AsyncBaseTransport | None, urls: Mapping[str, Mapping[str, str]],
                  *, max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES) -> RecordingTransport:
        """An HTTP transport that records every reply passing through ``inner``."""
        return RecordingTransport(self, inner or httpx.AsyncHTTPTransport(), venue_locator(urls),
                                  max_reply_bytes=max_reply_bytes)

    def close(self) -> None:
        """Write the last blocks and close the files."""
        try:
            self.ws.close()
        finally:
            self.rest.close()


def venue_locator(urls: Mapping[str, Mapping[str, str]]) -> Callable[[str], tuple[str, str, str]]:
    """``url -> (venue, api, path)`` against the venues' base URLs (with a session's overrides)."""
    bases: list[tuple[str, str, str]] = []
    seen = set()
    for binding in registry.bindings_for().values():
        cls = binding.connector
        if cls in seen:
            continue
        seen.add(cls)
        for api, base in cls(urls.get(cls.name)).base_urls.items():
            if base.startswith("http"):
                bases.append((base.rstrip("/"), cls.name, api))
    bases.sort(key=lambda b: -len(b[0]))

    def locate(url: str) -> tuple[str, str, str]:
        for base, venue, api in bases:
            if url.startswith(base):
                return venue, api, url[len(base):] or "/"
        parsed = httpx.URL(url)
        return parsed.host, "rest", url[len(str(parsed.copy_with(path="/", query=None))) - 1:]

    return locate


def failure(exc: httpx.RequestError, after_ns: int) -> dict[str, Any]:
    """How a request failed, as a ``failed`` record keeps it: its ``httpx`` error classes, most
    derived first (a replay raises the first its ``httpx`` has), the message, the time taken."""
    names = [k.__name__ for k in type(exc).__mro__ if getattr(httpx, k.__name__, None) is k]
    names = names[:names.index("RequestError") + 1]
    return {"error": names, "message": str(exc), "after_ns": after_ns}


def rest_key(venue: str, method: str, path: str) -> tuple[str, str, str]:
    """How a replay matches a request to recorded replies: venue, method, path below the venue's
    base URL (whichever of its APIs) and the query parameters in sorted order."""
    url = httpx.URL(path)
    query = sorted(url.params.multi_items())
    return venue, method.upper(), url.path + ("?" + urlencode(query) if query else "")


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to the inner transport and records each reply, body decoded.

    The body is read as the live transport reads it (:func:`~tradeflood.bodies.read_bounded`):
    streamed, decompressed a piece at a time, cut off past ``max_reply_bytes``, inside
    the request's deadline; a reply cut off is recorded as such (no body), and raised. A
    request stopped before its last byte (its deadline passed) is recorded as ``stopped``
    (no body, and the status only if the headers had come), and the cancellation goes on.
    A request that failed on the way (refused, reset mid-body, a protocol, TLS or name
    error: an ``httpx.RequestError``) is recorded as ``failed``, with the error's class and
    message, and the error goes on. A transport with a ``route`` (a proxy's name, see
    :meth:`through`) keeps it in each record it makes.
    """

    def __init__(self, recorder: Recorder, inner: httpx.AsyncBaseTransport,
                 locate: Callable[[str], tuple[str, str, str]], *,
                 max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES, route: str | None = None) -> None:
        self.recorder = recorder
        self.inner = inner
        self.locate = locate
        #: Bytes a reply's body may have once decoded: past it, the body is cut off there
        #: (:class:`~tradeflood.bodies.BodyTooLarge`, which the session reports as too large).
        self.max_reply_bytes = max_reply_bytes
        #: The way out its requests take, kept in their records (None: the session's own, direct).
        self.route = route

    def through(self, inner: httpx.AsyncBaseTransport, route: str) -> RecordingTransport:
        """The same recording over ``inner``, its records marked with ``route``: the tap a proxy
        scheme sends each proxy's requests through (a :data:`~tradeflood.sending.TransportTap`)."""
        return RecordingTransport(self.recorder, inner, self.locate, max_reply_bytes=self.max_reply_bytes,
                                  route=route)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = int(self.recorder.clock.time() * 1e9)
        response: httpx.Response | None = None
        cut: BodyTooLarge | None = None
        try:
            response = await self.inner.handle_async_request(request)
            try:  # as the live transport reads: streamed, bounded once decoded (see tradeflood.bodies)
                body = await read_bounded(response, self.max_reply_bytes)
            except BodyTooLarge as exc:
                body, cut = b"", exc
            finally:
                await response.aclose()
        except asyncio.CancelledError:
            # Stopped before its last byte (the request's deadline, most often): kept as stopped,
            # so that a replay stops the same request at the same time instead of finding no reply.
            self._record(request, sent, response, b"", {"stopped": {"after_ns": self._now_ns() - sent}})
            raise
        except httpx.RequestError as exc:
            # No reply, or only part of one: kept as failed, so that a replay fails the same try
            # with the same error (and the session retries past it, or gives up, as it did live).
            self._record(request, sent, response, b"", {"failed": failure(exc, self._now_ns() - sent)})
            raise
        ns, headers = self._record(request, sent, response, body, {} if cut is None else {
            "cut": {"limit": cut.limit, "read": cut.read, "encoding": cut.encoding}})
        if cut is not None:  # kept as cut off, so that a replay fails the request the same way
            raise cut
        assert response is not None
        return httpx.Response(response.status_code, headers=headers, content=body, request=request,
                              extensions={**response.extensions, "tradeflood.received_ms": ns // 1_000_000})

    def _now_ns(self) -> int:
        return int(self.recorder.clock.time() * 1e9)

    def _record(self, request: httpx.Request, sent: int, response: httpx.Response | None, body: bytes,
                extra: dict[str, Any]) -> tuple[int, list[tuple[str, str]]]:
        """Append one REST record (a reply, or how it ended without one); its time and headers."""
        ns = self._now_ns()
        venue, api, path = self.locate(str(request.url))
        headers = [] if response is None else [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROPPED]
        meta: dict[str, Any] = {"venue": venue, "api": api, "method": request.method, "path": path,
                                "status": 0 if response is None else response.status_code,
                                "headers": headers, "sent_ns": sent, **extra}
        if self.route is not None:
            meta["route"] = self.route
        if request.extensions.get(RESENT):
            meta["resent"] = True
        self.recorder.rest.append(REST, ns, 0, orjson.dumps(meta) + b"\n" + body)
        handing = _HANDING.get()
        if handing is not None:
            handing.append({"ns": ns, "venue": venue, "method": request.method, "path": path})
        return ns, headers

    async def aclose(self) -> None:
        await self.inner.aclose()
