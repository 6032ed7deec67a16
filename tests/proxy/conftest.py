"""Real forward proxies for the proxy tests: tinyproxy processes on loopback, one egress IP each.

Without tinyproxy the tests that need it are skipped with the reason, except
in CI (``CI=true``), where a missing tinyproxy is a failure: .ci/run installs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tradeflood.testing import Simulator
from tradeflood.testing._tinyproxy import TinyProxy, tinyproxy_path

MINUTE, DAY = 60_000, 86_400_000


@pytest.fixture
def need_tinyproxy() -> None:
    if tinyproxy_path() is None:
        reason = "tinyproxy is not installed (Debian: apt-get install tinyproxy; .ci/run installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def tinyproxies(need_tinyproxy: None) -> Iterator[Callable[..., list[TinyProxy]]]:
    """``tinyproxies(n)``: n running proxies bound to 127.0.0.2, 127.0.0.3, ...; all ended afterwards."""
    made: list[TinyProxy] = []

    def make(n: int, **kwargs: object) -> list[TinyProxy]:
        start = len(made)
        for i in range(n):
            made.append(TinyProxy(bind=f"127.0.0.{2 + start + i}", **kwargs).start())  # type: ignore[arg-type]
        return made[start:]

    try:
        yield make
    finally:
        for proxy in made:
            proxy.close()
        assert all(p.process is None for p in made)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator
