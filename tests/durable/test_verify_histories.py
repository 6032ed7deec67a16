"""`store verify` over every kind the store holds (issue 12 scope 2): funding rates, open
interest, mark and index bars, not candles alone.

An "older version" is this one with the value checks switched off: it fetches
from a venue that answers one impossible row per kind, and stores it as
complete. With the checks back, a re-fetch still serves the poisoned row from
the store (0 requests) until `store verify --fix` removes it; then the re-fetch
asks the venue for that time again and gets the honest value.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import tradeflood.pipeline
from tradeflood import Session, VirtualClock
from tradeflood.checks import FUNDING_RATE_BOUND, violations
from tradeflood.cli import cli
from tradeflood.errors import FetchError, PayloadError
from tradeflood.models import FundingRate, IndexCandle, MarkCandle, OpenInterest
from tradeflood.store import CandleStore, verify_store
from tradeflood.testing import SimulatorTransport
from tradeflood.testing._binance import BinanceVenue

NOW = 1_717_210_830_000  # 2024-06-01T03:00:30Z
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
SYMBOL = "BTC/USDT:USDT"
FUNDING_START, FUNDING_END = NOW - 10 * DAY, NOW - 2 * DAY  # settled fundings, 8 h apart
BAR_START, BAR_END = NOW // MINUTE * MINUTE - 90 * MINUTE, NOW // MINUTE * MINUTE - 30 * MINUTE
OI_START, OI_END = NOW - 2 * DAY, NOW - 1 * DAY


class Rewrite(httpx.AsyncBaseTransport):
    """The simulator, but a chosen row of each reply to a path in ``rewrite`` is changed."""

    def __init__(self, inner: httpx.AsyncBaseTransport,
                 rewrite: dict[str, Callable[[list[Any]], None]]) -> None:
        self.inner, self.rewrite, self.on = inner, rewrite, True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        change = self.rewrite.get(request.url.path) if self.on else None
        if change is None or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        change(body)
        return httpx.Response(200, json=body, request=request)


def _at(key: Any, when: int, edit: Callable[[Any], None]) -> Callable[[Any], None]:
    """A rewrite of the row whose time (``row[key]``) is ``when``, in a reply of a list of rows."""
    def change(rows: Any) -> None:
        for row in rows:
            if abs(int(row[key]) - when) < 1000:  # Binance stamps fundings a few ms late
                edit(row)
    return change


def _set(key: Any, value: str) -> Callable[[Any], None]:
    def edit(row: Any) -> None:
        row[key] = value
    return edit


# One impossible row per kind, at a known time inside its query's range. Binance's open-interest
# parse refuses a negative number by itself, so that row is spoiled in the file (_spoil) instead.
FUNDING_AT = -(-FUNDING_START // (8 * HOUR)) * 8 * HOUR + 3 * 8 * HOUR
OI_AT = -(-OI_START // HOUR) * HOUR + 2 * HOUR
MARK_AT, INDEX_AT = BAR_START + 7 * MINUTE, BAR_START + 5 * MINUTE
REWRITES = {
    "/fapi/v1/fundingRate": _at("fundingTime", FUNDING_AT, _set("fundingRate", "5.00000000")),  # 500%
    "/fapi/v1/markPriceKlines": _at(0, MARK_AT, _set(2, "1.0")),                 # high below low
    "/fapi/v1/indexPriceKlines": _at(0, INDEX_AT, _set(1, "0")),                 # zero open
}
QUERIES: list[tuple[type[Any], dict[str, Any]]] = [
    (FundingRate, {"start": FUNDING_START, "end": FUNDING_END}),
    (OpenInterest, {"interval": "1h", "start": OI_START, "end": OI_END}),
    (MarkCandle, {"interval": "1m", "start": BAR_START, "end": BAR_END}),
    (IndexCandle, {"interval": "1m", "start": BAR_START, "end": BAR_END}),
]
KINDS = ["FundingRate", "OpenInterest:1h", "MarkCandle:1m", "IndexCandle:1m"]


def _session(venue: BinanceVenue, clock: VirtualClock, store: Path, *, hostile: bool) -> Session:
    transport = Rewrite(SimulatorTransport({"binance": venue}), REWRITES)
    transport.on = hostile
    return Session(transport=transport, clock=clock, store=store)


def _fetch_all(s: Session) -> list[Any]:
    return [s.fetch(model, exchange="binance", symbol=SYMBOL, **kw) for model, kw in QUERIES]


@pytest.fixture
def older_version(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Switches the value checks off (what a TradeFlood before them did); call to switch back."""
    real = tradeflood.pipeline.checked
    monkeypatch.setattr(tradeflood.pipeline, "checked", lambda items, **kw: (items, 0))
    yield lambda: monkeypatch.setattr(tradeflood.pipeline, "checked", real)


