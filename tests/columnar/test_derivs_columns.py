"""The derivatives models as Arrow tables: exact decimal columns, nulls where a venue gives no
value, and the models back unchanged (liquidations, funding rates with and without the
predicted rate, open interest with and without its value, mark and index bars)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from tradeflood.columnar import from_arrow, to_arrow
from tradeflood.models import FundingRate, IndexCandle, Liquidation, MarkCandle, OpenInterest

T0 = 1_733_011_200_000  # 2024-12-01T00:00:00Z
BASE = {"exchange": "binance", "symbol": "BTC/USDT:USDT", "native_symbol": "BTCUSDT"}


def test_liquidations_keep_exact_prices_and_sides() -> None:
    rows = [Liquidation(**BASE, timestamp=T0 + 5, price=Decimal("97012.35"), amount=Decimal("0.004"),
                        side="sell"),
            Liquidation(**BASE, timestamp=T0 + 9, price=Decimal("96999.9"), amount=Decimal("1.25"),
                        side="buy")]
    table = to_arrow(rows)
    assert table.schema.field("price").type == pa.decimal128(38, 2)
    assert table.schema.field("amount").type == pa.decimal128(38, 3)
    assert str(table.schema.field("timestamp").type) == "timestamp[ms, tz=UTC]"
    assert table.column("price").to_pylist() == [Decimal("97012.35"), Decimal("96999.90")]
    assert table.column("side").to_pylist() == ["sell", "buy"]
    assert from_arrow(table, Liquidation) == rows


def test_funding_and_open_interest_leave_missing_values_null() -> None:
    rates = [FundingRate(**BASE, funding_time=T0, rate=Decimal("0.0001")),
             FundingRate(**BASE, funding_time=T0 + 28_800_000, rate=Decimal("-0.000025"), timestamp=T0 + 1,
                         next_rate=Decimal("0.00003"), next_funding_time=T0 + 57_600_000,
                         mark_price=Decimal("97000.1"), interval_ms=28_800_000)]
    table = to_arrow(rates)
    assert table.schema.field("rate").type == pa.decimal128(38, 6)
    assert table.column("next_rate").to_pylist() == [None, Decimal("0.000030")]
    assert table.column("interval_ms").to_pylist() == [None, 28_800_000]
    assert from_arrow(table, FundingRate) == rates
    ois = [OpenInterest(**BASE, timestamp=T0, size=Decimal("81234.567")),
           OpenInterest(**BASE, timestamp=T0 + 3_600_000, size=Decimal("81000"), value=Decimal("7.9e9"),
                        interval="1h")]
    table = to_arrow(ois)
    assert table.schema.field("size").type == pa.decimal128(38, 3)
    assert table.column("value").to_pylist() == [None, Decimal("7900000000")]
    assert from_arrow(table, OpenInterest) == ois


prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e9"), places=4, allow_nan=False)


@given(st.sampled_from([MarkCandle, IndexCandle]), st.lists(st.tuples(prices, prices, prices, prices),
                                                             min_size=1, max_size=20))
def test_mark_and_index_bars_round_trip(model: type, quads: list[tuple[Decimal, ...]]) -> None:
    bars = [model(**BASE, interval="1m", open_time=T0 + i * 60_000, open=o, high=max(o, h, lo, c),
                  low=min(o, h, lo, c), close=c, closed=True) for i, (o, h, lo, c) in enumerate(quads)]
    table = to_arrow(bars)
    for column in ("open", "high", "low", "close"):
        assert pa.types.is_decimal(table.schema.field(column).type)
    assert table.column("close_time").to_pylist()[0].timestamp() * 1000 == T0 + 60_000
    assert from_arrow(table, model) == bars
