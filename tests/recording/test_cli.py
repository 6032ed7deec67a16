"""``tradeflood record`` and ``tradeflood replay`` against the simulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tradeflood.cli import main
from tradeflood.clock import ScaledClock
from tradeflood.recording import RecordingFile
from tradeflood.testing import BitgetVenue, Simulator

pytestmark = pytest.mark.integration


def url_flags(sim: Simulator, venue: str) -> list[str]:
    flags = []
    for api, url in sim.urls()[venue].items():
        flags += ["--url", f"{venue}={url}" if api == "rest" else f"{venue}.{api}={url}"]
    return flags


def test_record_then_replay_prints_the_recorded_trades(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "data"
    # The venue's market runs 20 times faster than real time, so two seconds carry many trades.
    with Simulator({"bitget": BitgetVenue(clock=ScaledClock(20.0))}) as sim:
        status = main(["record", "trade", "--exchange", "bitget", "--symbol", "BTC/USDT", "--out", str(out),
                       "--duration", "2s", *url_flags(sim, "bitget")])
    assert status == 0
    err = capsys.readouterr().err
    recorded = int(re.search(r"Trade bitget BTC/USDT: (\d+) items", err)[1])  # type: ignore[index]
    assert recorded >= 10
    assert main(["replay", str(out), "--model", "trade", "--exchange", "bitget", "--symbol", "BTC/USDT",
                 "--speed", "max", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    trades = [json.loads(line) for line in lines]
    assert recorded <= len(trades) <= recorded + 50  # what the live side had not handed out at its end
    assert {t["symbol"] for t in trades} == {"BTC/USDT"} and all(float(t["price"]) > 0 for t in trades)
    ids = [int(t["id"]) for t in trades]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # --count, CSV and a start time within the recording
    (ws,) = out.glob("ws-*.tfrec")
    blocks = RecordingFile(ws).blocks()
    start = str((blocks[0][1] + blocks[-1][2]) // 2_000_000)  # ms, half way through the recording
    assert main(["replay", str(out), "--model", "trade", "--exchange", "bitget", "--symbol", "BTC/USDT",
                 "--count", "3", "--format", "csv", "--start", start]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("exchange,") and len(csv) == 4


def test_replay_refuses_a_foreign_directory_and_a_config_without_streams(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ws-20261201T00Z.tfrec").write_bytes(b"\x89PNG not a recording")
    assert main(["replay", str(tmp_path), "--model", "trade", "--exchange", "bitget",
                 "--symbol", "BTC/USDT"]) == 2
    assert "not a TradeFlood recording" in capsys.readouterr().err
    config = tmp_path / "record.toml"
    config.write_text('duration = "1s"\n')
    assert main(["record", "--config", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "[[stream]]" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # nothing half-written