def _bad(result: Any) -> list[Any]:
    return [v for v in violations(list(result), getattr(result[0], "interval", None)
                                  if isinstance(result[0], MarkCandle | IndexCandle) else None)]


def test_verify_finds_and_fixes_poisoned_rows_of_every_kind(
        tmp_path: Path, older_version: Callable[[], None]) -> None:
    path = tmp_path / "old.sqlite3"
    clock = VirtualClock(start=NOW / 1000)
    venue = BinanceVenue(clock=clock)
    with _session(venue, clock, path, hostile=True) as s:
        _fetch_all(s)
    _spoil(path, "OpenInterest:1h", OI_AT, "value", "-12.5")
    older_version()  # this version again: checks on, the venue honest from now on

    # Poisoned: the store answers every page, the bad rows with it, and no request goes out.
    venue.stats.reset()
    with _session(venue, clock, path, hostile=False) as s:
        poisoned = _fetch_all(s)
    assert venue.stats.requests == 0
    assert [len(_bad(r)) for r in poisoned] == [1, 1, 1, 1]  # stored as complete by the old version

    runner = CliRunner()
    found = runner.invoke(cli, ["store", "verify", "--path", str(path)])
    assert found.exit_code == 1, found.output
    lines = found.output.splitlines()
    expect = {
        "FundingRate": "rate is 5.00000000, not a funding rate (its size must be below 1)",
        "OpenInterest:1h": "value is -12.5, not a size (finite, not negative)",
        "MarkCandle:1m": "high 1.0 is below max(open, close)",
        "IndexCandle:1m": "open is 0, not a positive price",
    }
    for kind, detail in expect.items():
        assert any(f"binance {SYMBOL} {kind} " in line and detail in line for line in lines), (kind, lines)
    summary = next(line for line in lines if "fail the checks" in line)
    assert "4 fail the checks" in summary and "of other histories" in summary, summary

    fixed = runner.invoke(cli, ["store", "verify", "--path", str(path), "--fix"])
    assert fixed.exit_code == 0 and "4 removed" in fixed.output, fixed.output
    with CandleStore(path) as store:
        assert verify_store(store).bad == []

    # Refilled: only the pages that held a bad row are asked again; the honest values come back.
    venue.stats.reset()
    with _session(venue, clock, path, hostile=False) as s:
        honest = _fetch_all(s)
    assert [_bad(r) for r in honest] == [[], [], [], []]
    data_paths = ["/fapi/v1/fundingRate", "/futures/data/openInterestHist", "/fapi/v1/markPriceKlines",
                  "/fapi/v1/indexPriceKlines"]
    assert [venue.stats.by_path[p] for p in data_paths] == [1, 1, 1, 1]  # one page each, no more
    for old, new in zip(poisoned, honest, strict=True):
        assert len(old) == len(new)
        changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
        assert len(changed) == 1  # just the poisoned row, now honest
    at = {type(r[0]): {getattr(x, "funding_time", None) or getattr(x, "open_time", None)
                       or x.timestamp: x for x in r} for r in honest}
    rate = at[FundingRate][FUNDING_AT].rate
    assert abs(rate) < FUNDING_RATE_BOUND and rate != Decimal("5")
    assert at[OpenInterest][OI_AT].value > 0 and at[IndexCandle][INDEX_AT].open > 0
    assert at[MarkCandle][MARK_AT].high >= at[MarkCandle][MARK_AT].low


