"""Funding rates and open interest through the command line (over real sockets) and as columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from itertools import pairwise

import pytest

from tradeflood import Query, VirtualClock
from tradeflood.cli import main
from tradeflood.models import FundingRate, OpenInterest
from tradeflood.testing import BybitVenue, OkxVenue, Simulator

from .conftest import DAY, NOW, STEP, SYMBOL, make_session

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(venues={"okx": OkxVenue(), "bybit": BybitVenue()}) as s:
        yield s


@pytest.mark.integration
def test_fetch_funding_rate_history_as_csv(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "fetch",
            "funding-rate",
            "--exchange",
            "okx",
            "--symbol",
            SYMBOL,
            "--start",
            "-3d",
            "--iso-times",
            "--no-store",
            "--url",
            f"okx={sim.url('okx')}",
        ]
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 9 and all(int(r["funding_time"]) % STEP == 0 for r in rows)
    assert rows[0]["funding_time_iso"][11:] in ("00:00:00.000Z", "08:00:00.000Z", "16:00:00.000Z")
    assert all(
        abs(Decimal(r["rate"])) < Decimal("0.001") and r["native_symbol"] == "BTC-USDT-SWAP" for r in rows
    )


@pytest.mark.integration
def test_fetch_open_interest_now_and_per_period(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"bybit={sim.url('bybit')}"
    assert (
        main(
            [
                "fetch",
                "open-interest",
                "--exchange",
                "bybit",
                "--symbol",
                SYMBOL,
                "--format",
                "jsonl",
                "--url",
                url,
            ]
        )
        == 0
    )
    now = json.loads(capsys.readouterr().out)
    assert Decimal(now["size"]) > 0 and Decimal(now["value"]) > Decimal(now["size"])
    assert (
        main(
            [
                "fetch",
                "open-interest",
                "--exchange",
                "bybit",
                "--symbol",
                SYMBOL,
                "--interval",
                "1h",
                "--limit",
                "5",
                "--no-store",
                "--url",
                url,
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 5 and {r["interval"] for r in rows} == {"1h"}
    times = [int(r["timestamp"]) for r in rows]
    assert [b - a for a, b in pairwise(times)] == [3_600_000] * 4


@pytest.mark.integration
def test_a_spot_symbol_is_one_line_and_status_two(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "fetch",
                "funding-rate",
                "--exchange",
                "okx",
                "--symbol",
                "BTC/USDT",
                "--url",
                f"okx={sim.url('okx')}",
            ]
        )
        == 2
    )
    assert "only for perpetual swaps" in capsys.readouterr().err


async def test_histories_convert_to_columns(clock: VirtualClock) -> None:
    venue = OkxVenue(clock=clock)
    async with make_session(venue, clock) as s:
        rates, ois = await s.agather(
            Query(FundingRate, exchange="okx", symbol=SYMBOL, start=NOW - 10 * DAY, now_ms=NOW),
            Query(OpenInterest, exchange="okx", symbol=SYMBOL, interval="1h", limit=24, now_ms=NOW),
        )
    table = rates.to_arrow()
    assert table.num_rows == 30 and table.column("rate").to_pylist() == [r.rate for r in rates]
    assert str(table.schema.field("funding_time").type) == "timestamp[ms, tz=UTC]"
    frame = ois.to_polars()
    assert frame.height == 24 and frame["size"].to_list() == [o.size for o in ois]
    assert ois.to_pandas(decimals="float")["value"].iloc[-1] == float(ois[-1].value)
