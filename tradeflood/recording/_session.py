"""How a :class:`~tradeflood.Session` records (``record=``) or replays (``replay=``)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from tradeflood.bodies import DEFAULT_MAX_REPLY_BYTES
from tradeflood.clock import Clock, LiveClock
from tradeflood.errors import ConfigError, TradeFloodError
from tradeflood.streams._hub import StreamSettings
from tradeflood.timeparse import parse_time

from ._recorder import Recorder
from ._replay import Replayer
from ._replayconn import ReplayConnection

if TYPE_CHECKING:
    from tradeflood.proxy import ProxyScheme
    from tradeflood.sending import TransportTap

__all__ = ["SessionRecording", "session_recording"]


@dataclasses.dataclass
class SessionRecording:
    """What a recording or replaying session runs on, and what it closes at the end."""

    clock: Clock
    transport: httpx.AsyncBaseTransport | None
    stream_settings: StreamSettings
    recorder: Recorder | None = None
    replayer: Replayer | None = None
    #: What a proxy scheme's own clients send through: the recording's, so nothing goes unrecorded.
    tap: TransportTap | None = None

    def routes(self, proxies: ProxyScheme | None) -> ProxyScheme | None:
        """The proxy scheme the session sends by: a replay leaves it aside (never attached, never
        started, no proxy probed), since every route's replies are in the recording and a replay
        answers a request alike whichever route carried it live."""
        return None if self.replayer is not None else proxies

    def bind(self, session: Any) -> None:
        """A replay that reaches the end of its recording ends the session's streams."""
        if self.replayer is not None:
            self.replayer.on_finish.append(lambda: _finish_streams(session))

    async def aclose(self) -> None:
        if self.replayer is not None:
            await self.replayer.aclose()
        if self.recorder is not None:
            await asyncio.to_thread(self.recorder.close)


def _finish_streams(session: Any) -> None:
    hub = getattr(session, "_streams", None)
    if hub is None:
        return
    for source in list(hub.deliveries.sources.values()):
        sub = getattr(source.data, "sub", None)
        if sub is not None:
            sub.consumer.finish()


def session_recording(*, record: str | os.PathLike[str] | None, replay: str | os.PathLike[str] | None,
                      speed: float | str, start: Any, clock: Clock | None,
                      transport: httpx.AsyncBaseTransport | None, stream_settings: StreamSettings | None,
                      urls: Mapping[str, Mapping[str, str]] | None,
                      max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES) -> SessionRecording:
    """Check the options and build the clock, transport and stream settings they need."""
    settings = stream_settings or StreamSettings()
    if record is not None and replay is not None:
        raise ConfigError("a session either records or replays, not both")
    if replay is None:
        if start is not None or speed != 1:
            raise ConfigError("speed= and start= apply to a replay (Session(replay='data/', ...))")
        clock = clock or LiveClock()
        recorder = Recorder(os.fspath(record), clock)  # type: ignore[arg-type]
        rest = recorder.transport(transport, urls or {}, max_reply_bytes=max_reply_bytes)
        return SessionRecording(clock, rest, dataclasses.replace(settings, tap=recorder), recorder=recorder,
                                tap=rest.through)
    if clock is not None or transport is not None:
        raise ConfigError("a replaying session brings its own clock and transport; pass neither")
    start_ns = None
    if start is not None:
        try:
            start_ns = parse_time(start, now_ms=0) * 1_000_000
        except TradeFloodError as exc:
            raise ConfigError(f"start={start!r}: {exc}") from None
    replayer = Replayer(os.fspath(replay), speed=speed, start_ns=start_ns,
                        urls={k: dict(v) for k, v in (urls or {}).items()})
    return SessionRecording(replayer.clock, replayer.transport(),
                            dataclasses.replace(settings, tap=replayer, connection_class=ReplayConnection),
                            replayer=replayer)
