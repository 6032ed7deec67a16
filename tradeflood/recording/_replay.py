"""Replayer: plays a recording back through the session's own stream and fetch code.

The replay swaps only what touches the network. Each WebSocket connection the
stream hub opens is a :class:`ReplayConnection`, which hands the recorded frames of
its venue and endpoint to the same ``Connection._receive`` (decode, topic routing,
feeds, book sync, candle close, events) and replays the recorded downs and ups of
the connection. The HTTP transport answers each request with the recorded reply
to it. A driver task walks the recording in receive-time order and moves the
session's clock to each frame's receive time: a :class:`ReplayClock` at
``speed="max"``, a :class:`~tradeflood.clock.ScaledClock` at ``speed=1`` or ``10``.

No look-ahead: a request made at clock time T gets the reply to the same request
that the live session sent at about T (from ``LATE`` before to ``SOON`` after;
the replay then waits until that reply's receive time, as the live request
waited), else the latest reply received by T; when none was received by T either,
the first unused reply to a request sent live by T + ``BEHIND``, once the clock reaches
its receive time (the live session, slowed by its machine, sent it later than the
replay did: on a clock sped up 60 times, 1 s is 17 ms of real time). Nothing
received after the clock is ever handed out.

A reply the live session marked as handed over later than it arrived (a book
snapshot: the deltas received while it was parsed were bridged into the first
book; see ``TAKEN`` in :mod:`~tradeflood.recording._format`) is handed over when
the replay reaches that mark, after the same frames, and no later frame is played
before its taker has run. A recording without marks (format 1) hands each reply
over at its receive time.

A request the live session stopped before its last byte (its deadline passed; recorded as
``stopped``) is stopped in the replay at the same clock time, with the ``TimeoutError``
that the session's request deadline turns into a ``RequestTimeoutError``, and is retried
like the live one was. A request that failed live on the way (refused, reset mid-body, a
protocol, TLS or name error; recorded as ``failed``) fails at its recorded time with the same
``httpx`` error and message, which the session turns into the same ``NetworkError`` (or
``RequestTimeoutError``, ``PayloadError``) and retries the same way.

A recording of a session that sent by proxies (its ``REST`` records carry a ``route``) replays
flat: the replaying session leaves its proxy scheme aside (no proxy is probed or needs to run), and
every request goes to the recording, answered by the rule above whichever route carried it live.
The scheme's choice is not replayed: it followed the proxies' live health (probes, bans, deaths),
which a replay cannot reproduce without the proxies, and a choice that went otherwise would change
nothing delivered, since replies are matched by request, not by route. A try that failed live
through one proxy (refused, banned) fails in the replay too, and is retried the way a direct
session retries it, to the reply that came through another. A failed try that a proxy's egress
resent at once (a stale connection; the reply says ``resent``) is dropped, as the session never
saw it.

At full speed the replay applies no request deadline of its own (see ``replays_network`` on
:class:`ReplayClock`): it spends no clock time on its own work, so it asks before the live
session did, and its own deadline would stop replies that came in time.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from tradeflood.bodies import BodyTooLarge
from tradeflood.clock import ScaledClock
from tradeflood.errors import ConfigError

from ._clock import ReplayClock, settle
from ._format import (
    CHANNELS,
    DOWN,
    FRAME,
    MANIFEST,
    REST,
    TAKEN,
    UP,
    Record,
    RecordingCorruptError,
    RecordingError,
    RecordingFormatError,
)
from ._reader import block_records, merged, open_directory
from ._recorder import rest_key, venue_locator
from ._replayconn import ReplayConnection, ReplayTransport, _Handle

__all__ = ["ReplayMissError", "Replayer"]

log = logging.getLogger("tradeflood.recording")
LATE_NS = 2_000_000_000
SOON_NS = 1_000_000_000
_STOP_TURNS = 3  # loop turns a stopped reply waits for a cancellation due at the same instant
BEHIND_NS = 10_000_000_000  # how much later than the replay a live session may have sent its first request


class ReplayMissError(RecordingError):
    """A replayed request the recording holds no usable reply to (never recorded, or only later)."""


@dataclass(slots=True)
class _Reply:
    ns: int
    sent_ns: int
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    used: bool = False
    handed: asyncio.Event | None = None  # set when the replay reaches the reply's TAKEN mark
    cut: dict[str, Any] | None = None  # the live read cut the body off there (too large)
    stopped: dict[str, Any] | None = None  # the live request was stopped before its last byte
    failed: dict[str, Any] | None = None  # the live request failed on the way: refused, reset...


@dataclass
class _Endpoint:
    """The replay connections open on one venue endpoint."""

    connections: list[ReplayConnection] = field(default_factory=list)


class Replayer:
    """One replay of the recording in ``directory``, from ``start_ns`` at ``speed``."""

    def __init__(self, directory: str | os.PathLike[str], *, speed: float | str = 1.0,
                 start_ns: int | None = None, urls: dict[str, dict[str, str]] | None = None) -> None:
        self.directory = directory
        ws_files, rest_files = open_directory(directory, "ws"), open_directory(directory, "rest")
        if not ws_files and not rest_files:
            raise RecordingFormatError(f"{directory}: no TradeFlood recording files in this directory")
        first = min(f.first_ns for f in ws_files + rest_files if f.first_ns is not None)
        self.start_ns = first if start_ns is None else start_ns
        if speed == "max":
            self.clock: ReplayClock | ScaledClock = ReplayClock(self.start_ns / 1e9)
        else:
            try:
                factor = float(speed)
            except (TypeError, ValueError):
                raise ConfigError(f"speed must be a positive number or 'max', not {speed!r}") from None
            if not factor > 0:
                raise ConfigError(f"speed must be a positive number or 'max', not {speed!r}")
            self.clock = ScaledClock(factor, start=self.start_ns / 1e9)
        self.problems: list[str] = []
        self._replies: dict[tuple[str, str, str], list[_Reply]] = defaultdict(list)
        self._reply_times: list[int] = []
        self._held: dict[int, list[_Reply]] = defaultdict(list)  # TAKEN mark ns -> replies handed then
        self._load_replies()
        self._locate = venue_locator(urls or {})
        self._endpoints: dict[tuple[str, str], _Endpoint] = defaultdict(_Endpoint)
        self._channels: dict[int, tuple[str, str]] = {}
        self._manifest = _read_manifest(directory)
        self._task: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()
        self.frames = 0
        self.on_finish: list[Any] = []

    # -- what the session plugs in ------------------------------------------------------------

    def connection(self, venue: str, endpoint: str, label: str, base_url: str) -> _Handle:
        return _Handle(self, venue, endpoint)

    def missing(self, venue: str, endpoint: str, topic: str) -> str | None:
        """Why ``topic`` cannot be replayed (it was never recorded), or None if it can."""
        if self._manifest is None:
            return None  # a recording without a manifest: whatever it holds plays
        recorded = self._manifest.get(f"{venue} {endpoint}", [])
        if topic in recorded:
            return None
        return (f"the recording in {self.directory} holds no {topic} "
                f"(it has: {', '.join(recorded) or 'nothing from ' + venue})")

    def hand_over(self) -> AbstractContextManager[None]:
        """A replay marks nothing: the recorded marks say when replies are handed over."""
        return nullcontext()

    def transport(self) -> ReplayTransport:
        return ReplayTransport(self)

    def attach(self, conn: ReplayConnection, handle: _Handle) -> None:
        self._endpoints[(handle.venue, handle.endpoint)].connections.append(conn)
        self.ensure_started()

    def detach(self, conn: ReplayConnection, handle: _Handle) -> None:
        with_them = self._endpoints[(handle.venue, handle.endpoint)].connections
        if conn in with_them:
            with_them.remove(conn)

    def ensure_started(self) -> None:
        """Start the driver on the running loop (the first stream or fetch does)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drive(), name="tradeflood replay")

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- REST ------------------------------------------------------------------------------

    def _load_replies(self) -> None:
        by_arrival: dict[tuple[int, tuple[str, str, str]], _Reply] = {}
        marks: list[Record] = []
        try:
            for _, record in merged(self.directory, ("rest",)):
                if record.kind == TAKEN:
                    marks.append(record)
                if record.kind != REST:
                    continue
                head, _, body = record.data.partition(b"\n")
                meta = orjson.loads(head)
                key = rest_key(meta["venue"], meta["method"], meta["path"])
                if meta.get("resent"):
                    _drop_replaced(self._replies[key], by_arrival, key)
                reply = _Reply(record.ns, meta.get("sent_ns", record.ns), meta["status"],
                               [tuple(h) for h in meta["headers"]], body, cut=meta.get("cut"),
                               stopped=meta.get("stopped"), failed=meta.get("failed"))
                self._replies[key].append(reply)
                by_arrival[(record.ns, key)] = reply
        except RecordingCorruptError as exc:
            self._problem(exc)
        for mark in marks:
            if mark.ns < self.start_ns:
                continue  # handed over before the replay starts: at hand at once
            for ref in orjson.loads(mark.data)["replies"]:
                taken = by_arrival.get((ref["ns"], rest_key(ref["venue"], ref["method"], ref["path"])))
                if taken is not None and taken.handed is None:
                    taken.handed = asyncio.Event()
                    self._held[mark.ns].append(taken)
        self._reply_times = sorted([r.ns for rs in self._replies.values() for r in rs if r.handed is None]
                                   + list(self._held))

    async def answer(self, request: httpx.Request) -> httpx.Response:
        """The recorded reply to ``request`` as of the clock (see the module's rule)."""
        self.ensure_started()
        venue, api, path = self._locate(str(request.url))
        key = rest_key(venue, request.method, path)
        replies = self._replies.get(key)
        now = int(self.clock.time() * 1e9)
        if not replies:
            raise ReplayMissError(f"the recording holds no reply to {request.method} {path} ({venue} {api})")
        times = [r.ns for r in replies]
        pick = None
        for reply in replies[bisect.bisect_left(times, now - LATE_NS):]:
            if reply.sent_ns > now + SOON_NS:
                break
            if not reply.used and reply.sent_ns >= now - LATE_NS:
                pick = reply
                break
        if pick is None:
            i = bisect.bisect_right(times, now) - 1
            if i >= 0:
                pick = replies[i]
            else:
                # Nothing received by now: the replay asked before the live session did (which,
                # slowed by its machine, sent it later than SOON after this clock time). The
                # first reply, unused, is the one to that request: handed over at its arrival.
                pick = next((r for r in replies if not r.used and r.sent_ns <= now + BEHIND_NS), None)
                if pick is None:
                    raise ReplayMissError(f"{request.method} {path} ({venue}): no reply recorded before the "
                                          f"replay's clock ({now} ns); the first is at {times[0]} ns")
        pick.used = True
        if pick.handed is not None:
            await pick.handed.wait()  # the driver reaches its TAKEN mark, after the frames before it
        elif pick.ns > now:
            await self.clock.sleep((pick.ns - now) / 1e9)
        if pick.cut is not None:  # the live session got no body: neither does its replay
            raise BodyTooLarge(pick.cut["limit"], pick.cut["read"], pick.cut["encoding"])
        if pick.failed is not None:  # the live try failed here, with this error: so does its replay
            raise _failure(pick.failed, request)
        if pick.stopped is not None:
            # Live, a deadline stopped this request here. A deadline of the replay's own due at
            # this instant (its fetch's) fires first, as it did live; else the request's stops it.
            for _ in range(_STOP_TURNS):
                await asyncio.sleep(0)
            after = pick.stopped.get("after_ns", pick.ns - pick.sent_ns) / 1e9
            raise TimeoutError(f"{request.method} {path} ({venue}): stopped after {after:g} s while "
                               f"recorded, before its last byte")
        return httpx.Response(pick.status, headers=pick.headers, content=pick.body, request=request,
                              extensions={"tradeflood.received_ms": pick.ns // 1_000_000})

    # -- the driver ----------------------------------------------------------------------------

    def _timeline(self) -> Iterator[list[Record]]:
        """The ws records from the start a block at a time, with the REST receive times woven in
        (as records of kind REST)."""
        rest = [t for t in self._reply_times if t >= self.start_ns]
        i = 0
        try:
            for block in block_records(self.directory, "ws", self.start_ns, plain=True):
                if i < len(rest) and rest[i] <= block[-1][1]:
                    woven: list[Record] = []
                    for record in block:
                        while i < len(rest) and rest[i] <= record[1]:
                            woven.append(Record(REST, rest[i], 0, b""))
                            i += 1
                        woven.append(record)
                    block = woven
                yield block
        except RecordingCorruptError as exc:
            self._problem(exc)
        yield [Record(REST, t, 0, b"") for t in rest[i:]]

    async def _drive(self) -> None:
        clock = self.clock
        fast = isinstance(clock, ReplayClock)
        now = int(clock.time() * 1e9)
        mono = clock.monotonic()
        channels = self._channels
        endpoints = self._endpoints
        routes: dict[int, list[ReplayConnection]] = {}  # channel -> its endpoint's connections
        frames = 0
        ms = now // 1_000_000
        try:
            await asyncio.sleep(0)  # let the session that started the replay finish its step
            for block in self._timeline():
                for kind, ns, channel, data in block:
                    if ns > now:
                        when = ns / 1e9
                        if not fast:
                            await clock.sleep(when - clock.time())
                        elif clock.due(when):  # type: ignore[union-attr]
                            await clock.step_to(when)  # type: ignore[union-attr]
                        else:
                            clock.set(when)  # type: ignore[union-attr]
                            await asyncio.sleep(0)  # one turn of the loop per socket read, as live
                        now = ns
                        ms = ns // 1_000_000
                        mono = clock.monotonic()
                    if kind == FRAME:
                        conns = routes.get(channel)
                        if conns:
                            frames += 1
                            for conn in conns:  # ReplayConnection.play, inlined: the hot path
                                conn._now_ns, conn._now_ms, conn._now = ns, ms, mono
                                conn._receive(data)
                    elif kind == REST:
                        for reply in self._held.pop(ns, ()):
                            assert reply.handed is not None
                            reply.handed.set()
                        await settle()  # the reply's taker runs before the frames that followed it live
                    elif kind == CHANNELS:
                        for number, meta in orjson.loads(data).items():
                            where = channels[int(number)] = (meta["venue"], meta["endpoint"])
                            routes[int(number)] = endpoints[where].connections
                    elif kind in (UP, DOWN):
                        event = orjson.loads(data)
                        for conn in routes.get(channel, ()):
                            conn.play_event(kind, event)
            await settle()
        finally:
            self.frames = frames
            for held in self._held.values():  # a mark the recording lost: nobody waits forever
                for reply in held:
                    assert reply.handed is not None
                    reply.handed.set()
            if isinstance(clock, ReplayClock):
                clock.release()
            self.finished.set()
            for callback in self.on_finish:
                callback()

    def _problem(self, exc: RecordingError) -> None:
        self.problems.append(str(exc))
        log.warning("%s", exc)


def _drop_replaced(replies: list[_Reply], by_arrival: dict[tuple[int, tuple[str, str, str]], _Reply],
                   key: tuple[str, str, str]) -> None:
    """Forget the failed try a ``resent`` reply replaced: the proxy's egress sent the request once
    more at once, so the session never saw that failure, and neither does its replay."""
    if replies and replies[-1].failed is not None:  # recorded just before: one send at a time
        by_arrival.pop((replies.pop().ns, key), None)


def _failure(failed: dict[str, Any], request: httpx.Request) -> httpx.RequestError:
    """The error a ``failed`` record says the live try ended with: the first of its recorded
    ``httpx`` classes this ``httpx`` has (a transport error if none, or the record is malformed)."""
    names = failed.get("error")
    kind: type[httpx.RequestError] = httpx.TransportError
    for name in names if isinstance(names, list) else ():
        found = getattr(httpx, name, None) if isinstance(name, str) else None
        if isinstance(found, type) and issubclass(found, httpx.RequestError):
            kind = found
            break
    return kind(str(failed.get("message", "")), request=request)


def _read_manifest(directory: str | os.PathLike[str]) -> dict[str, list[str]] | None:
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    try:
        topics = orjson.loads(path.read_bytes())["topics"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise RecordingFormatError(f"{path}: unreadable manifest ({exc})") from None
    return topics  # type: ignore[no-any-return]


