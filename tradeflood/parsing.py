"""Checked conversions for a venue's parse functions: wire values into model fields, or a PayloadError.

A parse function reads a payload through a :class:`Reader` bound to the venue
and the endpoint (``"ws <topic>"`` for a stream); every check that fails
raises :class:`~tradeflood.errors.PayloadError` naming both, the field, the
offending value and the record it sat in. Each conversion states its policy
explicitly: whether JSON numbers are taken besides strings, whether a negative
number is allowed, which spellings mean "absent"::

    read = Reader("example", "/v1/trades", payload)
    for i, record in enumerate(read.records(payload)):
        row = read.at(record, f"trade {i}")
        price = row.decimal(row.field(record, "price"), "price")          # strings only, >= 0
        size = row.decimal(record.get("size"), "size", numbers=True)      # "1.5" or 1.5
        when = row.ms(record.get("ts"), "ts")                             # 1700000000000 or "1700..."
        trade = row.model(Trade, exchange="example", price=price, ...)    # pydantic errors -> PayloadError

Hot loops (thousands of candle rows) may check values inline and call
:meth:`Reader.fail` only on the slow path that names the bad field. A candle
page read as columns goes to :func:`candle_models`, which makes the models and
runs the value checks of :mod:`tradeflood.checks` on the columns at once.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation
from functools import cache
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from .errors import PayloadError

if TYPE_CHECKING:
    from tradeflood.models import Candle

__all__ = ["ABSENT", "CheckedDecimals", "Reader", "candle_models", "closed_flags", "exact_reader",
           "parse_price_candles", "string_columns"]

M = TypeVar("M")

#: The spellings of "no value" that the ``optional_*`` reads take by default.
ABSENT: frozenset[Any] = frozenset({None, ""})

_UNSET: Any = object()


class Reader:
    """Checked reads of one payload from one venue endpoint.

    ``body`` is what an error quotes (the record being read, by default the
    payload); ``where`` prefixes every error's detail (``"trade 3"``,
    ``"symbols[2]"``). :meth:`at` gives a reader for one record of the payload.
    """

    __slots__ = ("body", "endpoint", "venue", "where")

    def __init__(self, venue: str, endpoint: str, body: Any = None, where: str = "") -> None:
        self.venue = venue
        self.endpoint = endpoint
        self.body = body
        self.where = where

    def at(self, body: Any, where: str = "") -> Reader:
        """A reader of the same endpoint whose errors quote ``body`` and start with ``where``."""
        return Reader(self.venue, self.endpoint, body, where)

    def fail(self, detail: str, body: Any = _UNSET) -> PayloadError:
        """The error for ``detail`` (to raise), quoting ``body`` or this reader's body."""
        text = f"{self.where}: {detail}" if self.where else detail
        return PayloadError(self.venue, self.endpoint, text, self.body if body is _UNSET else body)

    # -- numbers ------------------------------------------------------------------------

    def decimal(self, value: Any, field: str, *, numbers: bool = False, negative: bool = False) -> Decimal:
        """A finite decimal from a string, exactly as spelled.

        ``numbers=True`` also takes JSON numbers (an int as is, a float through
        its shortest repr, which is the text the venue wrote); otherwise only
        strings are taken, since a float may already have lost digits.
        ``negative=True`` allows values below zero (price changes, funding rates).
        """
        kind = type(value)
        try:
            if kind is str or (numbers and kind is int):
                out = Decimal(value)
            elif numbers and kind is float:
                out = Decimal(repr(value))
            else:
                raise self.fail(f"{field} is {value!r}, not a decimal "
                                f"{'number' if numbers else 'string'}")
        except InvalidOperation:
            raise self.fail(f"{field} is {value!r}, not a decimal number") from None
        if not out.is_finite():
            raise self.fail(f"{field} is {value!r}, not a finite number")
        if not negative and out < 0:
            raise self.fail(f"{field} is {value!r}, not a non-negative number")
        return out

    def optional_decimal(self, value: Any, field: str, *, numbers: bool = False, negative: bool = False,
                         absent: Collection[Any] = ABSENT) -> Decimal | None:
        """None when ``value`` is one of the ``absent`` spellings, else :meth:`decimal`."""
        if _is_absent(value, absent):
            return None
        return self.decimal(value, field, numbers=numbers, negative=negative)

    def ms(self, value: Any, field: str, *, strings: bool = True) -> int:
        """A UTC millisecond timestamp: a non-negative JSON integer, or (``strings=True``) its digits
        as a string."""
        if type(value) is int and value >= 0:
            return value
        if strings and type(value) is str and value.isdigit():
            return int(value)
        raise self.fail(f"{field} is {value!r}, not a millisecond timestamp")

    def optional_ms(self, value: Any, field: str, *, strings: bool = True,
                    absent: Collection[Any] = ABSENT) -> int | None:
        """None when ``value`` is one of the ``absent`` spellings (some venues write ``"0"`` or
        ``-1`` for "never"), else :meth:`ms`."""
        if _is_absent(value, absent):
            return None
        return self.ms(value, field, strings=strings)

    def integer(self, value: Any, field: str, *, strings: bool = False) -> int:
        """A non-negative integer (sequence and update ids), or its digits when ``strings=True``."""
        if type(value) is int and value >= 0:
            return value
        if strings and type(value) is str and value.isdigit():
            return int(value)
        raise self.fail(f"{field} is {value!r}, not a non-negative integer")

    def step(self, places: Any, field: str) -> Decimal:
        """``10^-places`` from a count of decimal places (an int or its digits), 0 to 30."""
        if type(places) is str and places.isdigit():
            places = int(places)
        if type(places) is not int or not 0 <= places <= 30:
            raise self.fail(f"{field} is {places!r}, not a number of decimal places")
        return Decimal(1).scaleb(-places)

    # -- text, flags and shapes ---------------------------------------------------------

    def field(self, record: Any, key: str) -> Any:
        """``record[key]``, which must be present (any value, None included)."""
        try:
            return record[key]
        except (KeyError, TypeError, IndexError):
            raise self.fail(f"missing field {key!r}") from None

    def text(self, record: Mapping[str, Any], key: str) -> str:
        """``record[key]`` as a non-empty string."""
        value = record.get(key)
        if type(value) is not str or not value:
            raise self.fail(f"field {key!r} is {value!r}, expected a non-empty string")
        return value

    def flag(self, value: Any, field: str) -> bool:
        """A JSON boolean (``"true"`` is refused: it is not what the venue documents)."""
        if type(value) is not bool:
            raise self.fail(f"{field} is {value!r}, not a boolean")
        return value

    def records(self, payload: Any, what: str = "objects") -> list[dict[str, Any]]:
        """``payload`` as a list of JSON objects."""
        if type(payload) is not list or not all(type(r) is dict for r in payload):
            raise self.fail(f"expected a list of {what}", payload)
        return payload

    def first_record(self, payload: Any, what: str) -> dict[str, Any]:
        """The first of ``payload``'s JSON objects, for endpoints that answer one record in a
        list; an empty list fails as "no ``what`` record"."""
        records = self.records(payload)
        if not records:
            raise self.fail(f"no {what} record")
        return records[0]

    def record(self, payload: Any, what: str = "a JSON object") -> dict[str, Any]:
        """``payload`` as one JSON object."""
        if type(payload) is not dict:
            raise self.fail(f"expected {what}, got {type(payload).__name__}", payload)
        return payload

    def rows(self, payload: Any, what: str = "rows") -> list[Any]:
        """``payload`` as a JSON array (of rows, levels...)."""
        if type(payload) is not list:
            raise self.fail(f"expected a list of {what}, got {type(payload).__name__}", payload)
        return payload

    # -- models -------------------------------------------------------------------------

    def model(self, cls: type[M], **fields: Any) -> M:
        """``cls(**fields)``, validated; a validation error becomes a PayloadError naming the field."""
        try:
            return cls(**fields)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            detail = f"{where}: {first['msg']}" if where else first["msg"]
            raise self.fail(f"cannot build {cls.__name__}: {detail}") from None


