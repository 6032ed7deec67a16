"""Value checks: what every parsed reply and stream frame must satisfy before anyone sees it.

A venue's parse (built on :mod:`tradeflood.parsing`) checks that each value is
well formed; the rules here check that the values make sense together, the
same for every venue, after the parse and before a row reaches a caller, the
store or a stream consumer:

- candles: open, high, low and close positive, ``low <= min(open, close) <=
  max(open, close) <= high`` (a bar without trades may have O=H=L=C), volumes
  not negative (zero is a quiet bar), the open time on the interval's grid;
- trades: price and amount positive, each id once in a reply;
- order books: prices and sizes positive, each price level once a side, best
  bid below best ask; levels sent out of order are sorted best first, not refused;
- tickers: no negative price or volume, ``low <= high``;
- mark and index bars: the candle rules without volumes;
- funding rates fetched: a finite rate below 1 (100%) in size, mark and index
  prices positive; open interest fetched: size and value not negative;
- live funding rates and open interest: no negative mark or index price, open
  interest and its value not negative.

A violation is a :class:`~tradeflood.errors.PayloadError` naming the venue,
the endpoint, the row and the field. With ``invalid="drop"`` (per Session or
per query) the invalid rows of a list (candles, trades) are dropped instead and
counted (:func:`checked` returns how many). :func:`checked` still raises for a
single book or ticker, which has no row to drop; a fetch with ``invalid="drop"``
then gives no result for that query (None, the reason in ``Results.absent`` of
:mod:`tradeflood.pipeline`) instead of failing::

    rows, dropped = checked(candles, venue="example", endpoint="/candles", interval="1m")
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from itertools import pairwise, repeat
from typing import TYPE_CHECKING, Any, Literal

from .errors import PayloadError, QueryError
from .intervals import bar_open, interval_ms

if TYPE_CHECKING:
    import pyarrow

__all__ = ["FUNDING_RATE_BOUND", "INVALID_POLICIES", "CheckedCandles", "Invalid", "Violation",
           "best_first", "candle_columns_ok", "check_invalid", "checked", "frame_rule", "frame_violations",
           "funding_violations", "open_interest_violations", "price_bar_violations", "snapshot_violations",
           "violations"]

log = logging.getLogger("tradeflood")

Invalid = Literal["raise", "drop"]
#: What to do with a row that fails a check: refuse the reply, or drop the row and count it.
INVALID_POLICIES: tuple[str, ...] = ("raise", "drop")

_ZERO = Decimal(0)
_WEEK_OFFSET = 4 * 86_400_000  # weekly bars open on Mondays; 1970-01-01 was a Thursday


@dataclass(frozen=True, slots=True)
class Violation:
    """One row that breaks a rule: its position in the reply, the field and what is wrong."""

    row: int
    field: str
    detail: str
    #: The row's own id, where it has one (a trade's): a parse may have reordered the rows.
    ident: str = ""

    def error(self, venue: str, endpoint: str, what: str, body: Any = None,
              names: Mapping[str, str] | None = None) -> PayloadError:
        """The :class:`PayloadError` that reports this violation; ``names`` maps a model field
        to the venue's name for it, quoted beside it (``price (px)``)."""
        field = self.field
        wire = names.get(field) if names else None
        if wire and wire != field:
            field = f"{field} ({wire})"
        ident = f" (id {self.ident})" if self.ident else ""
        return PayloadError(venue, endpoint, f"{what} {self.row}: {field} {self.detail}{ident}", body)


def check_invalid(value: object) -> Invalid:
    """``value`` as an invalid-row policy, or a :class:`QueryError` naming the choices."""
    if value not in INVALID_POLICIES:
        raise QueryError(f"invalid={value!r}: give one of {', '.join(map(repr, INVALID_POLICIES))}")
    return value  # type: ignore[return-value]


# -- the rules, one model at a time ---------------------------------------------------------