def _spoil(path: Path, kind: str, when: int, field: str, value: str) -> None:
    """Rewrite one field of the stored row of ``kind`` at ``when``, as an older version wrote it."""
    with sqlite3.connect(path) as conn:
        (sid,) = conn.execute("SELECT id FROM series WHERE interval = ?", (kind,)).fetchone()
        (raw,) = conn.execute("SELECT row FROM history_rows WHERE series_id = ? AND time = ?",
                              (sid, when)).fetchone()
        row = json.loads(raw)
        row[field] = value
        conn.execute("UPDATE history_rows SET row = ? WHERE series_id = ? AND time = ?",
                     (json.dumps(row).encode(), sid, when))


def test_checks_refuse_the_same_rows_on_the_way_in(tmp_path: Path) -> None:
    """This version never stores them: each poisoned reply is a PayloadError naming the field,
    and with invalid="drop" the row is left out, counted, and its page not recorded."""
    clock = VirtualClock(start=NOW / 1000)
    venue = BinanceVenue(clock=clock)
    with _session(venue, clock, tmp_path / "new.sqlite3", hostile=True) as s:
        checked = [QUERIES[0], *QUERIES[2:]]  # open interest: Binance's parse refuses it already
        for (model, kw), field in zip(checked, ["rate", "high", "open"], strict=True):
            with pytest.raises(FetchError) as err:
                s.fetch(model, exchange="binance", symbol=SYMBOL, **kw)
            cause = err.value.cause
            assert isinstance(cause, PayloadError) and f": {field} " in cause.detail, cause
        dropped = [s.fetch(model, exchange="binance", symbol=SYMBOL, invalid="drop", **kw)
                   for model, kw in checked]
    assert [r.dropped for r in dropped] == [1, 1, 1]
    assert [g.start for g in dropped[1].gaps] == [MARK_AT]
    assert [g.start for g in dropped[2].gaps] == [INDEX_AT]
    with CandleStore(tmp_path / "new.sqlite3") as store:
        assert verify_store(store).checked == 0  # nothing of a page with a dropped row was stored


def test_a_row_that_cannot_be_read_back_is_reported_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    rates = [FundingRate(exchange="binance", symbol=SYMBOL, native_symbol="BTCUSDT",
                         funding_time=FUNDING_START + k * 8 * HOUR, rate="0.0001") for k in range(3)]
    from tradeflood.series import Series

    with CandleStore(path) as store:
        store.write("binance", SYMBOL, "FundingRate", FUNDING_START, FUNDING_START + 24 * HOUR,
                    Series(rates, model=FundingRate, time_field="funding_time"))
    with sqlite3.connect(path) as conn:  # an older version wrote a rate as a word
        row = json.loads(conn.execute("SELECT row FROM history_rows WHERE time = ?",
                                      (rates[1].funding_time,)).fetchone()[0])
        row["rate"] = "lots"
        conn.execute("UPDATE history_rows SET row = ? WHERE time = ?",
                     (json.dumps(row).encode(), rates[1].funding_time))
    with CandleStore(path) as store:
        report = verify_store(store)
        assert report.checked == report.rows == 3
        [bad] = report.bad
        assert (bad.interval, bad.open_time, bad.field) == ("FundingRate", rates[1].funding_time, "row")
        assert "cannot be read back as a FundingRate" in bad.detail
        assert verify_store(store, fix=True).removed == 1
        assert store.read_rows("binance", SYMBOL, "FundingRate", 0, NOW, model=FundingRate) == [
            rates[0], rates[2]]
        assert store.missing("binance", SYMBOL, "FundingRate", FUNDING_START, FUNDING_START + 24 * HOUR) == [
            (rates[1].funding_time, rates[1].funding_time + 1)]
