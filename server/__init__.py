"""The optional HTTP and WebSocket service over TradeFlood.

Reserved namespace: the service itself is planned work (see the project's
issues); nothing is exported yet.
"""

from __future__ import annotations

__all__: list[str] = []