def _candle(i: int, c: Any, step: int, offset: int, interval: str | None) -> Violation | None:
    o, h, lo, cl = c.open, c.high, c.low, c.close
    for name, value in (("open", o), ("high", h), ("low", lo), ("close", cl)):
        if not value > _ZERO:
            return Violation(i, name, f"is {value}, not a positive price")
    for name, value in (("volume", c.volume), ("quote_volume", c.quote_volume)):
        if value is not None and value < _ZERO:
            return Violation(i, name, f"is {value}, a negative size")
    if not lo <= min(o, cl):
        return Violation(i, "low", f"{lo} is above min(open, close) {min(o, cl)}")
    if not max(o, cl) <= h:
        return Violation(i, "high", f"{h} is below max(open, close) {max(o, cl)}")
    if interval and not _on_grid(c.open_time, step, offset, interval):
        return Violation(i, "open_time", f"{c.open_time} is not on the {interval} grid")
    return None


def _on_grid(t: int, step: int, offset: int, interval: str) -> bool:
    if step:
        return (t - offset) % step == 0
    return bar_open(t, interval) == t  # calendar months


def _grid(interval: str | None) -> tuple[int, int]:
    """(step, offset) of an interval's grid; step 0 for calendar months (checked one by one)."""
    if not interval or interval == "1M":
        return 0, 0
    return interval_ms(interval), _WEEK_OFFSET if interval == "1w" else 0


def candle_violations(candles: Sequence[Any], interval: str | None) -> list[Violation]:
    """The rows of ``candles`` (models) that break a candle rule, in order."""
    step, offset = _grid(interval)
    zero = _ZERO
    out: list[Violation] = []
    for i, c in enumerate(candles):
        lo, o, h, cl = c.low, c.open, c.high, c.close
        # The usual case in one expression; the slow path names the field.
        if (zero < lo <= o <= h and lo <= cl <= h and c.volume >= zero
                and (step and (c.open_time - offset) % step == 0)
                and (c.quote_volume is None or c.quote_volume >= zero)):
            continue
        found = _candle(i, c, step, offset, interval)
        if found is not None:
            out.append(found)
    return out


_lt, _le, _ge, _mod, _sub = operator.lt, operator.le, operator.ge, int.__mod__, int.__sub__


def candle_columns_ok(times: Sequence[int], opens: Sequence[Decimal], highs: Sequence[Decimal],
                      lows: Sequence[Decimal], closes: Sequence[Decimal], volumes: Sequence[Decimal],
                      quote_volumes: Sequence[Decimal] | None, interval: str | None, *,
                      unsigned: bool = False) -> bool:
    """Whether every row of a page, given as columns (open times in ms, finite decimals), passes
    the candle rules of :func:`candle_violations`: the same rules, each run over a whole column
    in C (no model, no attribute read), for a parse to check a page while it builds it.

    True means no row breaks a rule; False only says some row does (:func:`candle_violations`
    names it). ``low > 0`` with ``low <= open, close <= high`` makes every price positive.
    ``unsigned`` says the caller knows no low or volume is negative (none was written with a
    ``-``): then a low must only not be zero.
    """
    n = len(times)
    zero = _ZERO
    try:
        if unsigned:
            if not all(lows):  # not negative, so positive unless zero
                return False
        elif not (all(map(_lt, repeat(zero, n), lows)) and all(map(_ge, volumes, repeat(zero, n)))
                  and (quote_volumes is None or all(map(_ge, quote_volumes, repeat(zero, n))))):
            return False
        if not (all(map(_le, lows, opens)) and all(map(_le, opens, highs))
                and all(map(_le, lows, closes)) and all(map(_le, closes, highs))):
            return False
    except InvalidOperation:  # a NaN (a parse refuses them first): the row checks name it
        return False
    if not interval or not n:
        return True
    step, offset = _grid(interval)
    if not step:
        return all(_on_grid(t, 0, 0, interval) for t in times)
    first = times[0]
    if (first - offset) % step:
        return False
    # A page without gaps (the usual one) is on the grid when its first bar is: one comparison
    # with the grid's own run of times costs a third of a remainder per row.
    if list(times) == list(range(first, first + n * step, step)):
        return True
    return not any(map(_mod, map(_sub, times, repeat(offset, n)), repeat(step, n)))


