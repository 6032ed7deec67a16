"""The declared extension points a venue fills: reply envelopes, the registry's view of plugins
and stream-only venues, the CLI's venue help, and what a stream needs from the instrument list."""

from __future__ import annotations

import importlib.metadata
import logging
import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from tradeflood import Connector, QueryError, Reply, Session, registry, turn
from tradeflood.cli import main
from tradeflood.errors import PayloadError, RateLimitedError, VenueRejectedError, VenueUnavailableError
from tradeflood.models import Instrument, Ticker, Trade
from tradeflood.streams import Frame, StreamBinding, StreamProtocol, Topic


class Envelope(Connector, name="envelope-test"):
    urls = {"rest": "https://api.example.com"}

    @turn("/v1/x")
    def x(self) -> dict[str, Any]:
        return {}


API = Envelope()
TURN = API.x()


def test_the_code_msg_data_envelope() -> None:
    ok = Reply(200, {}, b'{"code": "0", "msg": "", "data": [1, 2]}')
    assert API.unwrap_envelope(TURN, ok) == [1, 2]
    assert API.unwrap_envelope(TURN, Reply(200, {}, b'{"code": 0, "data": []}')) == []  # 0 and "0" alike
    refused = Reply(400, {}, b'{"code": "51001", "msg": "Instrument ID does not exist"}')
    with pytest.raises(VenueRejectedError) as err:
        API.unwrap_envelope(TURN, refused, hints={"51001": "check the instrument list"})
    assert (err.value.code, err.value.status) == ("51001", 400)
    assert "Instrument ID does not exist (check the instrument list)" in str(err.value)
    with pytest.raises(RateLimitedError):
        API.unwrap_envelope(TURN, Reply(200, {}, b'{"code": "50011", "msg": "slow down"}'),
                            rate_limited=("50011",))
    with pytest.raises(PayloadError, match=r"not a \{code, msg, data\} envelope"):
        API.unwrap_envelope(TURN, Reply(200, {}, b"[1]"))
    with pytest.raises(PayloadError, match="no 'data'"):
        API.unwrap_envelope(TURN, Reply(200, {}, b'{"code": "0"}'))
    with pytest.raises(VenueUnavailableError):
        API.unwrap_envelope(TURN, Reply(503, {}, b"down"))


def test_a_bare_body_with_code_msg_errors() -> None:
    assert API.unwrap_bare(TURN, Reply(200, {}, b'[[1, "2"]]')) == [[1, "2"]]
    assert API.unwrap_bare(TURN, Reply(200, {}, b'{"code": 7, "x": 1}')) == {"code": 7, "x": 1}
    with pytest.raises(VenueRejectedError) as err:
        API.unwrap_bare(TURN, Reply(400, {}, b'{"code": -1121, "msg": "Invalid symbol."}'))
    assert err.value.code == -1121 and "Invalid symbol." in str(err.value)
    with pytest.raises(VenueRejectedError, match="refused without an error code"):
        API.unwrap_bare(TURN, Reply(403, {}, b"{}"))
    with pytest.raises(VenueRejectedError):
        API.unwrap_bare(TURN, Reply(200, {}, b'{"code": 7}'), is_error=lambda code: code != 0)


@pytest.fixture
def kept() -> Iterator[None]:
    with registry.preserved():
        yield


def _entry_points(monkeypatch: pytest.MonkeyPatch, *points: EntryPoint) -> None:
    monkeypatch.setattr(importlib.metadata, "entry_points",  # the registry imports it when it looks
                        lambda group: [p for p in points if p.group == group])


def test_a_plugin_shadowed_by_a_folder_is_not_reported_loaded(
        kept: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "shadowed_venue_plugin").mkdir()  # a folder, no __init__: a namespace package
    monkeypatch.syspath_prepend(str(tmp_path))
    _entry_points(monkeypatch, EntryPoint("shadowed", "shadowed_venue_plugin", "tradeflood.plugins"))
    with caplog.at_level(logging.WARNING, "tradeflood"):
        assert registry.load_plugins() == []
    assert "registered no binding" in caplog.text and "shadows the installed package" in caplog.text
    assert str(tmp_path / "shadowed_venue_plugin") in caplog.text


def test_a_plugin_that_registers_is_reported(kept: None, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ticking_venue_plugin.py").write_text(
        "from tradeflood import Binding, Connector\n"
        "from tradeflood.models import Ticker\n"
        "class Ticking(Connector, name='ticking'):\n    urls = {'rest': 'https://api.example.com'}\n"
        "class TickingTicker(Binding, model=Ticker, connector=Ticking):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ticking_venue_plugin", raising=False)
    _entry_points(monkeypatch, EntryPoint("ticking", "ticking_venue_plugin", "tradeflood.plugins"))
    assert registry.load_plugins() == ["ticking"]
    assert registry.lookup(Ticker, "ticking").__name__ == "TickingTicker"


class WireOnly(Connector, name="wireonly"):
    urls = {"rest": "https://api.example.com", "ws": "wss://ws.example.com"}

    class Protocol(StreamProtocol):
        def subscribe(self, topics: Sequence[Topic], request_id: int) -> str:
            return "sub"

        def unsubscribe(self, topics: Sequence[Topic], request_id: int) -> str:
            return "unsub"

        def decode(self, raw: str | bytes) -> Frame:
            return Frame("ignore")

    streams = {"ws": Protocol()}


def _stream_only_venue() -> type[StreamBinding]:
    class WireTrades(StreamBinding, model=Trade, connector=WireOnly):
        def topic(self, query: Any, instrument: Instrument) -> Topic:
            return Topic("wireonly", "ws", "trades")

    return WireTrades


def test_venues_lists_stream_only_models_and_the_cli_names_them(
        kept: None, capsys: pytest.CaptureFixture[str]) -> None:
    _stream_only_venue()
    assert registry.venues()["wireonly"] == ["Trade"]
    assert main(["venues"]) == 0
    out = capsys.readouterr().out
    assert "wireonly:\n  stream: Trade\n" in out
    assert main(["fetch", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "Venue: " + ", ".join(registry.venues()) in help_text and "wireonly" in help_text


async def test_a_stream_without_an_instrument_binding_says_what_is_missing(kept: None) -> None:
    _stream_only_venue()
    async with Session(store=False) as s:
        stream = s.stream(Trade, exchange="wireonly", symbol="BTC/USD")
        with pytest.raises(QueryError, match="no Instrument binding serves wireonly: define one"):
            await stream.get()
        await stream.close()
