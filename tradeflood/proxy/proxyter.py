"""Proxyter: a proxy scheme as a standalone forward proxy (``tradeflood proxyter --config proxies.toml``).

Clients set it as their HTTP(S) proxy and name the request type as the proxy
user name: ``http://candles:x@127.0.0.1:8899`` (``curl -x``, ``httpx.Client(proxy=...)``,
``websockets.connect(..., proxy=...)``). ``GET http://127.0.0.1:8899/stats`` and
``/health`` report on the upstream proxies. The configuration file is described
in :mod:`tradeflood.proxy._config`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from ._config import ProxyterConfig, load_config, parse_config
from ._config import _listen as parse_listen
from ._proxyter import Proxyter

__all__ = ["Proxyter", "ProxyterConfig", "load_config", "parse_config", "serve"]


def serve(config_path: str | Path, listen: str | None = None,
          echo: Callable[[str], object] = print) -> None:
    """Run Proxyter from a configuration file until interrupted, echoing every proxy event."""
    config = load_config(config_path)
    host, port = parse_listen(listen, "--listen") if listen else (config.host, config.port)
    config.scheme.on_event = lambda event: echo(str(event))

    async def run() -> None:
        async with Proxyter(config.scheme, host, port) as proxyter:
            echo(f"proxyter listening on {proxyter.url} "
                 f"(pools: {', '.join(config.scheme.pools)}; /stats and /health)")
            await proxyter.serve_forever()

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run())