class CheckedCandles(list[Any]):
    """Candles a parse built and checked at once (:func:`candle_columns_ok` said every row
    passes the rules for ``interval``): :func:`violations`, and so :func:`checked`, takes them
    as they are for that interval instead of checking each model again. A parse returns a
    plain list when a row failed, so the row checks find and name it."""

    __slots__ = ("interval",)

    def __init__(self, items: Iterable[Any] = (), interval: str | None = None) -> None:
        super().__init__(items)
        #: The interval whose grid the open times were checked against ("" when not checked).
        self.interval = interval or ""


def trade_violations(trades: Sequence[Any]) -> list[Violation]:
    """The trades that break a rule: a price or amount not positive, an id seen before in the reply."""
    zero = _ZERO
    if len(trades) == 1:  # a stream frame's usual content: no id can repeat
        t = trades[0]
        if t.price > zero and t.amount > zero:
            return []
    seen: set[str] = set()
    add = seen.add
    out: list[Violation] = []
    for i, t in enumerate(trades):
        ident = t.id
        if t.price > zero and t.amount > zero and ident not in seen:
            add(ident)
            continue
        if not t.price > zero:
            out.append(Violation(i, "price", f"is {t.price}, not a positive price", ident))
        elif not t.amount > zero:
            out.append(Violation(i, "amount", f"is {t.amount}, not a positive size", ident))
        else:
            out.append(Violation(i, "id", f"{ident!r} appears twice in the reply"))
    return out


def level_violations(bids: Sequence[Any], asks: Sequence[Any], *, snapshot: bool = True) -> list[Violation]:
    """What is wrong with a book's levels: a price not positive, a size not positive (zero is
    allowed in a delta, where it removes the level: ``snapshot=False``), and in a whole book a
    price listed twice on one side or a best bid not below the best ask. The order levels come
    in is not a fault: :func:`checked` hands a book back best first."""
    out: list[Violation] = []
    for side, levels in (("bids", bids), ("asks", asks)):
        seen: set[Decimal] = set()
        for i, (price, size) in enumerate(levels):
            if not price > _ZERO:
                out.append(Violation(i, f"{side} price", f"is {price}, not a positive price"))
            elif not (size > _ZERO if snapshot else size >= _ZERO):
                kind = "positive" if snapshot else "valid"
                out.append(Violation(i, f"{side} size", f"is {size}, not a {kind} size"))
            elif snapshot and price in seen:
                out.append(Violation(i, f"{side} price", f"{price} is listed twice"))
            seen.add(price)
    if snapshot and not out and bids and asks:
        bid, ask = max(p for p, _ in bids), min(p for p, _ in asks)
        if not bid < ask:
            out.append(Violation(0, "asks price",
                                 f"best ask {ask} is not above best bid {bid} (crossed book)"))
    return out


def best_first(book: Any) -> Any:
    """``book`` (an order book model that passed :func:`level_violations`) with each side best
    first: itself when it is so already, else a copy with its levels sorted by price."""
    bids, asks = book.bids, book.asks
    if (all(a[0] > b[0] for a, b in pairwise(bids))
            and all(a[0] < b[0] for a, b in pairwise(asks))):
        return book
    return book.model_copy(update={"bids": tuple(sorted(bids, key=_price, reverse=True)),
                                   "asks": tuple(sorted(asks, key=_price))})


def _price(level: Any) -> Decimal:
    return level[0]  # type: ignore[no-any-return]