class CheckedDecimals:
    """Decimal strings already read and checked, by their text: a stream's hot-path cache.

    A live trade stream repeats the same price and size texts over and over, and
    a dict lookup costs a fraction of building a :class:`~decimal.Decimal` and
    comparing it. :meth:`read` takes a string only, builds its Decimal, and
    keeps it when it is finite, at least zero (above zero with ``zero=False``)
    and below ``bound``; anything else gives None (the caller names the field).
    The value kept is the one ``Decimal(text)`` gives, digits and exponent
    alike, so a hit is exactly what a miss would build. At most ``size`` texts
    are kept; the cache starts afresh when full::

        prices = CheckedDecimals()
        price = prices.known.get(text) or prices.read(text)   # None: not a valid price
    """

    __slots__ = ("bound", "known", "size", "zero")

    def __init__(self, size: int = 4096, *, zero: bool = False, bound: Decimal = Decimal("1e30")) -> None:
        self.known: dict[str, Decimal] = {}
        self.size = size
        self.zero = zero
        self.bound = bound

    def read(self, text: Any) -> Decimal | None:
        """``text`` as a checked Decimal (kept for next time), or None when it is not one."""
        if type(text) is not str:
            return None
        try:
            value = Decimal(text)
            ok = (value >= 0 if self.zero else value > 0) and value < self.bound
        except ArithmeticError:  # not a number; NaN does not compare
            return None
        if not ok:
            return None
        known = self.known
        if len(known) >= self.size:
            known.clear()
        known[text] = value
        return value


