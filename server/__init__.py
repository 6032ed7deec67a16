"""The TradeFlood server: REST, WebSocket, long-poll and callbacks over one shared Session.

::

    tradeflood serve                                   # 127.0.0.1:8000
    tradeflood serve --host 0.0.0.0 --config server.toml

    from tradeflood.server import ServerSettings, create_app
    app = create_app(ServerSettings(api_keys={"k1"}))  # an ASGI app to mount elsewhere

Needs the ``server`` extra (FastAPI, uvicorn, prometheus-client); the names are
imported on first use, so ``tradeflood`` itself works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import create_app
    from ._callbacks import sign
    from ._settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "sign"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from ._app import create_app

        return create_app
    if name == "sign":
        from ._callbacks import sign

        return sign
    if name == "ServerSettings":
        from ._settings import ServerSettings

        return ServerSettings
    raise AttributeError(f"module 'tradeflood.server' has no attribute {name!r}")
