"""The README's main job: the offline demo runs end to end against the simulator."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest

from tradeflood.testing.demo import run_demo

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_runs_offline_and_reports_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the demo's work folder goes
    out = io.StringIO()
    assert run_demo(out) == 0
    assert list(tmp_path.iterdir()) == []  # it leaves nothing behind
    text = out.getvalue()
    assert "Demo finished: every candle present, no 429, streams whole." in text
    assert "upstream subscriptions: 2 on 1 connection; every consumer saw trade" in text
    assert "event: Reconnected" in text and "event: TradeGap" in text
    assert "in order and none twice: True" in text
    assert "50400 candles" in text and "2880 candles" in text and "480 candles" in text
    rerun = text.split("answered from disk.\n  ", 1)[1].split("\n", 1)[0]
    sent, open_pages = int(rerun.split()[0]), int(rerun.split("(")[1].split()[0])
    assert sent == open_pages <= 1  # only a page holding the open candle is asked again
    assert "same closed candles: True" in rerun