def ticker_violations(ticker: Any) -> list[Violation]:
    """A ticker's negative prices or volumes, and a 24-hour low above its high."""
    out = []
    for name in ("last", "bid", "ask", "high", "low", "base_volume", "quote_volume"):
        value = getattr(ticker, name, None)
        if value is not None and value < _ZERO:
            kind = "size" if "volume" in name else "price"
            out.append(Violation(0, name, f"is {value}, a negative {kind}"))
    low, high = getattr(ticker, "low", None), getattr(ticker, "high", None)
    if not out and low is not None and high is not None and low > high:
        out.append(Violation(0, "low", f"{low} is above the high {high}"))
    return out


def derivative_violations(items: Sequence[Any]) -> list[Violation]:
    """Funding rates with a negative mark or index price, and open interest below zero, on a
    stream (the built-in parses refuse these already; a binding of one's own may not). A rate
    that is not finite never gets this far: the model refuses it."""
    out = []
    for i, item in enumerate(items):
        for name in ("size", "value", "mark_price", "index_price"):
            value = getattr(item, name, None)
            if value is not None and not value >= _ZERO:
                kind = "price" if "price" in name else "size"
                out.append(Violation(i, name, f"is {value}, a negative {kind}"))
    return out


def candle_table_violations(table: pyarrow.Table, interval: str | None) -> list[Violation] | None:
    """:func:`candle_violations` over a candle table's columns, vectorised; None when the columns
    are of a type the compute kernels cannot compare (the caller checks the models instead)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not table.num_rows:
        return []
    names = ("open", "high", "low", "close", "volume", "quote_volume")
    if not set(names) <= set(table.column_names):
        return None
    cols = {name: table.column(name) for name in names}
    if not all(pa.types.is_decimal(c.type) or pa.types.is_floating(c.type) for c in cols.values()):
        return None
    o, h, lo, cl = cols["open"], cols["high"], cols["low"], cols["close"]
    step, offset = _grid(interval)
    try:
        if _table_passes(cols, table.column("open_time"), step, offset, interval):
            return []
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        pass  # the comparisons below say which rows fail, or that they cannot tell
    try:
        # Comparisons only (min/max_element_wise over decimals is far slower): low > 0, low below
        # open and close, high above both.
        checks = [pc.greater(lo, 0), pc.less_equal(lo, o), pc.less_equal(lo, cl), pc.less_equal(o, h),
                  pc.less_equal(cl, h), pc.greater_equal(cols["volume"], 0),
                  pc.or_kleene(pc.is_null(cols["quote_volume"]), pc.greater_equal(cols["quote_volume"], 0))]
        if step:
            times = pc.subtract(table.column("open_time").cast(pa.int64()), offset)
            checks.append(pc.equal(pc.multiply(pc.divide(times, step), step), times))
        ok = checks[0]
        for more in checks[1:]:
            ok = pc.and_kleene(ok, more)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    bad = pc.invert(pc.fill_null(ok, False))
    if not pc.any(bad).as_py():
        if step or not interval:
            return []
        times_list = table.column("open_time").cast(pa.int64()).to_pylist()  # ms, not datetimes
        return [Violation(i, "open_time", f"{t} is not on the {interval} grid")
                for i, t in enumerate(times_list) if not _on_grid(t, 0, 0, interval)]
    from .columnar._candles import candle_models

    rows = pc.indices_nonzero(bad).to_pylist()
    models = candle_models(table.take(rows))
    out = [_candle(i, c, step, offset, interval) for i, c in zip(rows, models, strict=True)]
    return [v for v in out if v is not None]


def _table_passes(cols: dict[str, Any], open_time: Any, step: int, offset: int, interval: str | None) -> bool:
    """Whether every row of a candle table's decimal columns passes the rules, in a few kernel
    calls (on a page a call costs more than its work): the four ``<=`` of every row and
    ``low > 0`` as one comparison of columns laid end to end, the volumes' signs by their
    minimum, the grid by the first open time and the steps between bars. False when that
    cannot tell (nulls, mixed types, a gap between bars, calendar months): the row-by-row
    comparisons then decide."""
    import pyarrow as pa
    import pyarrow.compute as pc

    o, h, lo, cl, volume, quote = (cols[name] for name in
                                   ("open", "high", "low", "close", "volume", "quote_volume"))
    kind = lo.type
    if (not pa.types.is_decimal(kind) or any(c.type != kind for c in (o, h, cl))
            or any(c.null_count for c in (o, h, lo, cl, volume))):
        return False
    n = len(lo)
    # low > 0 is low >= the least positive value of its scale: one more run of the comparison.
    lesser = pa.chunked_array([_least(kind, n), *lo.chunks, *lo.chunks, *o.chunks, *cl.chunks], kind)
    greater = pa.chunked_array([*lo.chunks, *o.chunks, *cl.chunks, *h.chunks, *h.chunks], kind)
    if not (pc.all(pc.less_equal(lesser, greater)).as_py() and pc.min(volume).as_py() >= _ZERO):
        return False
    least_quote = pc.min(quote).as_py()  # None when every quote volume is absent
    if least_quote is not None and not least_quote >= _ZERO:
        return False
    if not interval:
        return True
    if not step:
        return False
    times = (open_time.chunk(0) if open_time.num_chunks == 1 else open_time.combine_chunks()).view(pa.int64())
    if (times[0].as_py() - offset) % step:
        return False
    if n == 1:
        return True
    gaps = pc.min_max(pc.pairwise_diff(times).slice(1))  # each bar one step after the last
    return bool(gaps["min"].as_py() == gaps["max"].as_py() == step)


def _least(kind: pyarrow.DataType, n: int) -> pyarrow.Array:
    """``n`` copies of the least positive value of a decimal type (one unit of its last place),
    built from a buffer (converting Python values would import pandas when installed); made
    each time, so a long series checked once leaves nothing behind."""
    import sys

    import pyarrow as pa

    unit = (1).to_bytes(kind.byte_width, sys.byteorder)  # two's complement, native order
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(unit * n)])


def violations(items: Any, interval: str | None = None) -> list[Violation]:
    """The rule violations of a parse's result (a list of models, a table-backed series, or one
    model), by the rows' model; models without rules here pass."""
    if not len(items):
        return []
    model = getattr(items, "row_model", None)  # a series says so without building a model
    kind = model.__name__ if model is not None else type(items[0]).__name__
    if kind == "Candle":
        if type(items) is CheckedCandles and items.interval and items.interval == interval:
            return []  # checked as they were parsed
        table = getattr(items, "table", None)
        if table is not None:
            found = candle_table_violations(table, interval)
            if found is not None:
                return found
        return candle_violations(items, interval)
    if kind == "Trade":
        return trade_violations(items)
    if kind == "OrderBook":
        return [v for book in items for v in level_violations(book.bids, book.asks)]
    if kind == "Ticker":
        return [v for t in items for v in ticker_violations(t)]
    series_rule = _SERIES_RULES.get(kind)
    if series_rule is not None:
        return series_rule(items, interval)
    return []


