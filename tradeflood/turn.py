"""Kept for imports written before the module was renamed: use :mod:`tradeflood.turns`.

(``tradeflood.turn`` is also the decorator exported by the package, which hid
this module's name; ``from tradeflood.turn import ...`` still works.)
"""

from __future__ import annotations

from .turns import Derived, Named, Param, Params, Turn, TurnKey, turn

__all__ = ["Derived", "Named", "Param", "Params", "Turn", "TurnKey", "turn"]