def _is_absent(value: Any, absent: Collection[Any]) -> bool:
    try:
        return value in absent
    except TypeError:  # an unhashable value (a list, an object) is never an "absent" spelling
        return False


def parse_price_candles(read: Reader, payload: Any, model: type[Any], *, symbol: str, native_symbol: str,
                        interval: str, closed: Callable[[list[Any], int], bool],
                        numbers: bool = False) -> list[Any]:
    """Bars of ``model`` (a mark or index candle) from rows ``[open_time, open, high, low, close, ...]``,
    oldest first whatever order the venue sent.

    ``closed(row, open_ms)`` says whether a row's bar is final. Fields past the fifth are
    not read, so the venues' longer rows (volumes, a confirm flag) parse too.
    ``numbers`` also takes JSON numbers for prices.
    """
    out = []
    for i, row in enumerate(read.rows(payload, "candle rows")):
        r = read.at(row, f"row {i}")
        if type(row) is not list or len(row) < 5:
            raise r.fail("expected [open_time, open, high, low, close, ...]")
        open_ms = r.ms(row[0], "open_time")
        out.append(r.model(model, exchange=read.venue, symbol=symbol, native_symbol=native_symbol,
                           interval=interval, open_time=open_ms,
                           open=r.decimal(row[1], "open", numbers=numbers),
                           high=r.decimal(row[2], "high", numbers=numbers),
                           low=r.decimal(row[3], "low", numbers=numbers),
                           close=r.decimal(row[4], "close", numbers=numbers),
                           closed=closed(row, open_ms)))
    out.sort(key=lambda c: c.open_time)
    return out


def string_columns(rows: Any, *, newest_first: bool = False) -> list[tuple[str, ...]]:
    """A page of rows, each an array of strings, all of one length, as its columns (oldest
    first with ``newest_first``); a ValueError or TypeError for anything else (for the
    caller's row-by-row slow path to name). No value may be a spelling of NaN or Infinity:
    one join refuses anything but strings (JSON numbers would lose exactness), and every
    spelling Decimal takes for those holds an "n" or "N"."""
    if type(rows) is not list or not rows or set(map(type, rows)) != {list}:
        raise ValueError("not a list of rows")
    cols = list(zip(*(rows[::-1] if newest_first else rows), strict=True))  # one length, or ValueError
    joined = "".join(map("".join, cols))
    if "n" in joined or "N" in joined:
        raise ValueError("NaN or Infinity")
    return cols


def closed_flags(times: Sequence[int], interval: str, received_ms: int) -> list[bool]:
    """Whether each bar opened at ``times`` has closed: its end is at or before ``received_ms``."""
    if interval == "1M":
        from .intervals import interval_end

        return [interval_end(t, interval) <= received_ms for t in times]
    from .intervals import interval_ms

    # A fixed-length bar has closed when it opened at or before this instant.
    return list(map((received_ms - interval_ms(interval)).__ge__, times))


