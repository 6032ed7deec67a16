"""Proxyter: a proxy scheme as a standalone forward proxy (``tradeflood proxyter --config proxies.toml``).

Clients set it as their HTTP(S) proxy and name the request type as the proxy
user name: ``http://candles:SECRET@127.0.0.1:8899`` (``curl -x``, ``httpx.Client(proxy=...)``,
``websockets.connect(..., proxy=...)``). ``GET http://127.0.0.1:8899/stats`` and
``/health`` report on the upstream proxies. The configuration file is described
in :mod:`tradeflood.proxy._config`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._access import Caps, ClientAuth, Destinations
from ._config import ProxyterConfig, load_config, parse_config
from ._config import _listen as parse_listen
from ._proxyter import Proxyter

__all__ = ["Caps", "ClientAuth", "Destinations", "Proxyter", "ProxyterConfig", "load_config", "parse_config",
           "serve"]


def serve(config_path: str | Path, listen: str | None = None,
          echo: Callable[[str], object] = print) -> None:
    """Run Proxyter from a configuration file until interrupted, echoing every proxy event."""
    config = load_config(config_path)
    host, port = parse_listen(listen, "--listen") if listen else (config.host, config.port)
    config.scheme.on_event = lambda event: echo(str(event))
    handler = _EchoHandler(echo)
    logger = logging.getLogger("tradeflood.proxy.proxyter")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    async def run() -> None:
        asyncio.get_running_loop().set_exception_handler(_one_line)
        async with Proxyter.from_config(config, (host, port)) as proxyter:
            auth = proxyter.auth
            clients = (f"{len(auth.users)} user(s), {len(auth.tokens)} token(s)" if auth.required
                       else "anyone on loopback")
            allowed = len(proxyter.allow.allowed) if proxyter.allow is not None else 0
            echo(f"proxyter listening on {proxyter.url} (pools: {', '.join(config.scheme.pools)}; "
                 f"clients: {clients}; {allowed} allowed destinations; /stats and /health)")
            await proxyter.serve_forever()

    try:
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(run())
    finally:
        logger.removeHandler(handler)


def _one_line(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """What asyncio reports (an accept that fails for want of file descriptors, say) as one
    log line, not a traceback per occurrence."""
    exc = context.get("exception")
    logging.getLogger("tradeflood.proxy.proxyter").warning(
        "proxyter: %s%s", context.get("message", "event loop error"), f": {exc!r}" if exc else "")


class _EchoHandler(logging.Handler):
    """Proxyter's log lines (refusals, malformed messages, unreachable upstreams), one echo each."""

    def __init__(self, echo: Callable[[str], object]) -> None:
        super().__init__(logging.INFO)
        self.echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        self.echo(record.getMessage())
