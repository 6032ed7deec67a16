"""StreamHost: what the live streams need of the session that hosts them."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

# import cycle: types only: the hub makes feeds and subscriptions, which call back into it
if TYPE_CHECKING:
    from tradeflood.clock import Clock
    from tradeflood.connector import Connector
    from tradeflood.models import Model
    from tradeflood.proxy import ProxyScheme

    from ._hub import StreamHub, StreamSettings

__all__ = ["StreamHost"]

T = TypeVar("T")


class StreamHost(Protocol):
    """A session as the streams see it: its clock, connectors and REST fetches (snapshots,
    instrument lists, polls), its proxies and its stream hub (``tradeflood.Session`` is one)."""

    clock: Clock
    proxies: ProxyScheme | None
    stream_settings: StreamSettings | None

    def now_ms(self) -> int: ...

    def connector(self, cls: type[Connector]) -> Connector: ...

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T: ...

    async def afetch(self, model: type[Model], **params: Any) -> Any: ...

    @property
    def stream_hub(self) -> StreamHub: ...