def candle_models(*, exchange: str, symbol: str, native_symbol: str, interval: str, times: Sequence[int],
                  values: Sequence[Sequence[str]], closed: Sequence[bool],
                  sort: bool = False) -> list[Candle]:
    """Candle models from a page a venue's parse has read as columns, checked as they are made.

    ``times`` are the open times (integer ms), ``values`` the six string columns
    open, high, low, close, volume and quote volume as the venue wrote them, and
    ``closed`` one flag a row, all in the same order. The caller has refused what
    is not a finite decimal string (JSON numbers, ``NaN``, ``Infinity``); a value
    not read raises ``InvalidOperation``, for the caller's slow path (which reads
    the row with ``Decimal``) to name or take: a few spellings ``Decimal`` takes,
    with whitespace or ``_``, are left to it.

    Each column becomes exact Decimals in one pass (an open written as the
    previous row's close, as venues send them, shares that close's Decimal; a page
    repeating its texts reads each once, :func:`exact_reader`), the
    candle rules run over the columns (:func:`tradeflood.checks.candle_columns_ok`)
    and the models are made without re-validation. Every row passing, the result
    is a :class:`~tradeflood.checks.CheckedCandles` that the fetch's checks take as
    it is; otherwise a plain list, which they check row by row and report. With
    ``sort`` a page out of order is sorted by open time.
    """
    from .checks import CheckedCandles, candle_columns_ok

    opens_s, highs_s, lows_s, closes_s, volumes_s, quotes_s = values
    shared = len(opens_s) > 1 and opens_s[1:] == closes_s[:-1]
    price = exact_reader((highs_s, lows_s, closes_s) if shared else (opens_s, highs_s, lows_s, closes_s))
    closes = list(map(price, closes_s))
    opens = [_EXACT.create_decimal(opens_s[0]), *closes[:-1]] if shared else list(map(price, opens_s))
    highs, lows = list(map(price, highs_s)), list(map(price, lows_s))
    size = exact_reader((volumes_s, quotes_s))
    volumes, quotes = list(map(size, volumes_s)), list(map(size, quotes_s))
    # Each row's fields are a copy of one template (a copy clones the key table at once) with
    # the row's eight values stored in: fewer steps a row than a twelve-key dict display.
    copy = {"exchange": exchange, "symbol": symbol, "native_symbol": native_symbol, "interval": interval,
            "open_time": 0, "open": None, "high": None, "low": None, "close": None, "volume": None,
            "quote_volume": None, "closed": False}.copy
    dicts: list[dict[str, Any]] = []
    append = dicts.append
    for t, o, h, lo, c, v, q, done in zip(times, opens, highs, lows, closes, volumes, quotes, closed,
                                          strict=True):
        row = copy()
        row["open_time"] = t
        row["open"] = o
        row["high"] = h
        row["low"] = lo
        row["close"] = c
        row["volume"] = v
        row["quote_volume"] = q
        row["closed"] = done
        append(row)
    models = _candle_batch()(dicts)
    # A value written without a "-" is not negative: then only zero lows are left to find.
    unsigned = not any("-" in "".join(column) for column in (lows_s, volumes_s, quotes_s))
    if sort and any(map(operator.ge, times, islice(times, 1, None))):
        models.sort(key=_open_time)
    if candle_columns_ok(times, opens, highs, lows, closes, volumes, quotes, interval, unsigned=unsigned):
        return CheckedCandles(models, interval)
    return models


def exact_reader(columns: Sequence[Sequence[str]]) -> Callable[[str], Decimal]:
    """What reads the decimal strings of a page's ``columns``: a function giving, for each of
    their texts, exactly the Decimal ``Decimal(text)`` gives, digits and exponent alike.

    A page of a market whose tick is coarse for its price writes the same few
    texts over and over (a quiet bar's high is its open); when a sample of the
    columns' first rows repeats that much, every distinct text is read once, up
    front, and the function looks it up (a text not in ``columns`` raises
    ``KeyError`` then). Otherwise it is Decimal's own reading, which raises
    ``InvalidOperation`` for a text that is not a decimal, as the memo does while
    it is built::

        read = exact_reader((highs, lows, closes))
        highs, lows, closes = list(map(read, highs)), list(map(read, lows)), list(map(read, closes))
    """
    read: Callable[[str], Decimal] = _EXACT.create_decimal
    if columns and len(columns[0]) >= _SAMPLE_ROWS:
        heads = [column[:_SAMPLE_ROWS] for column in columns]
        if len(set(chain.from_iterable(heads))) * _REPEATS <= sum(map(len, heads)):
            texts = set(chain.from_iterable(columns))
            read = dict(zip(texts, map(read, texts), strict=True)).__getitem__
    return read


#: :func:`exact_reader` samples the first rows of each column (and reads shorter pages
#: straight, where sharing saves next to nothing) ...
_SAMPLE_ROWS = 32
#: ... and shares Decimals when the sample holds at most one distinct text in this many: below
#: that, hashing every text and looking each up costs more than building its Decimal.
_REPEATS = 2


def _open_time(candle: Candle) -> int:
    return candle.open_time


#: Decimal(text) as a context method (a little faster): no rounding, no exponent bound, so the
#: same value; it refuses the spellings Decimal takes but this does not (whitespace, "_"), and
#: the caller's slow path reads those.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


@cache
def _candle_batch() -> Callable[[Sequence[dict[str, Any]]], list[Candle]]:
    from tradeflood.models import Candle, trusted_batch

    build: Callable[[Sequence[dict[str, Any]]], list[Candle]] = trusted_batch(Candle)
    return build
