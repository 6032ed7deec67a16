"""Bybit funding rates and open interest live, from the linear ``tickers.<symbol>`` topic.

Wire facts (Bybit v5 WebSocket, Public "Ticker", bybit-exchange.github.io/docs/v5/websocket/public/ticker:
"This topic utilises the snapshot field and delta field. If a response param is not
found in the message, then its value has not changed"): linear tickers come as one
``snapshot`` (every field) and then ``delta`` pushes holding only the fields that
changed, ``{"topic", "type", "ts", "cs", "data": {...}}``. Among them:
``fundingRate`` (the rate of the coming funding), ``nextFundingTime``,
``markPrice``, ``indexPrice``, ``openInterest`` (base coin) and
``openInterestValue`` (quote); live pushes also carry ``fundingIntervalHour``, which the
documented field list does not name (read when present). The same topic serves
:class:`~tradeflood.models.Ticker` (:mod:`.live`); each model reads it through its own
feed over one subscription.

The full record of each topic is rebuilt by laying every delta over the last
snapshot (:class:`TickerRecords`, one per session connector, shared by the three
bindings of the topic so that a model that starts reading a topic already carried
for another one finds its snapshot). A delta for which no snapshot was seen is
refused (a :class:`~tradeflood.errors.PayloadError`, so the stream's
``FrameRefused`` event): the record is never guessed. A stream that starts reading
a topic already carried (for the ticker, or for another symbol's consumer of the
same model) gets the current record at once, stamped with its last push's time
(:meth:`~tradeflood.streams.StreamBinding.current`), as if Bybit had sent it the
snapshot, instead of waiting for a delta that touches its fields. A push whose funding or
open-interest fields are impossible (a negative open interest, a rate that is not
a number) is refused before it touches the record, for every model of the topic. Bybit resends the snapshot
when the topic is subscribed again, which a reconnection does.

Which pushes become values: the snapshot, and every delta that carries one of the
model's fields (``FundingRate``: the rate, its time, the mark or index price;
``OpenInterest``: ``openInterest`` or ``openInterestValue``), plus the first push
a stream sees. Unchanged values are not de-duplicated beyond that: Bybit itself
only sends what changed.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, ClassVar

from tradeflood import Query
from tradeflood.connectors.bybit import Bybit
from tradeflood.models import FundingRate, Instrument, OpenInterest
from tradeflood.parsing import Reader
from tradeflood.perpetuals import FundingQueries, OpenInterestQueries
from tradeflood.streams import Frame, StreamBinding, Topic

from .funding import parse_ticker_funding, parse_ticker_open_interest
from .parse import EXCHANGE

__all__ = ["BybitFundingRateStream", "BybitOpenInterestStream", "TickerRecords", "ticker_records"]


class TickerRecords:
    """The full ``tickers`` record of each topic of one connection set: the last snapshot with
    every later delta laid over it."""

    def __init__(self) -> None:
        self._last: dict[str, dict[str, Any]] = {}
        self._stamps: dict[str, Any] = {}

    def apply(self, key: str, frame: Frame, read: Reader, received_ms: int | None = None,
              ) -> dict[str, Any] | None:
        """The topic's full record after ``frame``; None for a delta with no snapshot before it.

        Applying the same frame twice gives the same record (several models read one frame)."""
        record = read.record(frame.payload, "a ticker object")
        _check_derivatives(record, read)  # before it is laid over the record: a bad frame leaves no trace
        if frame.action == "delta":
            base = self._last.get(key)
            if base is None:
                return None
            record = {**base, **record}
        self._last[key] = record
        ts = (frame.extra or {}).get("ts")
        self._stamps[key] = ts if ts is not None else received_ms
        return record

    def current(self, key: str) -> tuple[dict[str, Any], Any] | None:
        """The topic's full record as of its last push, with that push's time; None before any."""
        record = self._last.get(key)
        return None if record is None else (record, self._stamps.get(key))


def _check_derivatives(record: dict[str, Any], read: Reader) -> None:
    """Refuse (PayloadError) a push whose funding or open-interest fields are impossible."""
    for key in ("openInterest", "openInterestValue", "markPrice", "indexPrice"):
        if key in record:
            read.decimal(record[key], key)
    if "fundingRate" in record:
        read.decimal(record["fundingRate"], "fundingRate", negative=True)
    if "nextFundingTime" in record:
        read.ms(record["nextFundingTime"], "nextFundingTime")


_RECORDS: weakref.WeakKeyDictionary[Any, TickerRecords] = weakref.WeakKeyDictionary()


def ticker_records(api: Any) -> TickerRecords:
    """The records shared by every ``tickers`` binding of one session's Bybit connector."""
    records = _RECORDS.get(api)
    if records is None:
        records = _RECORDS[api] = TickerRecords()
    return records


