"""The TradeFlood server: REST, WebSocket, long-poll and callbacks over one shared Session.

::

    tradeflood serve                                   # 127.0.0.1:8000
    tradeflood serve --host 0.0.0.0 --config server.toml

    from tradeflood.server import ServerSettings, create_app
    app = create_app(ServerSettings(api_keys={"k1"}))  # an ASGI app to mount elsewhere
"""

from __future__ import annotations

from ._app import create_app
from ._callbacks import sign
from ._settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "sign"]
