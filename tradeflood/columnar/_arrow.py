"""The optional column libraries, imported when first needed, with the pip command when missing."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Literal

__all__ = ["Decimals", "check_decimals", "require"]

#: How Decimal fields become columns: ``"exact"`` (decimal128/decimal256) or ``"float"`` (float64).
Decimals = Literal["exact", "float"]

_PIP = {"pyarrow": "pyarrow", "pyarrow.compute": "pyarrow", "polars": "polars", "pandas": "pandas"}


@cache
def require(module: str) -> ModuleType:
    """Import an optional dependency, or raise an ImportError that says how to install it.

    >>> pa = require("pyarrow")  # doctest: +SKIP
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        package = _PIP.get(module, module.split(".")[0])
        raise ImportError(
            f"TradeFlood's columnar results need {package}, which is not installed: "
            f"pip install {package}"
        ) from err


def check_decimals(decimals: str) -> None:
    """Refuse a ``decimals`` option other than "exact" and "float", naming both."""
    if decimals not in ("exact", "float"):
        raise ValueError(f"decimals={decimals!r}: choose 'exact' (Arrow decimals) or 'float' (float64)")
