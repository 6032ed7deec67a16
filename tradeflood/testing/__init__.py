"""A local venue simulator: Bitget, Binance, OKX and Bybit public APIs with their real wire formats.

Venues are deterministic (seeded prices, trades and books; time from a Clock),
enforce the venues' own rate limits and answer with the venues' own error
bodies, and can be told to misbehave (5xx, 429, timeouts, malformed bodies,
short pages, gaps in history). Serve them in-process through
:class:`SimulatorTransport` or over sockets with :class:`Simulator`, which also
serves each venue's WebSocket API (:class:`BitgetStreams`, :class:`BinanceStreams`,
:class:`OkxStreams`, :class:`BybitStreams`)
with faults on command and counters in :class:`StreamStats`. Tests and benchmarks sharing
one Redis take a database of their own with :func:`claim_redis_database`.
"""

from __future__ import annotations

from tradeflood.testing._binance import BinanceVenue
from tradeflood.testing._binance_ws import BinanceStreams
from tradeflood.testing._bitget import BitgetVenue
from tradeflood.testing._bitget_ws import BitgetStreams
from tradeflood.testing._bybit import BybitVenue
from tradeflood.testing._bybit_ws import BybitStreams
from tradeflood.testing._faults import FaultKind, Faults, Gaps
from tradeflood.testing._market import Instrument, Market, default_instruments
from tradeflood.testing._okx import OkxVenue
from tradeflood.testing._okx_ws import OkxStreams
from tradeflood.testing._redisdb import NoFreeRedisDatabaseError, claim_redis_database, renew_redis_claim
from tradeflood.testing._server import Simulator
from tradeflood.testing._streams import take
from tradeflood.testing._transport import CLIENT_IP_HEADER, SimulatorTransport
from tradeflood.testing._venue import SimResponse, Venue, VenueStats
from tradeflood.testing._ws import StreamServer, StreamStats

__all__ = [
    "CLIENT_IP_HEADER",
    "BinanceStreams",
    "BinanceVenue",
    "BitgetStreams",
    "BitgetVenue",
    "BybitStreams",
    "BybitVenue",
    "FaultKind",
    "Faults",
    "Gaps",
    "Instrument",
    "Market",
    "NoFreeRedisDatabaseError",
    "OkxStreams",
    "OkxVenue",
    "SimResponse",
    "Simulator",
    "SimulatorTransport",
    "StreamServer",
    "StreamStats",
    "Venue",
    "VenueStats",
    "claim_redis_database",
    "default_instruments",
    "renew_redis_claim",
    "take",
]