# -- derivatives' histories: mark and index bars, funding rates, open interest ---------------

#: The largest funding rate a venue could mean, per funding period: 100% would take a whole
#: position's value at one funding (venues cap theirs at a few percent).
FUNDING_RATE_BOUND = Decimal(1)


def _positive(value: Any) -> bool:
    return bool(value.is_finite() and value > _ZERO)  # NaN, infinities: no price (nor comparable)


def price_bar_violations(bars: Sequence[Any], interval: str | None) -> list[Violation]:
    """Mark and index bars (a price without volume): the candle rules without volumes, prices
    positive, ``low <= min(open, close) <= max(open, close) <= high``, the open on the grid."""
    out: list[Violation] = []
    grid = interval or (getattr(bars[0], "interval", None) if len(bars) else None)
    step, offset = _grid(grid)
    for i, c in enumerate(bars):
        o, h, lo, cl = c.open, c.high, c.low, c.close
        bad = next((name for name, value in (("open", o), ("high", h), ("low", lo), ("close", cl))
                    if not _positive(value)), None)
        if bad is not None:
            out.append(Violation(i, bad, f"is {getattr(c, bad)}, not a positive price"))
        elif not lo <= min(o, cl):
            out.append(Violation(i, "low", f"{lo} is above min(open, close) {min(o, cl)}"))
        elif not max(o, cl) <= h:
            out.append(Violation(i, "high", f"{h} is below max(open, close) {max(o, cl)}"))
        elif grid and not _on_grid(c.open_time, step, offset, grid):
            out.append(Violation(i, "open_time", f"{c.open_time} is not on the {grid} grid"))
    return out