class _LinearTickerStream(StreamBinding):
    """A model read from the linear ``tickers.<symbol>`` topic."""

    expected_every = 10.0
    #: The record fields whose presence in a delta makes it an update of this model.
    fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, api: Any) -> None:
        super().__init__(api)
        self._seen: set[str] = set()

    def topic(self, query: Query, instrument: Instrument) -> Topic:
        return Topic(EXCHANGE, "ws.linear", f"tickers.{instrument.native_symbol}",
                     (("symbol", instrument.native_symbol),), expected_every=self.expected_every)

    def record(self, topic: Topic, frame: Frame, received_ms: int | None = None) -> dict[str, Any] | None:
        """The full record when ``frame`` is an update of this model, else None; raises a
        PayloadError for a delta with no snapshot before it."""
        read = Reader(EXCHANGE, f"ws {topic.name}", frame.payload)
        key = f"{topic.endpoint}:{topic.name}"
        ts = (frame.extra or {}).get("ts")
        record = ticker_records(self.api).apply(key, frame, read, ts if ts is not None else received_ms)
        if record is None:
            raise read.fail("a delta before any snapshot of the topic: nothing to lay it over "
                            "(refused; Bybit resends the snapshot on resubscribing)")
        first = key not in self._seen
        self._seen.add(key)
        if frame.action == "delta" and not first and self.fields.isdisjoint(frame.payload):
            return None
        return record

    @staticmethod
    def stamp(frame: Frame, received_ms: int) -> Any:
        ts = (frame.extra or {}).get("ts")
        return ts if ts is not None else received_ms

    def current(self, query: Query, topic: Topic) -> Sequence[Any]:
        key = f"{topic.endpoint}:{topic.name}"
        found = ticker_records(self.api).current(key)
        if found is None:
            return ()
        self._seen.add(key)  # the next delta is news only if it touches this model's fields
        record, stamp = found
        return [self.value(query, topic, record, stamp)]

    def parse(self, query: Query, topic: Topic, frame: Frame, received_ms: int) -> Sequence[Any]:
        record = self.record(topic, frame, received_ms)
        if record is None:
            return []
        return [self.value(query, topic, record, self.stamp(frame, received_ms))]

    def value(self, query: Query, topic: Topic, record: dict[str, Any], stamp: Any) -> Any:
        """This model's value in a full record stamped ``stamp`` (each model's stream defines it)."""
        raise NotImplementedError(f"{type(self).__name__} must define value()")


class BybitFundingRateStream(FundingQueries, _LinearTickerStream, model=FundingRate, connector=Bybit):
    """The coming funding rate of a USDT linear perpetual, live from ``tickers.<symbol>``."""

    fields = frozenset({"fundingRate", "nextFundingTime", "markPrice", "indexPrice", "fundingIntervalHour"})

    def value(self, query: Query, topic: Topic, record: dict[str, Any], stamp: Any) -> FundingRate:
        return parse_ticker_funding(record, symbol=query.symbol or "", timestamp=stamp,
                                    endpoint=f"ws {topic.name}")


class BybitOpenInterestStream(OpenInterestQueries, _LinearTickerStream, model=OpenInterest, connector=Bybit):
    """The open interest (base) and its value (quote) of a USDT linear perpetual, live."""

    fields = frozenset({"openInterest", "openInterestValue"})

    def value(self, query: Query, topic: Topic, record: dict[str, Any], stamp: Any) -> OpenInterest:
        return parse_ticker_open_interest(record, symbol=query.symbol or "", timestamp=stamp,
                                          endpoint=f"ws {topic.name}")
