"""CandleStore: reading back what was written, coverage, open candles, the file's location."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from storedata import MINUTE, bars, candle

from tradeflood.errors import TradeFloodError
from tradeflood.models import Candle
from tradeflood.store import DEFAULT_SETTLE_MS, CandleStore, StoreError, cache_store_path, default_store_path

KEY = ("bitget", "BTC/USDT", "1m")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CandleStore:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "deep" / "er"))  # folders made: the cache's own
    with CandleStore(cache_store_path()) as s:
        yield s


def test_creates_the_cache_folders_and_reads_back_exactly(store: CandleStore) -> None:
    written = bars(0, 3000 * MINUTE)
    assert store.write(*KEY, 0, 3000 * MINUTE, written) == 3000
    assert store.path.exists()
    back = store.read(*KEY, 0, 3000 * MINUTE)
    assert back == written
    assert [str(c.open) for c in back] == [str(c.open) for c in written]
    assert store.read(*KEY, 100 * MINUTE, 1100 * MINUTE) == written[100:1100]
    assert store.read(*KEY, 5000 * MINUTE, 6000 * MINUTE) == []
    assert store.read("bitget", "ETH/USDT", "1m", 0, 10**12) == []


def test_values_keep_their_digits(tmp_path: Path) -> None:
    odd = ["42000.1", "42000.10", "1E+3", "1E-21", "123456789012345678901234.5", "-0.00", "0", "7",
           "0.000001"]
    assert all(str(Decimal(text)) == text for text in odd)
    with CandleStore(tmp_path / "s.sqlite3") as store:
        written = [candle(i * MINUTE).model_copy(update={"open": Decimal(v), "quote_volume": None})
                   for i, v in enumerate(odd)]
        store.write(*KEY, 0, len(odd) * MINUTE, written)
        back = store.read(*KEY, 0, len(odd) * MINUTE)
    assert [str(c.open) for c in back] == odd
    assert all(c.quote_volume is None for c in back)


def test_rewrite_is_a_noop_and_coverage_merges(store: CandleStore) -> None:
    assert store.write(*KEY, 0, 10 * MINUTE, bars(0, 10 * MINUTE)) == 10
    assert store.write(*KEY, 0, 10 * MINUTE, bars(0, 10 * MINUTE)) == 0
    assert store.write(*KEY, 20 * MINUTE, 30 * MINUTE, bars(20 * MINUTE, 30 * MINUTE)) == 10
    assert store.missing(*KEY, 0, 40 * MINUTE) == [(10 * MINUTE, 20 * MINUTE), (30 * MINUTE, 40 * MINUTE)]
    assert store.write(*KEY, 5 * MINUTE, 25 * MINUTE, bars(5 * MINUTE, 25 * MINUTE)) == 10
    assert store.missing(*KEY, 0, 40 * MINUTE) == [(30 * MINUTE, 40 * MINUTE)]
    assert store.covered(*KEY, 0, 30 * MINUTE)
    assert not store.covered(*KEY, 0, 31 * MINUTE)
    assert store.info().series[0].covered == [(0, 30 * MINUTE)]
    assert store.info().series[0].candles == 30


def test_holes_are_recorded_when_later_candles_exist(store: CandleStore) -> None:
    # Bars 3..5 do not exist on the venue (an outage): the window is still known.
    written = [c for c in bars(0, 10 * MINUTE) if not 3 * MINUTE <= c.open_time < 6 * MINUTE]
    store.write(*KEY, 0, 10 * MINUTE, written)
    assert store.covered(*KEY, 0, 10 * MINUTE)
    assert len(store.read(*KEY, 0, 10 * MINUTE)) == 7


def test_open_candles_are_never_stored_nor_covered(store: CandleStore) -> None:
    page = [*bars(0, 5 * MINUTE), candle(5 * MINUTE, closed=False)]
    assert store.write(*KEY, 0, 10 * MINUTE, page) == 5
    assert store.missing(*KEY, 0, 10 * MINUTE) == [(5 * MINUTE, 10 * MINUTE)]
    assert all(c.closed for c in store.read(*KEY, 0, 10 * MINUTE))
    assert len(store.read(*KEY, 0, 10 * MINUTE)) == 5
    # Only an open candle: nothing known.
    assert store.write(*KEY, 20 * MINUTE, 30 * MINUTE, [candle(20 * MINUTE, closed=False)]) == 0
    assert not store.covered(*KEY, 20 * MINUTE, 21 * MINUTE)


def test_never_covers_beyond_the_newest_closed_candle(store: CandleStore) -> None:
    # A window reaching into the future: covered only up to the last closed bar's end.
    store.write(*KEY, 0, 10**13, bars(0, 5 * MINUTE))
    assert store.missing(*KEY, 0, 10**13) == [(5 * MINUTE, 10**13)]
    # An empty window and an empty store: nothing is known.
    store.write("bitget", "ETH/USDT", "1m", 0, 10 * MINUTE, [])
    assert not store.covered("bitget", "ETH/USDT", "1m", 0, MINUTE)
    # Told the time, an empty window before it is a known hole (e.g. before a listing), up to
    # the last bar that closed the settle margin before then.
    now = 60 * MINUTE + DEFAULT_SETTLE_MS + 5
    store.write("bitget", "ETH/USDT", "1m", 0, 10 * MINUTE, [], now_ms=now)
    assert store.covered("bitget", "ETH/USDT", "1m", 0, 10 * MINUTE)
    store.write("bitget", "ETH/USDT", "1m", 50 * MINUTE, 70 * MINUTE, [], now_ms=now)
    assert store.missing("bitget", "ETH/USDT", "1m", 0, 70 * MINUTE) == [
        (10 * MINUTE, 50 * MINUTE), (60 * MINUTE, 70 * MINUTE)]


def test_candles_of_another_series_are_refused(store: CandleStore) -> None:
    with pytest.raises(ValueError, match="ETH/USDT"):
        store.write(*KEY, 0, MINUTE, [candle(0, symbol="ETH/USDT")])
    assert store.info().series == []


def test_other_intervals_and_weeks(store: CandleStore) -> None:
    week = 7 * 86_400_000
    monday = 4 * 86_400_000
    weekly = bars(monday, monday + 300 * week, step=week, interval="1w")
    store.write("bitget", "BTC/USDT", "1w", monday, monday + 300 * week, weekly)
    assert store.read("bitget", "BTC/USDT", "1w", 0, 10**14) == weekly
    assert store.covered("bitget", "BTC/USDT", "1w", monday, monday + 300 * week)
    assert store.read(*KEY, 0, 10**14) == []


def test_clear_and_info(store: CandleStore) -> None:
    store.write(*KEY, 0, 10 * MINUTE, bars(0, 10 * MINUTE))
    store.write("bitget", "ETH/USDT", "1m", 0, 10 * MINUTE, bars(0, 10 * MINUTE, symbol="ETH/USDT"))
    info = store.info()
    assert info.path == store.path and info.size_bytes > 0
    assert [(s.symbol, s.candles) for s in info.series] == [("BTC/USDT", 10), ("ETH/USDT", 10)]
    assert store.clear(symbol="ETH/USDT") == 10
    assert [s.symbol for s in store.info().series] == ["BTC/USDT"]
    assert store.missing("bitget", "ETH/USDT", "1m", 0, MINUTE) == [(0, MINUTE)]
    assert store.clear() == 10
    assert store.info().series == []
    assert store.write(*KEY, 0, 10 * MINUTE, bars(0, 10 * MINUTE)) == 10


def test_reopen_sees_everything(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with CandleStore(path) as store:
        store.write(*KEY, 0, 2000 * MINUTE, bars(0, 2000 * MINUTE))
    with CandleStore(path) as store:
        assert store.covered(*KEY, 0, 2000 * MINUTE)
        assert len(store.read(*KEY, 0, 2000 * MINUTE)) == 2000


def test_closed_store_says_so(tmp_path: Path) -> None:
    store = CandleStore(tmp_path / "c.sqlite3")
    store.close()
    store.close()
    with pytest.raises(ValueError, match="closed"):
        store.read(*KEY, 0, MINUTE)


def test_errors_join_the_hierarchy() -> None:
    assert issubclass(StoreError, TradeFloodError)


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRADEFLOOD_STORE", str(tmp_path / "x.sqlite3"))
    assert default_store_path() == tmp_path / "x.sqlite3"
    monkeypatch.delenv("TRADEFLOOD_STORE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "tradeflood" / "candles.sqlite3"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert default_store_path() == Path.home() / ".cache" / "tradeflood" / "candles.sqlite3"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_store_path() == Path.home() / ".cache" / "tradeflood" / "candles.sqlite3"


def test_read_arrow(store: CandleStore) -> None:
    pa = pytest.importorskip("pyarrow")
    written = bars(0, 3000 * MINUTE)
    store.write(*KEY, 0, 3000 * MINUTE, written)
    table = store.read_arrow(*KEY, 10 * MINUTE, 2500 * MINUTE)
    assert table.column_names == ["open_time", "open", "high", "low", "close", "volume", "quote_volume"]
    # each column at its own finest stored scale, as to_arrow() picks for models
    assert table.schema.field("close").type == pa.decimal128(38, 2)
    assert table.schema.field("volume").type == pa.decimal128(38, 0)  # every volume here is whole
    assert table["open_time"].to_pylist() == [c.open_time for c in written[10:2500]]
    assert table["close"].to_pylist() == [c.close for c in written[10:2500]]
    assert table["quote_volume"].to_pylist() == [c.quote_volume for c in written[10:2500]]
    assert store.read_arrow(*KEY, 10**12, 10**12 + 1).num_rows == 0


def test_read_arrow_falls_back_to_strings(store: CandleStore) -> None:
    pytest.importorskip("pyarrow")
    tiny = candle(0).model_copy(update={"open": Decimal("0.0000000000000000000001")})
    mixed = candle(MINUTE).model_copy(update={"quote_volume": None})
    store.write(*KEY, 0, 2 * MINUTE, [tiny, mixed])
    table = store.read_arrow(*KEY, 0, 2 * MINUTE)
    assert table["open"].to_pylist() == ["1E-22", str(mixed.open)]
    assert table["quote_volume"].to_pylist() == [tiny.quote_volume, None]


def test_read_arrow_without_pyarrow(store: CandleStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        store.read_arrow(*KEY, 0, MINUTE)


def test_candle_type(store: CandleStore) -> None:
    store.write(*KEY, 0, MINUTE, [candle(0)])
    [c] = store.read(*KEY, 0, MINUTE)
    assert isinstance(c, Candle) and c.close_time == MINUTE and c.native_symbol == "BTCUSDT"


def test_a_typed_path_must_name_an_existing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "candles.sqlite3"
    with pytest.raises(StoreError, match=r"folder .*/no/such/dir does not exist"):
        CandleStore(missing)
    assert not (tmp_path / "no").exists()  # nothing was created on the way
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with CandleStore(cache_store_path()) as store:  # the cache's own place is made when missing
        assert store.path == tmp_path / "cache" / "tradeflood" / "candles.sqlite3"
    assert store.path.exists()