def funding_violations(rates: Sequence[Any], interval: str | None = None) -> list[Violation]:
    """Funding rates: the rate (and the predicted next one) a finite number below
    :data:`FUNDING_RATE_BOUND` in size (it may be negative or zero); mark and index prices, when
    given, positive; a funding interval, when given, positive."""
    out: list[Violation] = []
    for i, f in enumerate(rates):
        for name in ("rate", "next_rate"):
            value = getattr(f, name, None)
            if value is not None and not (value.is_finite() and abs(value) < FUNDING_RATE_BOUND):
                out.append(Violation(i, name, f"is {value}, not a funding rate (its size must be "
                                              f"below {FUNDING_RATE_BOUND})"))
                break
        else:
            for name in ("mark_price", "index_price"):
                value = getattr(f, name, None)
                if value is not None and not _positive(value):
                    out.append(Violation(i, name, f"is {value}, not a positive price"))
                    break
            else:
                step = getattr(f, "interval_ms", None)
                if step is not None and not step > 0:
                    out.append(Violation(i, "interval_ms", f"is {step}, not a positive interval"))
    return out


def open_interest_violations(rows: Sequence[Any], interval: str | None = None) -> list[Violation]:
    """Open interest: the size and (when given) value finite and not negative (zero is a
    contract nobody holds yet)."""
    out: list[Violation] = []
    for i, oi in enumerate(rows):
        for name in ("size", "value"):
            value = getattr(oi, name, None)
            if value is not None and not (value.is_finite() and value >= _ZERO):
                out.append(Violation(i, name, f"is {value}, not a size (finite, not negative)"))
                break
    return out


_SERIES_RULES: dict[str, Callable[[Sequence[Any], str | None], list[Violation]]] = {
    "MarkCandle": price_bar_violations, "IndexCandle": price_bar_violations,
    "FundingRate": funding_violations, "OpenInterest": open_interest_violations}


def delta_violations(bids: Sequence[Any], asks: Sequence[Any]) -> list[Violation]:
    """A stream book message's impossible levels (strings as received, or decimals): a price not
    positive, a size below zero (zero removes the level). What makes a snapshot no book is
    :func:`snapshot_violations`'; whether a delta crosses the book is the book's own check, once
    the message is applied (the feed refuses it then)."""
    out = []
    for side, levels in (("bids", bids), ("asks", asks)):
        for i, (price, size) in enumerate(levels):
            # Signs only, so binary floats are exact enough; NaN fails both tests.
            if not float(price) > 0:
                out.append(Violation(i, f"{side} price", f"is {price}, not a positive price"))
            elif not float(size) >= 0:
                out.append(Violation(i, f"{side} size", f"is {size}, a negative size"))
    return out


