"""A funding interval learned from rows stamped off every grid is bounded: rows a millisecond
apart (a hostile or broken reply) must not make the planner page a history at a millisecond."""

from __future__ import annotations

import logging

import pytest

from tradeflood import Query, VirtualClock
from tradeflood.fundinghistory import FundingHistoryBinding, infer_funding_interval
from tradeflood.models import FundingRate

from .conftest import CASES, HOUR, NOW, SYMBOL, VenueCase, make_session


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_an_interval_finer_than_an_hour_is_not_learned(case: VenueCase, clock: VirtualClock,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    query = Query(FundingRate, exchange=case.name, symbol=SYMBOL, start=NOW - 10 * 8 * HOUR, now_ms=NOW)
    with make_session(case.make(clock=clock), clock) as s:
        binding = s.binding_for(query)
    assert isinstance(binding, FundingHistoryBinding)
    assert binding.funding_interval(query) == 8 * HOUR
    off_grid = infer_funding_interval([NOW, NOW + 1, NOW + 3])
    assert off_grid == 1  # what the rows alone would say
    with caplog.at_level(logging.WARNING, logger="tradeflood"):
        binding.learn_interval(SYMBOL, off_grid)
    assert binding.funding_interval(query) == 8 * HOUR  # refused, with a warning
    assert any("finer than any venue's" in r.getMessage() for r in caplog.records)
    binding.learn_interval(SYMBOL, HOUR)  # a real interval is still learned
    assert binding.funding_interval(query) == HOUR
