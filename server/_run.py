"""Running the app under uvicorn with a bounded, orderly shutdown on SIGTERM and SIGINT.

On a signal the server stops accepting, closes every WebSocket with 1001
(going away), flushes callback batches, then lets uvicorn finish open HTTP
requests and runs the app's shutdown (streams, session, store), all within
``shutdown_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
from collections.abc import Iterator
from typing import Any

import uvicorn

from ._app import create_app
from ._settings import ServerSettings

__all__ = ["JsonLines", "run"]

log = logging.getLogger("tradeflood.server")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per log line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                               "logger": record.name, "msg": record.getMessage()}
        out.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app to drain its clients before uvicorn's own shutdown,
    and exiting with status 0 after a clean shutdown on a signal (uvicorn re-raises it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                if self.started:
                    self._captured_signals.clear()  # handled: shut down in order

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        state = getattr(self.config.loaded_app, "state", None)
        app_state = getattr(getattr(self, "_app", None), "state", None) or state
        tf = getattr(app_state, "tradeflood", None)
        if tf is not None:
            try:
                await asyncio.wait_for(tf.drain(), self.config.timeout_graceful_shutdown or 10)
            except TimeoutError:
                log.warning("draining clients took too long; going on with shutdown")
        await super().shutdown(sockets)


def logging_config() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    for name in ("tradeflood", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def run(settings: ServerSettings) -> None:
    """Serve until SIGTERM or SIGINT."""
    settings.check_exposure()
    logging_config()
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                            ws_max_size=max(4 * settings.max_ws_message_bytes, 1 << 20) * 2,
                            timeout_graceful_shutdown=int(settings.shutdown_timeout), lifespan="on")
    server = _Server(config)
    server._app = app  # type: ignore[attr-defined]
    server.run()