def snapshot_violations(bids: Sequence[Any], asks: Sequence[Any]) -> list[Violation]:
    """A full book pushed on a stream that cannot be one: a price listed twice on a side, or a
    best bid not below the best ask. Its levels may come in any order (the local book sorts
    them by price). Exact (decimals): snapshots are rare, and two prices may differ past a
    float's digits. Signs are :func:`delta_violations`'s; a zero size, which a snapshot loads
    as no level, is no best price."""
    out: list[Violation] = []
    best: dict[str, Decimal] = {}
    for side, levels, pick in (("bids", bids, max), ("asks", asks, min)):
        seen: set[Decimal] = set()
        for i, (raw_price, raw_size) in enumerate(levels):
            price = Decimal(raw_price)
            if price in seen:
                out.append(Violation(i, f"{side} price", f"{price} is listed twice"))
                break
            seen.add(price)
            if Decimal(raw_size):
                best[side] = price if side not in best else pick(best[side], price)
    bid, ask = best.get("bids"), best.get("asks")
    if not out and bid is not None and ask is not None and not bid < ask:
        out.append(Violation(0, "asks price", f"best ask {ask} is not above best bid {bid} (crossed book)"))
    return out


def frame_violations(items: Sequence[Any], interval: str | None = None) -> list[Violation]:
    """The rule violations of one stream frame's parsed items (models, or book messages)."""
    if not items:
        return []
    return frame_rule(type(items[0]), interval)(items)


def frame_rule(kind: type, interval: str | None = None) -> Callable[[Sequence[Any]], list[Violation]]:
    """:func:`frame_violations` for frames whose items are of class ``kind``: a stream chooses it
    once and calls it on every frame (the busiest topics, trades, go straight to their rule)."""
    name = kind.__name__  # by name: the models and book messages are not imported here
    if name == "Trade":
        return trade_violations
    if name == "BookDelta":  # book messages
        return _book_message_violations
    if name in ("FundingRate", "OpenInterest"):  # live values: signs only (fetched rows: the series rules)
        return derivative_violations
    return partial(violations, interval=interval)


def _book_message_violations(items: Sequence[Any]) -> list[Violation]:
    try:
        out = []
        for d in items:
            out += delta_violations(d.bids, d.asks)
            if d.is_snapshot and not out:
                out += snapshot_violations(d.bids, d.asks)
        return out
    except (TypeError, ValueError, ArithmeticError):
        return [Violation(0, "level", "holds a value that is not a number")]


_ROW_NAMES = {"Candle": "candle", "Trade": "trade", "OrderBook": "book", "Ticker": "ticker",
              "MarkCandle": "mark candle", "IndexCandle": "index candle", "FundingRate": "funding rate",
              "OpenInterest": "open interest"}


def checked(items: Any, *, venue: str, endpoint: str, interval: str | None = None,
            invalid: Invalid = "raise", names: Mapping[str, str] | None = None) -> tuple[Any, int]:
    """``items`` (a parse's result) and the number of rows dropped, after the checks.

    An order book whose levels came out of order comes back best first (see
    :func:`best_first`). A violation raises a :class:`PayloadError` (the first one, naming venue,
    endpoint, row and field, with the venue's name for the field from ``names``) unless
    ``invalid="drop"`` and the items are rows of a list, which are then dropped, each logged
    as a warning; a table-backed series stays one.
    """
    found = violations(items, interval)
    if not found:
        if (getattr(items, "row_model", None) is None and len(items)
                and type(items[0]).__name__ == "OrderBook"):
            items = [best_first(book) for book in items]  # levels sent out of order, now best first
        return items, 0
    first = found[0]
    model = getattr(items, "row_model", None) or type(items[0])
    what = _ROW_NAMES.get(model.__name__, "row")
    single = what in ("book", "ticker")
    if invalid != "drop" or single:
        raise first.error(venue, endpoint, what, names=names)
    for v in found:
        log.warning("dropped an invalid row: %s", v.error(venue, endpoint, what, names=names))
    bad = {v.row for v in found}
    table = getattr(items, "table", None)
    if table is not None:
        import pyarrow as pa

        keep = pa.array([i not in bad for i in range(table.num_rows)])
        return type(items).from_table(table.filter(keep), items.gaps, model=items.row_model,
                                      time_field=items.row_time_field), len(bad)
    return [item for i, item in enumerate(items) if i not in bad], len(bad)
