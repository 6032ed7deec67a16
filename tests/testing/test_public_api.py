"""The public surface of ``tradeflood.testing`` is pinned."""

from __future__ import annotations

import tradeflood.testing as testing


def test_public_names() -> None:
    assert set(testing.__all__) == {
        "CLIENT_IP_HEADER",
        "BinanceStreams",
        "BinanceVenue",
        "BitgetStreams",
        "BitgetVenue",
        "BybitStreams",
        "BybitVenue",
        "FaultKind",
        "NoFreeRedisDatabaseError",
        "Faults",
        "Gaps",
        "Instrument",
        "Market",
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
    }
    for name in testing.__all__:
        assert getattr(testing, name) is not None
