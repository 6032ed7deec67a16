"""tradeflood.stream(): the same live streams as a plain iterator for scripts."""

from __future__ import annotations

import itertools
import time

import pytest

import tradeflood
from tradeflood.models import Trade
from tradeflood.testing import Simulator


def test_sync_iteration_then_break_closes_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    with Simulator() as sim:
        for venue, urls in sim.urls().items():
            for key, url in urls.items():
                monkeypatch.setenv(f"TRADEFLOOD_{venue.upper()}_{key.upper().replace('.', '_')}_URL", url)
        trades = list(itertools.islice(tradeflood.stream(Trade, exchange="binance", symbol="ETH/USDT"), 5))
        assert [t.symbol for t in trades] == ["ETH/USDT"] * 5
        ids = [int(t.id) for t in trades]
        assert ids == sorted(ids) and len(set(ids)) == 5
        stats = sim.streams["binance"].stats
        for _ in range(1000):  # the session closed its socket when the iterator was dropped
            if stats.connections_open == 0:
                break
            time.sleep(0.01)
        assert stats.connections_open == 0 and stats.connections_accepted == 1


def test_sync_stream_with_a_given_session_reports_bad_symbols() -> None:
    with Simulator() as sim, tradeflood.Session(urls=sim.urls(), store=False) as s:
        with pytest.raises(tradeflood.UnknownSymbolError):
            next(tradeflood.stream(Trade, exchange="bitget", symbol="XYZ/USDT", session=s))
        assert sim.streams["bitget"].stats.connections_accepted == 0
