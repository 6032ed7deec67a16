"""``tradeflood record`` and ``tradeflood replay`` against the simulator."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tradeflood
from tradeflood.cli import main
from tradeflood.clock import ScaledClock
from tradeflood.models import Trade
from tradeflood.recording import RecordingFile
from tradeflood.testing import BitgetVenue, Simulator, claim_redis_database, renew_redis_claim

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


def test_a_recording_cut_by_sigkill_replays_up_to_its_last_whole_block(tmp_path: Path) -> None:
    """``tradeflood record`` killed with SIGKILL mid-recording: every block it wrote replays."""
    out = tmp_path / "data"
    with Simulator({"bitget": BitgetVenue(clock=ScaledClock(20.0))}) as sim:
        env = {**os.environ, **sim.environ()}
        child = subprocess.Popen([sys.executable, "-m", "tradeflood.cli", "record", "trade", "--exchange",
                                  "bitget", "--symbol", "BTC/USDT", "--out", str(out)], env=env)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                files = list(out.glob("ws-*.tfrec")) if out.exists() else []
                if files and len(RecordingFile(files[0]).blocks()) >= 3:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the recorder wrote no blocks")
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL

    async def replay() -> list[Trade]:
        async with tradeflood.Session(replay=out, speed="max") as s:
            return [t async for t in s.stream(Trade, exchange="bitget", symbol="BTC/USDT")
                    if isinstance(t, Trade)]

    trades = asyncio.run(replay())
    ids = [int(t.id) for t in trades]
    assert len(ids) >= 3 and ids == sorted(ids) and len(set(ids)) == len(ids)


def test_record_from_a_config_file_keeps_every_stream_it_lists(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "data"
    with Simulator({"bitget": BitgetVenue(clock=ScaledClock(20.0))}) as sim:
        config = tmp_path / "record.toml"
        urls = "\n".join(f'"{api}" = "{url}"' for api, url in sim.urls()["bitget"].items())
        config.write_text(f'duration = "2s"\n[urls.bitget]\n{urls}\n'
                          '[[stream]]\nmodel = "trade"\nexchange = "bitget"\nsymbol = "BTC/USDT"\n'
                          '[[stream]]\nmodel = "book"\nexchange = "bitget"\nsymbol = "ETH/USDT"\ndepth = 5\n')
        assert main(["record", "--config", str(config), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"Trade bitget BTC/USDT: [1-9]\d* items", err)
    assert re.search(r"OrderBook bitget ETH/USDT: [1-9]\d* items", err)
    assert json.loads((out / "manifest.json").read_text())["topics"] == {
        "bitget ws": ["SPOT/trade/BTCUSDT", "SPOT/books/ETHUSDT"]}
    assert main(["replay", str(out), "--model", "book", "--exchange", "bitget", "--symbol", "ETH/USDT",
                 "--depth", "5", "--count", "2"]) == 0
    books = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(books) == 2 and all(float(b["bids"][0][0]) < float(b["asks"][0][0]) for b in books)


def test_replay_publish_feeds_the_recorded_trades_into_the_bus(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import redis

    try:
        db = claim_redis_database()  # a database of this run's own, given back at exit
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    out, url = tmp_path / "data", f"redis://127.0.0.1:6379/{db}"
    rds = redis.Redis.from_url(url, decode_responses=True)
    rds.flushdb()
    renew_redis_claim(rds)
    try:
        with Simulator({"bitget": BitgetVenue(clock=ScaledClock(20.0))}) as sim:
            assert main(["record", "trade", "--exchange", "bitget", "--symbol", "BTC/USDT", "--out", str(out),
                         "--duration", "2s", *url_flags(sim, "bitget")]) == 0
        capsys.readouterr()
        trades = ["--model", "trade", "--exchange", "bitget", "--symbol", "BTC/USDT"]
        assert main(["replay", str(out), *trades]) == 0
        printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert main(["replay", str(out), *trades, "--publish", url, "--tenant", "days"]) == 0
        assert re.search(r"published (\d+) entries into the bus under tenant 'days'", capsys.readouterr().err)
        entries = rds.xrange("stream.days.bitget.trades.BTC/USDT")
        items = [json.loads(f["data"]) for _, f in entries if f["type"] == "item"]
        assert [(t["id"], t["price"], t["amount"]) for t in items] == \
               [(t["id"], t["price"], t["amount"]) for t in printed]  # the same trades, in the same order
        assert len(items) == len(printed) > 0
        assert rds.keys("stream.lease.*") == []  # the lease was given back
    finally:
        rds.flushdb()
        rds.close()
