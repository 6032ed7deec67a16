"""Test-wide settings: the default on-disk candle store stays off unless a test opens one."""

from __future__ import annotations

import os

os.environ["TRADEFLOOD_STORE"] = "off"
