"""A Redis database number of a run's own, for tests and benchmarks sharing one Redis server.

Two runs on one machine sharing a database would empty each other's keys mid-run (a shared
rate window wiped is a burst of requests past the venue's limit; a benchmark's ``FLUSHDB``
wipes a test's streams). Each run claims a free database with ``SET tradeflood.tests.claim NX``
(an hour, renewed by :func:`renew_redis_claim`) and gives it back at exit.
"""

from __future__ import annotations

import atexit
import os

CLAIM_KEY = "tradeflood.tests.claim"
# Not 0 (users' default database); 1 and 2 are left to people trying things by hand.
CANDIDATES = (14, 15, 10, 9, 8, 7, 6, 5, 4, 3, 13, 12, 11)
ENV_FORCE = "TRADEFLOOD_TEST_REDIS_DB"


class NoFreeRedisDatabaseError(RuntimeError):
    """Every candidate database is claimed by another run (or Redis does not answer)."""


def claim_redis_database(host: str = "127.0.0.1", port: int = 6379) -> int:
    """Claim a database number no other run holds and return it; given back when this process exits.

    ``$TRADEFLOOD_TEST_REDIS_DB`` forces a number (no claim is taken). Raises
    :class:`NoFreeRedisDatabaseError` when every candidate is taken, and lets redis-py's
    ``ConnectionError`` through when no Redis answers, so a caller can skip or fail as it sees fit.
    """
    forced = os.environ.get(ENV_FORCE)
    if forced:
        return int(forced)
    import redis

    for db in CANDIDATES:
        client = redis.Redis(host=host, port=port, db=db, socket_connect_timeout=2)
        try:
            if client.set(CLAIM_KEY, os.getpid(), nx=True, ex=3600):
                atexit.register(_give_back, host, port, db)
                return db
        finally:
            client.close()
    raise NoFreeRedisDatabaseError(
        f"every candidate Redis database {CANDIDATES} on {host}:{port} is claimed by another run "
        f"(key {CLAIM_KEY!r}); wait for one to finish or set ${ENV_FORCE}")


def renew_redis_claim(client: object) -> None:
    """Re-take this process's claim on the client's database (after a ``FLUSHDB`` emptied it)."""
    client.set(CLAIM_KEY, os.getpid(), ex=3600)  # type: ignore[attr-defined]


def _give_back(host: str, port: int, db: int) -> None:
    import redis

    client = redis.Redis(host=host, port=port, db=db, decode_responses=True)
    try:
        if client.get(CLAIM_KEY) == str(os.getpid()):
            client.delete(CLAIM_KEY)
    except redis.exceptions.RedisError:
        pass
    finally:
        client.close()
