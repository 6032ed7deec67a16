"""A small WebSocket client for the server tests: send JSON, read frames with deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect


async def open_socket(url: str, **kwargs: Any) -> ClientConnection:
    """A test client without keepalive pings: it reads only when the test does, so the pong to
    its ping may wait behind unread frames (the server's queue behind 10,000 subscribes, its own
    behind a stream it reads later) for longer than a ping timeout on a loaded machine."""
    kwargs.setdefault("ping_interval", None)
    return await connect(url if "/v1/stream" in url else url + "/v1/stream",
                         max_size=None, open_timeout=30, **kwargs)


async def send(ws: ClientConnection, message: Any) -> None:
    await ws.send(orjson.dumps(message).decode())


async def frames(ws: ClientConnection, n: int, *, keep: Callable[[dict[str, Any]], bool] = lambda f: True,
                 timeout: float = 15.0) -> list[dict[str, Any]]:
    """The next ``n`` frames that ``keep`` accepts."""
    out: list[dict[str, Any]] = []

    async def run() -> None:
        while len(out) < n:
            frame = orjson.loads(await ws.recv())
            if keep(frame):
                out.append(frame)

    await asyncio.wait_for(run(), timeout)
    return out


def data(frame: dict[str, Any]) -> bool:
    return "data" in frame


async def subscribe(ws: ClientConnection, sub_id: str, **spec: Any) -> dict[str, Any]:
    """Subscribe and return the server's answer (``subscribed`` or ``error``)."""
    await send(ws, {"op": "subscribe", "id": sub_id, **spec})
    (answer,) = await frames(ws, 1, keep=lambda f: f.get("op") in ("subscribed", "error")
                             and f.get("id") == sub_id)
    return answer
