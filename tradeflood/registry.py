"""Which binding serves which (model, venue): registration by subclassing, and plugins.

Defining a subclass of :class:`~tradeflood.binding.Binding` with a model and a
connector registers it. A subclass of a registered binding replaces it for the
same (model, venue): the most derived wins, so a user changes built-in
behaviour without editing it. Third-party packages register by naming a module
in the ``tradeflood.plugins`` entry-point group; it is imported on first use.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import BindingConflictError, ModelNotServedError, UnknownExchangeError, UnknownModelError

# import cycle: types only: bindings register themselves here when they are subclassed
if TYPE_CHECKING:
    from tradeflood.models import Model

    from .binding import Binding
    from .query import Query
    from .streams._binding import StreamBinding

__all__ = [
    "bindings_for",
    "declare",
    "load_plugins",
    "lookup",
    "lookup_stream",
    "preserved",
    "register",
    "register_stream",
    "resolve",
    "stream_bindings_for",
    "venues",
]

log = logging.getLogger("tradeflood")
_BINDINGS: dict[tuple[type[Model], str], type[Binding]] = {}
# Live (stream) bindings are a separate role: a venue may stream a model it
# also fetches, and replacing one must not disturb the other.
_STREAM_BINDINGS: dict[tuple[type[Model], str], type[StreamBinding]] = {}
_loaded = False
_loading = False
_load_lock = threading.RLock()
_plugins_loaded: set[str] = set()


def declare(cls: type[Any], model: type[Model] | None, connector: type[Any] | None,
            record: Callable[[type[Any]], None]) -> None:
    """What subclassing a binding base does: note ``model``/``connector`` given as class
    keywords, and register the class once both are known (``record``: a role's register)."""
    if model is not None:
        cls.model = model
    if connector is not None:
        cls.connector = connector
    if getattr(cls, "model", None) is not None and getattr(cls, "connector", None) is not None:
        record(cls)


def register(cls: type[Binding]) -> None:
    """Record ``cls`` as the binding of its (model, venue), unless a subclass already is."""
    _register(_BINDINGS, cls)


def register_stream(cls: type[Any]) -> None:
    """Record ``cls`` as the stream binding of its (model, venue), unless a subclass already is."""
    _register(_STREAM_BINDINGS, cls)


def _register(table: dict[tuple[type[Model], str], type[Any]], cls: type[Any]) -> None:
    key = (cls.model, cls.connector.name)
    current = table.get(key)
    if current is None or issubclass(cls, current) or _same_definition(cls, current):
        table[key] = cls
    elif issubclass(current, cls):
        return  # a more derived binding is already registered
    else:
        raise BindingConflictError(
            f"{cls.__module__}.{cls.__qualname__} and {current.__module__}.{current.__qualname__} "
            f"both bind {cls.model.__name__} on {cls.connector.name}; to change the built-in one, "
            f"subclass {current.__qualname__} instead"
        )


def _same_definition(a: type, b: type) -> bool:
    # A module imported twice (reloads, test collection) defines the same class anew.
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def _load() -> None:
    global _loaded, _loading
    if _loaded:
        return
    with _load_lock:  # another thread asking meanwhile waits for the whole registry
        if _loaded or _loading:  # done, or asked again by the imports below
            return
        _loading = True
        try:
            importlib.import_module("tradeflood.bindings")
            load_plugins()
        finally:
            _loaded = True


def load_plugins() -> list[str]:
    """Import every module named in the ``tradeflood.plugins`` entry-point group, once each.

    Runs by itself on the first lookup; call it again after installing a plugin
    into a running process. Returns the names of the plugins loaded by this call:
    those whose import registered a binding or a stream binding. A plugin that
    fails to import, or imports but registers nothing (as when a folder of the
    same name in the working directory shadows the installed package), is
    logged and skipped, never fatal.
    """
    loaded = []
    from importlib.metadata import entry_points  # costs 20 ms: only when plugins are looked up

    for ep in entry_points(group="tradeflood.plugins"):
        if ep.value in _plugins_loaded:
            continue
        _plugins_loaded.add(ep.value)
        before = (dict(_BINDINGS), dict(_STREAM_BINDINGS))
        try:
            module = ep.load()
        except Exception:
            log.exception("tradeflood plugin %r (%s) failed to load", ep.name, ep.value)
            continue
        if (dict(_BINDINGS), dict(_STREAM_BINDINGS)) != before:
            loaded.append(ep.name)
            continue
        shadow = ""
        if getattr(module, "__file__", None) is None and getattr(module, "__path__", None):
            shadow = (f": {ep.value!r} imported as the folder {next(iter(module.__path__))}, which "
                      "shadows the installed package (run from another directory or rename the folder)")
        log.warning("tradeflood plugin %r (%s) registered no binding%s", ep.name, ep.value, shadow)
    return loaded


def lookup(model: object, exchange: object) -> type[Binding]:
    """The binding for (model, exchange), or a :class:`QueryError` naming the choices."""
    _load()
    models = {m for m, _ in _BINDINGS}
    if model not in models:
        raise UnknownModelError(model, {m.__name__ for m in models})
    venues_for = {v for m, v in _BINDINGS if m is model}
    if not isinstance(exchange, str) or exchange.lower() not in venues_for:
        _unknown(model, exchange, venues_for, "binding")
    return _BINDINGS[(model, exchange.lower())]


def lookup_stream(model: object, exchange: object) -> type[StreamBinding]:
    """The stream binding for (model, exchange), or a :class:`QueryError` naming the choices."""
    _load()
    models = {m for m, _ in _STREAM_BINDINGS}
    if model not in models:
        raise UnknownModelError(model, {m.__name__ for m in models}, what="streams")
    venues_for = {v for m, v in _STREAM_BINDINGS if m is model}
    if not isinstance(exchange, str) or exchange.lower() not in venues_for:
        _unknown(model, exchange, venues_for, "streams")
    return _STREAM_BINDINGS[(model, exchange.lower())]


def resolve(query: Query, now_ms: int | None = None) -> Query:
    """Check ``query`` against the registered binding that answers it (the stream binding for
    a live query) and resolve its relative times against ``now_ms``; see :meth:`Query.resolve`."""
    find = lookup_stream if query.live else lookup
    binding = find(query.model, query.exchange)
    return query.resolve(binding, now_ms)


def _unknown(model: object, exchange: object, venues_for: set[str], what: str) -> NoReturn:
    """Raise the error for a (model, exchange) without a binding: a venue that exists but
    lacks the model names the venues that have it; an unknown venue names the choices."""
    known = {v for _, v in [*_BINDINGS, *_STREAM_BINDINGS]}
    if isinstance(exchange, str) and exchange.lower() in known:
        raise ModelNotServedError(model, exchange.lower(), venues_for, what)
    raise UnknownExchangeError(str(exchange), venues_for, getattr(model, "__name__", None))


def stream_bindings_for(
    model: type[Model] | None = None,
) -> dict[tuple[type[Model], str], type[StreamBinding]]:
    """Every registered stream binding, optionally for one model."""
    _load()
    return {k: v for k, v in _STREAM_BINDINGS.items() if model is None or k[0] is model}


def bindings_for(model: type[Model] | None = None) -> dict[tuple[type[Model], str], type[Binding]]:
    """Every registered binding, optionally for one model."""
    _load()
    return {k: v for k, v in _BINDINGS.items() if model is None or k[0] is model}


def connector_class(venue: str) -> type[Any] | None:
    """The connector class the registered bindings of ``venue`` use (the newest), or None."""
    _load()
    found = [b.connector for (_, v), b in [*_BINDINGS.items(), *_STREAM_BINDINGS.items()] if v == venue]
    return found[-1] if found else None


def venues() -> dict[str, list[str]]:
    """Venue name -> names of the models it serves, fetched or streamed."""
    _load()
    out: dict[str, set[str]] = {}
    for table in (_BINDINGS, _STREAM_BINDINGS):
        for model, venue in table:
            out.setdefault(venue, set()).add(model.__name__)
    return {v: sorted(ms) for v, ms in sorted(out.items())}


@contextmanager
def preserved() -> Iterator[None]:
    """The registry as it is now, put back on exit: for tests that define throw-away bindings."""
    _load()
    saved, saved_streams = dict(_BINDINGS), dict(_STREAM_BINDINGS)
    try:
        yield
    finally:
        _BINDINGS.clear()
        _BINDINGS.update(saved)
        _STREAM_BINDINGS.clear()
        _STREAM_BINDINGS.update(saved_streams)
