"""SIGKILL a backfill running in a subprocess at chosen points of its progress, for the
checkpoint tests: what the store held before each kill must survive it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tradeflood.store import CandleStore

__all__ = ["kill_at_shares", "stored_rows", "subprocess_env", "wait_for"]


def subprocess_env() -> dict[str, str]:
    """The environment of a child Python that imports this checkout's tradeflood."""
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


def stored_rows(path: Path) -> int:
    """How many rows (candles, trades) the store at ``path`` holds; 0 while it is being created."""
    if not path.exists():
        return 0
    try:
        with CandleStore(path) as store:
            return sum(s.candles for s in store.info().series)
    except Exception:  # the file being created by the backfill this very moment
        return 0


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[bytes], what: str,
             within: float = 120) -> None:
    """Until ``condition`` holds; an AssertionError if ``proc`` ends first or ``within`` s pass."""
    deadline = time.monotonic() + within
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the backfill ended (code {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {within} s")
        time.sleep(0.01)


def kill_at_shares(args: Sequence[str], store: Path, total: int, shares: Sequence[float],
                   what: str) -> int:
    """Run the backfill ``args`` once per share, SIGKILL it once that share of ``total`` rows is
    stored, and check that each kill kept what was stored before it; the rows kept at the end."""
    kept = 0
    for share in shares:
        target = max(kept + 1, int(total * share))
        proc = subprocess.Popen(args, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for(lambda target=target: stored_rows(store) >= target, proc,  # type: ignore[misc]
                     f"{target} {what} stored")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        now = stored_rows(store)
        assert now >= target > kept  # what was stored before the kill survives it
        kept = now
    return kept
