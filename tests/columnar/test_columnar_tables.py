"""Model lists to Arrow, Polars and pandas and back: dtypes per column, exact decimals, empty lists."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradeflood.columnar import ColumnarMixin, from_arrow, to_arrow, to_pandas, to_polars
from tradeflood.models import Candle, Instrument, OrderBook, Ticker, Trade

pa = pytest.importorskip("pyarrow", reason="columnar results need pyarrow (pip install pyarrow)")

UTC_MS = pa.timestamp("ms", tz="UTC")
CATEGORY = pa.dictionary(pa.int32(), pa.string())
NAMES = {"exchange": "bitget", "symbol": "BTC/USDT", "native_symbol": "BTCUSDT"}


def candle(t: int, open_: str = "0.1", volume: str = "12.5", quote: str | None = "525000.3") -> Candle:
    return Candle(**NAMES, interval="1m", open_time=t, open=open_, high="42010", low="41990.5",
                  close="42005", volume=volume, quote_volume=quote, closed=t < 1704067260000)


def test_candles_have_one_typed_column_per_field() -> None:
    table = to_arrow([candle(1704067200000), candle(1704067260000, "42000.123", "3", None)])
    types = {f.name: f.type for f in table.schema}
    assert types == {
        "exchange": CATEGORY, "symbol": CATEGORY, "native_symbol": CATEGORY, "interval": CATEGORY,
        "open_time": UTC_MS, "open": pa.decimal128(38, 3), "high": pa.decimal128(38, 0),
        "low": pa.decimal128(38, 1), "close": pa.decimal128(38, 0), "volume": pa.decimal128(38, 1),
        "quote_volume": pa.decimal128(38, 1), "closed": pa.bool_(), "close_time": UTC_MS,
    }
    assert not table.schema.field("open").nullable and table.schema.field("quote_volume").nullable
    assert table.column("open_time").cast(pa.int64()).to_pylist() == [1704067200000, 1704067260000]
    assert table.column("close_time").cast(pa.int64()).to_pylist() == [1704067260000, 1704067320000]
    assert table.column("quote_volume").to_pylist() == [Decimal("525000.3"), None]
    assert table.column("closed").to_pylist() == [True, False]


def test_exact_decimals_round_trip_without_float_drift() -> None:
    candles = [candle(1704067200000, "0.1", "0.3"), candle(1704067260000, "0.2", "123456789.123456789")]
    table = to_arrow(candles)
    assert table.column("open").to_pylist() == [Decimal("0.1"), Decimal("0.2")]
    assert sum(table.column("open").to_pylist()) == Decimal("0.3")  # 0.1 + 0.2, exactly
    assert table.column("volume").to_pylist()[1] == Decimal("123456789.123456789")
    assert from_arrow(table, Candle) == candles


def test_float_option_gives_float64() -> None:
    table = to_arrow([candle(1704067200000, "0.1")], decimals="float")
    assert table.schema.field("open").type == pa.float64()
    assert table.column("open").to_pylist() == [0.1]
    assert from_arrow(table, Candle)[0].open == Decimal("0.1")  # read back through the shortest repr


def test_more_than_38_digits_take_decimal256_and_non_finite_values_are_refused() -> None:
    wide = Instrument(**NAMES, kind="spot", base="BTC", quote="USDT",
                      tick_size=Decimal("1" * 30 + "." + "1" * 15))
    assert to_arrow([wide]).schema.field("tick_size").type == pa.decimal256(76, 15)
    # Validation refuses NaN; a model built without it (model_construct) can still hold one.
    odd = Instrument.model_construct(**NAMES, kind="spot", base="BTC", quote="USDT",
                                     tick_size=Decimal("NaN"))
    with pytest.raises(ValueError, match="tick_size of item 0 is NaN"):
        to_arrow([odd])


def test_trades_tickers_and_instruments() -> None:
    trades = [Trade(**NAMES, id="17", timestamp=1704067200001, price="42000.5", amount="0.01", side="buy"),
              Trade(**NAMES, id="18", timestamp=1704067200002, price="42000", amount="1", side="sell")]
    table = to_arrow(trades)
    assert table.schema.field("id").type == pa.string()
    assert table.schema.field("side").type == CATEGORY
    assert table.column("side").to_pylist() == ["buy", "sell"]
    assert table.column("amount").type == pa.decimal128(38, 2)
    assert from_arrow(table, Trade) == trades

    ticker = Ticker(**NAMES, timestamp=1704067200000, last="42000.5", bid=None, base_volume="10")
    table = to_arrow([ticker])
    assert table.column("bid").to_pylist() == [None]
    assert table.schema.field("timestamp").type == UTC_MS
    assert from_arrow(table, Ticker) == [ticker]

    inst = Instrument(**NAMES, kind="spot", base="BTC", quote="USDT", tick_size=Decimal("0.01"),
                      listed_at=1500000000000)
    table = to_arrow([inst, inst.model_copy(update={"listed_at": None, "active": False})])
    types = {f.name: f.type for f in table.schema}
    assert (types["kind"], types["active"], types["listed_at"], types["contract_size"]) == (
        CATEGORY, pa.bool_(), UTC_MS, pa.decimal128(38, 0))
    assert table.column("listed_at").cast(pa.int64()).to_pylist() == [1500000000000, None]
    assert from_arrow(table, Instrument)[1].active is False


def test_order_books_become_a_long_table_of_levels() -> None:
    books = [OrderBook(**NAMES, timestamp=1, bids=[("42000.5", "1"), ("42000", "0.25")],
                       asks=[("42001", "2")], sequence=7),
             OrderBook(**NAMES, timestamp=2, bids=[("42000.5", "1")], asks=[("42001", "2")])]
    table = to_arrow(books)
    assert table.column_names == ["exchange", "symbol", "native_symbol", "timestamp", "sequence",
                                  "side", "level", "price", "size"]
    assert table.column("side").to_pylist() == ["bid", "bid", "ask", "bid", "ask"]
    assert table.column("level").to_pylist() == [0, 1, 0, 0, 0]
    assert table.column("price").to_pylist()[1] == Decimal("42000")
    assert table.column("size").type == pa.decimal128(38, 2)
    assert table.column("sequence").to_pylist() == [7, 7, 7, None, None]
    assert from_arrow(table, OrderBook) == books


def test_empty_lists() -> None:
    assert to_arrow([]).num_columns == 0
    table = to_arrow([], model=Trade)
    assert table.num_rows == 0 and table.schema.field("timestamp").type == UTC_MS


def test_one_model_class_per_table() -> None:
    trade = Trade(**NAMES, id="1", timestamp=1, price="1", amount="1", side="buy")
    with pytest.raises(TypeError, match="one class, got Candle, Trade"):
        to_arrow([candle(1704067200000), trade])
    with pytest.raises(ValueError, match="choose 'exact'"):
        to_arrow([trade], decimals="double")  # type: ignore[arg-type]


class Candles(ColumnarMixin, list[Candle]):
    columnar_model = Candle


def test_the_mixin_converts_its_own_items() -> None:
    result = Candles([candle(1704067200000)])
    assert result.to_arrow().column("open").to_pylist() == [Decimal("0.1")]
    assert Candles().to_arrow().schema.field("open_time").type == UTC_MS


def test_polars_dtypes() -> None:
    pl = pytest.importorskip("polars", reason="to_polars needs polars (the test extra installs it)")
    frame = to_polars([candle(1704067200000, "0.1")])
    assert frame.schema["open"] == pl.Decimal(38, 1)
    assert frame.schema["open_time"] == pl.Datetime("ms", "UTC")
    assert frame.schema["symbol"] == pl.Categorical
    assert frame.schema["closed"] == pl.Boolean
    assert frame["open"].to_list() == [Decimal("0.1")]
    assert to_polars([candle(1704067200000)], decimals="float").schema["open"] == pl.Float64
    assert Candles([candle(1704067200000)]).to_polars().height == 1


def test_pandas_dtypes() -> None:
    pd = pytest.importorskip("pandas", reason="to_pandas needs pandas (the test extra installs it)")
    frame = to_pandas([candle(1704067200000, "0.1")])
    assert frame["open"].dtype == pd.ArrowDtype(pa.decimal128(38, 1))
    assert frame["open"].iloc[0] == Decimal("0.1")
    assert str(frame["open_time"].dtype) == "datetime64[ms, UTC]"
    assert frame["open_time"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert isinstance(frame["symbol"].dtype, pd.CategoricalDtype)
    assert frame["closed"].dtype == bool
    assert to_pandas([candle(1704067200000)], decimals="float")["open"].dtype == "float64"
    book = OrderBook(**NAMES, timestamp=1, bids=[("1", "2")], asks=[], sequence=None)
    assert str(to_pandas([book])["sequence"].dtype) == "Int64"


def test_a_missing_optional_library_names_the_pip_command() -> None:
    from tradeflood.columnar._arrow import require

    with pytest.raises(ImportError, match="need polarz, which is not installed: pip install polarz"):
        require("polarz")
