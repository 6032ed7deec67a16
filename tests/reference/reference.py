"""Locating the ccxt reference recordings shared beside the repository (../shared/reference)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def load_recordings(venue: str) -> dict[str, Any]:
    """The recorded responses of ``venue``, or skip the calling module with the reason.

    Looks in $TRADEFLOOD_REFERENCE_DIR, then in ../shared/reference/ccxt-static beside
    the repository; a fresh clone without that folder still passes its tests.
    """
    candidates = []
    root = os.environ.get("TRADEFLOOD_REFERENCE_DIR")
    if root:
        candidates += [Path(root) / "ccxt-static" / f"{venue}.json", Path(root) / f"{venue}.json"]
    candidates.append(Path(__file__).resolve().parents[2].parent
                      / "shared" / "reference" / "ccxt-static" / f"{venue}.json")
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        pytest.skip(f"ccxt reference recordings for {venue} not found (set TRADEFLOOD_REFERENCE_DIR)",
                    allow_module_level=True)
    return json.loads(found.read_text())  # type: ignore[no-any-return]
