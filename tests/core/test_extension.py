"""Extending TradeFlood without editing it: change a built-in, add a model and endpoint, ship a plugin."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import tradeflood
from tradeflood import Binding, ParseContext, Part, Query, Session, Turn, VirtualClock, registry, turn
from tradeflood.bindings.bitget import BitgetTicker, contract_symbol_map
from tradeflood.connectors import Bitget
from tradeflood.models import Model, Ticker, TimestampMs
from tradeflood.symbols import native_id
from tradeflood.testing import BitgetVenue, SimulatorTransport
from tradeflood.turns import Param, Params

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bitget"


@pytest.fixture(autouse=True)
def restore_registry() -> Iterator[None]:
    with registry.preserved():
        yield


async def test_a_subclass_of_a_built_in_binding_replaces_it() -> None:
    class RoundedTicker(BitgetTicker):
        """Round the last price to a whole number: a user's change, made without editing the library."""

        def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[Ticker]:
            return [t.model_copy(update={"last": t.last.quantize(Decimal(1)) if t.last else None})
                    for t in super().parse(query, turn, payload, ctx)]

    assert registry.lookup(Ticker, "bitget") is RoundedTicker
    clock = VirtualClock(start=1_767_225_600)
    async with Session(transport=SimulatorTransport({"bitget": BitgetVenue(clock=clock)}), clock=clock) as s:
        ticker = await s.afetch(Ticker, exchange="bitget", symbol="BTC/USDT")
    assert ticker.last is not None and ticker.last == ticker.last.to_integral_value()
    assert ticker.last.as_tuple().exponent == 0


def test_an_unrelated_binding_for_a_taken_pair_is_refused() -> None:
    with pytest.raises(tradeflood.BindingConflictError, match="subclass BitgetTicker"):
        class Rival(Binding, model=Ticker, connector=Bitget):
            pass


class OpenInterest(Model):
    """Open interest of a perpetual, in contracts: a model the library does not ship."""

    timestamp: TimestampMs
    size: Decimal


class BitgetWithOpenInterest(Bitget):
    """The built-in Bitget connector plus one endpoint, declared in a subclass."""

    @turn("/api/v2/mix/market/open-interest", group="mix-open-interest")
    def open_interest(self, symbol: Param) -> Params:
        return {"symbol": symbol, "productType": "USDT-FUTURES"}

    limits = {**Bitget.limits, "mix-open-interest": tradeflood.Limit(20, 1.0)}


def _define_open_interest_binding() -> None:
    class BitgetOpenInterest(Binding, model=OpenInterest, connector=BitgetWithOpenInterest):
        api: BitgetWithOpenInterest

        def plan(self, query: Query, now_ms: int) -> Sequence[Turn]:
            native = self.api.contracts().derive(contract_symbol_map).derive(native_id, query.symbol)
            return [self.api.open_interest(native)]

        def parse(self, query: Query, turn: Turn, payload: Any, ctx: ParseContext) -> list[OpenInterest]:
            row = payload["openInterestList"][0]
            return [OpenInterest(exchange="bitget", symbol=query.symbol or "", native_symbol=row["symbol"],
                                 timestamp=int(payload["ts"]), size=row["size"])]

        def assemble(self, query: Query, parts: Sequence[Part], now_ms: int) -> OpenInterest:
            return parts[0].items[0]  # type: ignore[no-any-return]


@respx.mock
def test_a_new_model_and_endpoint_fetch_through_the_public_api() -> None:
    _define_open_interest_binding()
    contracts = respx.get("https://api.bitget.com/api/v2/mix/market/contracts").mock(
        return_value=httpx.Response(200, content=(FIXTURES / "contracts.json").read_bytes()))
    oi = respx.get("https://api.bitget.com/api/v2/mix/market/open-interest").mock(
        return_value=httpx.Response(200, json={
            "code": "00000", "msg": "success", "requestTime": 1695796781616,
            "data": {"openInterestList": [{"symbol": "BTCUSDT", "size": "34278.06"}], "ts": "1695796781616"},
        }))
    result = tradeflood.fetch(OpenInterest, exchange="bitget", symbol="BTC/USDT:USDT")
    assert result == OpenInterest(exchange="bitget", symbol="BTC/USDT:USDT", native_symbol="BTCUSDT",
                                  timestamp=1695796781616, size=Decimal("34278.06"))
    assert contracts.call_count == 1 and oi.call_count == 1
    assert dict(oi.calls.last.request.url.params) == {"symbol": "BTCUSDT", "productType": "USDT-FUTURES"}


def test_a_plugin_registers_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "tradeflood_weather"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent('''
        from tradeflood import Binding, Connector, turn
        from tradeflood.models import Model

        class Forecast(Model):
            rain: float

        class WeatherVenue(Connector, name="weather"):
            urls = {"rest": "https://weather.example"}

            @turn("/forecast")
            def forecast(self, city):
                return {"city": city}

        class WeatherForecast(Binding, model=Forecast, connector=WeatherVenue):
            def plan(self, query, now_ms):
                return [self.api.forecast(query.symbol)]

            def parse(self, query, turn, payload, ctx):
                return [Forecast(exchange="weather", symbol=query.symbol, native_symbol=ctx.params["city"],
                                 rain=payload["rain"])]
    '''))
    dist = tmp_path / "tradeflood_weather-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tradeflood-weather\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[tradeflood.plugins]\nweather = tradeflood_weather\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registry.load_plugins() == ["weather"]
    assert "weather" in registry.venues()
    forecast_model = sys.modules["tradeflood_weather"].Forecast

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps({"rain": 0.25}).encode())

    with Session(transport=httpx.MockTransport(handler)) as s:
        [forecast] = s.fetch(forecast_model, exchange="weather", symbol="OSLO")
    assert forecast.rain == 0.25 and forecast.native_symbol == "OSLO"
